#!/bin/sh
# The container's entry point. `serve` (the default; also when only flags are given) listens on
# every interface of the container, 0.0.0.0:50051 for gRPC and 0.0.0.0:8080 for HTTP, unless
# JOBD_LISTEN / JOBD_HTTP_LISTEN say otherwise. jobd still refuses plaintext there: set
# JOBD_TLS_CERT_FILE and JOBD_TLS_KEY_FILE, or JOBD_ALLOW_INSECURE_LISTEN=true.
# `migrate` and `keys ...` run jobd as given (they listen nowhere, so the defaults are not set:
# jobd checks the listen addresses for every command). Anything else runs as a program, e.g.
# `jobctl work ...` or `jobd-ensure-key ...`. (JOBD_BIN names another jobd: for tests.)
set -eu

jobd=${JOBD_BIN:-/usr/local/bin/jobd}

case "${1:-serve}" in
  serve | -*)
    JOBD_LISTEN=${JOBD_LISTEN-0.0.0.0:50051}
    JOBD_HTTP_LISTEN=${JOBD_HTTP_LISTEN-0.0.0.0:8080}
    export JOBD_LISTEN JOBD_HTTP_LISTEN
    exec "$jobd" "$@"
    ;;
  migrate | keys)
    exec "$jobd" "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
