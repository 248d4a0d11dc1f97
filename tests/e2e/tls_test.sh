#!/usr/bin/env bash
# Berth serving TLS itself (no proxy), with token auth: curl and skopeo verify
# the server against a throw-away CA (no --insecure, no --tls-verify=false),
# the token realm is https, plain HTTP on the port gets a 400, and a new
# certificate is picked up on SIGHUP without a restart.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

PKI=$E2E_DIR/pki
CERTS=$E2E_DIR/certs.d   # containers/image cert dir: *.crt are trusted CAs
mkdir -p "$PKI" "$CERTS"

# ------------------------------------------------------------------ PKI ---
(
  cd "$PKI"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -days 2 -subj '/CN=Berth e2e CA' -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
  for n in 1 2; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "s$n.key" -out "s$n.csr" \
      -subj "/CN=berth-e2e-$n"
    openssl x509 -req -in "s$n.csr" -CA ca.crt -CAkey ca.key -set_serial "0x${n}00${n}" -days 2 \
      -extfile server.ext -out "s$n.crt"
  done
) >"$E2E_DIR/pki.log" 2>&1 || {
  sed 's/^/#   /' "$E2E_DIR/pki.log" >&2
  fail "openssl could not make the test PKI"
}
cp "$PKI/ca.crt" "$CERTS/ca.crt"
cp "$PKI/s1.crt" "$PKI/live.crt"
cp "$PKI/s1.key" "$PKI/live.key"
ok "test CA and two server certificates for 127.0.0.1"

ADMIN_PW='admin-Tls-e2e'
ADMIN_HASH=$(berth_hash "$ADMIN_PW")

write_tls_config() {
  local cfg=$1 datadir=$2 port=$3
  cat >"$cfg" <<EOF
server:
  addr: "127.0.0.1:$port"
  tls: {enabled: true, certificate: "$PKI/live.crt", key: "$PKI/live.key", poll_interval: 0}
storage:
  filesystem: {rootdirectory: "$datadir"}
  delete: {enabled: true}
auth:
  token: {service: "registry.test"}
users:
  admin: {password: "$ADMIN_HASH"}
acl:
  - {account: "admin", name: "*", actions: ["*"]}
EOF
}

# Ready as soon as the port answers at all: plain HTTP gets the 400 below.
_e2e_launch berth write_tls_config "$E2E_DIR/data" any
URL="https://$REG"

# served_serial: the serial number of the certificate a new connection gets
served_serial() {
  openssl s_client -connect "$REG" -CAfile "$PKI/ca.crt" -verify_return_error </dev/null 2>/dev/null |
    openssl x509 -noout -serial
}

# ----------------------------------------------------------------- curl ---
H=$E2E_DIR/v2.h
assert_eq "$(curl -sS -o /dev/null -D "$H" -w '%{http_code}' --cacert "$PKI/ca.crt" "$URL/v2/")" "401" \
  "curl --cacert: GET https://.../v2/ verifies and gets the 401 challenge"
assert_match "$(response_header WWW-Authenticate <"$H")" "realm=\"https://$REG/v2/token\"" \
  "the token realm is https"
rc=0
curl -sS -o /dev/null "$URL/v2/" 2>/dev/null || rc=$?
assert_eq "$rc" "60" "curl without the CA refuses the certificate (exit 60)"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' --tlsv1.1 --tls-max 1.1 --cacert "$PKI/ca.crt" "$URL/v2/" 2>/dev/null || true)" \
  "000" "TLS 1.1 is refused"
assert_eq "$(curl -sS -w '%{http_code}' "http://$REG/v2/")" \
  "Client sent an HTTP request to an HTTPS server.
400" "plain HTTP on the TLS port gets a 400 that says why"

TOKEN=$(curl -fsS --cacert "$PKI/ca.crt" -u "admin:$ADMIN_PW" \
  "$URL/v2/token?service=registry.test&scope=repository:e2e/tls:pull" | jq -r .token)
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" -H "Authorization: Bearer $TOKEN" "$URL/v2/")" \
  "200" "token from the https realm opens /v2/"

# --------------------------------------------------------------- skopeo ---
SRC=$E2E_DIR/src
OUT=$E2E_DIR/out
make_image "$SRC" small 65536
SMALL=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" small)")

assert_fails_with "skopeo without the CA refuses the certificate" 'x509|certificate' \
  sk copy --quiet --dest-creds "admin:$ADMIN_PW" "oci:$SRC:small" "docker://$REG/e2e/tls:v1"
assert_succeeds "skopeo push over TLS (--dest-cert-dir with ca.crt, auth on)" \
  sk copy --quiet --dest-cert-dir "$CERTS" --dest-creds "admin:$ADMIN_PW" "oci:$SRC:small" "docker://$REG/e2e/tls:v1"
assert_succeeds "skopeo pull over TLS (--src-cert-dir)" \
  sk copy --quiet --src-cert-dir "$CERTS" --src-creds "admin:$ADMIN_PW" "docker://$REG/e2e/tls:v1" "oci:$OUT:small"
assert_eq "$(sk_digest "oci:$OUT:small")" "$SMALL" "pulled manifest digest identical"
check_layout_blobs "pulled blobs over TLS" "$SRC" "$OUT" "$SMALL"

# --------------------------------------------------------------- reload ---
assert_eq "$(served_serial)" "serial=1001" "first certificate served"
cp "$PKI/s2.crt" "$PKI/live.crt.new" && mv "$PKI/live.crt.new" "$PKI/live.crt"
cp "$PKI/s2.key" "$PKI/live.key.new" && mv "$PKI/live.key.new" "$PKI/live.key"
kill -HUP "$REG_PID"
served_is_2002() { [[ $(served_serial) == serial=2002 ]]; }
wait_until 10 served_is_2002 || fail "the new certificate is not served after SIGHUP (still $(served_serial))"
ok "SIGHUP: new connections get the new certificate"
# A key that does not belong to the certificate is refused; the running pair stays.
cp "$PKI/s1.crt" "$PKI/live.crt"
kill -HUP "$REG_PID"
wait_until 10 grep -q 'TLS reload failed' "$REG_LOG" || fail "no 'TLS reload failed' in the log"
assert_eq "$(served_serial)" "serial=2002" "a mismatched key keeps the previous certificate"
assert_succeeds "skopeo still works after the reloads" \
  sk inspect --raw --cert-dir "$CERTS" --creds "admin:$ADMIN_PW" "docker://$REG/e2e/tls:v1"

stop_registry
ok "berth stopped cleanly"
