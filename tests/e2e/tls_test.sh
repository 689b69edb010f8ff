#!/usr/bin/env bash
# End-to-end: TLS and mutual TLS with certificates made by openssl here, and jobctl's key
# discovery. A CA signs jobd's certificate (for 127.0.0.1) and one client certificate; a
# second CA signs a client certificate jobd must not accept.
#   1. TLS: jobctl with --tls_ca_file works; plaintext jobctl fails (UNAVAILABLE, exit 1);
#      a client trusting another CA fails.
#   2. Mutual TLS (--tls_client_ca_file): with the client certificate it works; without one,
#      or with one from the other CA, the handshake is refused.
#   3. The API key still applies over TLS: no key gives UNAUTHENTICATED.
#   4. jobctl finds .jobd/admin.key above its working directory when no key is given.
#
#   JOBD_TEST_DATABASE_URL=postgresql://... tests/e2e/tls_test.sh JOBD JOBCTL
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# == 2)) || fail "usage: $0 JOBD JOBCTL"
JOBD=$(realpath "$1")
JOBCTL=$(realpath "$2")
command -v openssl >/dev/null || fail "openssl is not installed"

# --- certificates ---------------------------------------------------------------------------
C=$E2E_TMP/certs
mkdir -p "$C"
make_ca() {  # NAME
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
    -keyout "$C/$1.key" -out "$C/$1.pem" 2>/dev/null
}
make_cert() {  # NAME CA EXTENSIONS
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$C/$1.key" -out "$C/$1.csr" \
    2>/dev/null
  printf '%s\n' "$3" >"$C/$1.ext"
  openssl x509 -req -in "$C/$1.csr" -CA "$C/$2.pem" -CAkey "$C/$2.key" -CAcreateserial \
    -days 2 -extfile "$C/$1.ext" -out "$C/$1.pem" 2>/dev/null
}
make_ca test-ca
make_ca other-ca
make_cert server test-ca "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
make_cert client test-ca "extendedKeyUsage=clientAuth"
make_cert stranger other-ca "extendedKeyUsage=clientAuth"

# --- 1. TLS ---------------------------------------------------------------------------------
e2e_start_jobd "$JOBD" --tls_cert_file "$C/server.pem" --tls_key_file "$C/server.key"
jctl() { "$JOBCTL" --address "$E2E_ADDRESS" --timeout 5s --output json "$@"; }

expect_ok "tls: create" jctl --tls_ca_file "$C/test-ca.pem" create --workspace tls --type t
expect_json "tls: create" job.state JOB_STATE_QUEUED
expect_json "tls: create" job.requested_by test-admin
expect_rc "tls: plaintext client" 1 jctl list --workspace tls
expect_contains "tls: plaintext client" "$ERR" "UNAVAILABLE"
expect_rc "tls: client trusting another CA" 1 jctl --tls_ca_file "$C/other-ca.pem" list --workspace tls
expect_contains "tls: client trusting another CA" "$ERR" "UNAVAILABLE"
JOBD_API_KEY='' expect_rc "tls: no key" 1 env -u JOBD_API_KEY "$JOBCTL" --address "$E2E_ADDRESS" \
  --timeout 5s --tls_ca_file "$C/test-ca.pem" list --workspace tls
expect_contains "tls: no key" "$ERR" "UNAUTHENTICATED"
# The HTTP listener serves HTTPS with the same certificate, and nothing in plaintext.
HTTPS=https://localhost:$E2E_HTTP_PORT
expect_ok "https: whoami" curl -sS --fail-with-body --cacert "$C/test-ca.pem" \
  -H "Authorization: Bearer $E2E_API_KEY" "$HTTPS/v1/whoami"
expect_contains "https: whoami" "$OUT" '"name":"test-admin"'
expect_rc "https: client trusting another CA" 60 curl -sS --cacert "$C/other-ca.pem" "$HTTPS/healthz"
run curl -sS --max-time 5 "http://127.0.0.1:$E2E_HTTP_PORT/healthz"
[[ $OUT != *SERVING* ]] || fail "https: a plaintext request was answered: $OUT"

# --- 2. mutual TLS --------------------------------------------------------------------------
E2E_JOBD_ARGS+=(--tls_client_ca_file "$C/test-ca.pem")
e2e_restart_jobd "$JOBD"
MTLS=(--tls_ca_file "$C/test-ca.pem")
expect_ok "mtls: with a client certificate" jctl "${MTLS[@]}" --tls_cert_file "$C/client.pem" \
  --tls_key_file "$C/client.key" list --workspace tls
expect_json "mtls: with a client certificate" jobs.0.type t
expect_rc "mtls: without a client certificate" 1 jctl "${MTLS[@]}" list --workspace tls
expect_contains "mtls: without a client certificate" "$ERR" "UNAVAILABLE"
expect_rc "mtls: certificate of another CA" 1 jctl "${MTLS[@]}" \
  --tls_cert_file "$C/stranger.pem" --tls_key_file "$C/stranger.key" list --workspace tls
expect_contains "mtls: certificate of another CA" "$ERR" "UNAVAILABLE"
expect_rc "mtls: plaintext client" 1 jctl list --workspace tls
expect_ok "mtls: https with a client certificate" curl -sS --fail-with-body \
  --cacert "$C/test-ca.pem" --cert "$C/client.pem" --key "$C/client.key" \
  "https://localhost:$E2E_HTTP_PORT/healthz"
expect_contains "mtls: https with a client certificate" "$OUT" SERVING
run curl -sS --max-time 5 --cacert "$C/test-ca.pem" "https://localhost:$E2E_HTTP_PORT/healthz"
((RC != 0)) || fail "mtls: https without a client certificate was answered: $OUT"

# --- 3. bad TLS flags stop jobd with the flag's name ----------------------------------------
expect_rc "tls: key without certificate" 2 "$JOBD" serve --tls_key_file "$C/server.key"
expect_contains "tls: key without certificate" "$ERR" "tls_cert_file and tls_key_file"
expect_rc "tls: unreadable certificate" 1 "$JOBD" serve --database_url "$E2E_DATABASE_URL" \
  --listen 127.0.0.1:0 --tls_cert_file "$C/missing.pem" --tls_key_file "$C/server.key"
expect_contains "tls: unreadable certificate" "$ERR" "tls_cert_file: cannot read"

# --- 4. jobctl finds .jobd/admin.key ----------------------------------------------------------
mkdir -p "$E2E_TMP/checkout/.jobd" "$E2E_TMP/checkout/sub/dir"
printf '%s\n' "$E2E_API_KEY" >"$E2E_TMP/checkout/.jobd/admin.key"
(
  cd "$E2E_TMP/checkout/sub/dir"
  unset JOBD_API_KEY
  expect_ok "key file found" "$JOBCTL" --address "$E2E_ADDRESS" --timeout 5s --output json \
    "${MTLS[@]}" --tls_cert_file "$C/client.pem" --tls_key_file "$C/client.key" \
    list --workspace tls
  expect_json "key file found" jobs.0.type t
)
