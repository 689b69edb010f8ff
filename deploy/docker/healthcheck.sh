#!/bin/sh
# The image's HEALTHCHECK: GET /readyz on jobd's HTTP port over loopback (200 while the
# database answers and jobd is not stopping; 503 otherwise). The port comes from
# JOBD_HTTP_LISTEN (default 0.0.0.0:8080, as the entry point sets it). With TLS
# (JOBD_TLS_CERT_FILE) it speaks HTTPS without checking the certificate's name (the address is
# 127.0.0.1); with mutual TLS, JOBD_HEALTHCHECK_CERT_FILE and JOBD_HEALTHCHECK_KEY_FILE name a
# client certificate. With HTTP off (JOBD_HTTP_LISTEN empty) there is nothing to ask: turn the
# health check off for that container.
set -eu

listen=${JOBD_HTTP_LISTEN-0.0.0.0:8080}
if [ -z "$listen" ]; then
  echo "jobd-healthcheck: HTTP is off (JOBD_HTTP_LISTEN is empty); disable this health check" >&2
  exit 1
fi
port=${listen##*:}

if [ -n "${JOBD_TLS_CERT_FILE:-}" ]; then
  set -- --insecure
  if [ -n "${JOBD_HEALTHCHECK_CERT_FILE:-}" ]; then
    set -- "$@" --cert "$JOBD_HEALTHCHECK_CERT_FILE" --key "${JOBD_HEALTHCHECK_KEY_FILE:?}"
  fi
  exec curl --fail --silent --show-error --max-time 2 "$@" "https://127.0.0.1:$port/readyz"
fi
exec curl --fail --silent --show-error --max-time 2 "http://127.0.0.1:$port/readyz"
