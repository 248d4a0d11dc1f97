#!/usr/bin/env bash
# An outside TLS audit of Berth's own listener (issue #23): Debian's testssl.sh
# checks the protocols, cipher categories, forward secrecy, the known TLS
# vulnerabilities, the server defaults and the HTTP security headers against
# Berth on 127.0.0.1 with a throw-away CA. It passes when no finding is above
# INFO, except the ones a private CA causes by itself (listed below, each with
# its reason). Then `server.tls.profile: modern` must not offer TLS 1.2.
# Local only: no DNS lookups, no OCSP/CRL downloads (--phone-out is off).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl
command -v testssl >/dev/null || skip "testssl (Debian package testssl.sh) is not installed"
command -v jq >/dev/null || skip "jq is not installed"

# Findings that come from the test PKI, not from Berth: a private CA that no
# trust store knows, without revocation (CRL, OCSP), CAA or CT.
# (The test certificate lives 90 days and has a random 16-byte serial, as a
# public CA's would, so lifetime and serial findings are not excused.)
declare -A PRIVATE_CA_FINDINGS=(
  [cert_chain_of_trust]="the test CA is in no trust store testssl knows (--add-ca adds it; kept for testssl versions that still check the system stores only)"
  [cert_revocation]="a private test CA publishes no CRL and runs no OCSP responder"
  [cert_crlDistributionPoints]="a private test CA publishes no CRL"
  [cert_ocspURL]="a private test CA runs no OCSP responder"
  [OCSP_stapling]="there is no OCSP responder to staple from"
  [DNS_CAArecord]="127.0.0.1 has no DNS name and no CAA record (and --nodns none)"
  [certificate_transparency]="a private CA logs nothing to CT"
)
# testssl's own race, not Berth's: Berth sends TLS 1.3 (stateful) session
# tickets after the handshake; testssl's `openssl s_client -sess_out </dev/null`
# sometimes exits before one arrives, and its ticket resumption check then
# reports this WARN (TLS 1.2 and 1.3 resumption by ID is checked below).
declare -A TESTSSL_RACES=(
  [sessionresumption_ticket]="check failed because of connect problem"
)

PKI=$E2E_DIR/pki
mkdir -p "$PKI"
(
  cd "$PKI"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -days 90 -subj '/CN=Berth testssl CA' -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
    -subj '/CN=localhost'
  # A random 16-byte serial, as a public CA's (testssl flags a short one).
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -set_serial "0x7f$(openssl rand -hex 15)" -days 90 \
    -extfile server.ext -out server.crt
) >"$E2E_DIR/pki.log" 2>&1 || {
  sed 's/^/#   /' "$E2E_DIR/pki.log" >&2
  fail "openssl could not make the test PKI"
}
ok "test CA and a server certificate for 127.0.0.1"

TLS_PROFILE=intermediate
write_tls_config() {
  local cfg=$1 datadir=$2 port=$3
  cat >"$cfg" <<EOF
server:
  addr: "127.0.0.1:$port"
  tls: {enabled: true, certificate: "$PKI/server.crt", key: "$PKI/server.key", poll_interval: 0, profile: $TLS_PROFILE}
storage:
  filesystem: {rootdirectory: "$datadir"}
auth: {mode: none}
EOF
}

# run_testssl JSON CHECKS...: testssl against the running Berth's /v2/ (a 200).
run_testssl() {
  local json=$1
  shift
  local out rc=0
  out=$E2E_DIR/testssl.$(basename "$json" .json).out
  rm -f "$json"
  # --nodns none: no lookups at all; no --phone-out: no OCSP/CRL fetches.
  # --add-ca: the test CA, so the chain is checked against it as well.
  timeout 600 testssl --quiet --color 0 --warnings off --nodns none --ip 127.0.0.1 \
    --connect-timeout 5 --openssl-timeout 5 --add-ca "$PKI/ca.crt" \
    --jsonfile "$json" "$@" "https://$REG/v2/" >"$out" 2>&1 || rc=$?
  # testssl's exit status counts findings, so it is no verdict; a missing or
  # empty JSON file is (testssl itself failed).
  if ! jq -e 'length > 0' "$json" >/dev/null 2>&1; then
    sed 's/^/#   /' "$out" >&2
    fail "testssl produced no findings (exit $rc)"
  fi
}

# -------------------------------------------------- intermediate (default) ---
_e2e_launch berth write_tls_config "$E2E_DIR/data" any
START=$SECONDS
JSON=$E2E_DIR/intermediate.json
run_testssl "$JSON" --protocols --std --pfs --vulnerable --headers --server-defaults
note "testssl (intermediate) took $((SECONDS - START))s"

# Any finding that would mean testssl could not test at all is a failure too.
if jq -e '.[] | select(.id == "scanProblem" or .severity == "FATAL")' "$JSON" >/dev/null; then
  jq -r '.[] | select(.id == "scanProblem" or .severity == "FATAL") | "#   \(.id) \(.severity): \(.finding)"' "$JSON" >&2
  fail "testssl could not scan Berth"
fi

exceptions=$(printf '%s\n' "${!PRIVATE_CA_FINDINGS[@]}" | jq -R . | jq -s .)
races=$(for id in "${!TESTSSL_RACES[@]}"; do jq -n --arg id "$id" --arg f "${TESTSSL_RACES[$id]}" '{($id): $f}'; done | jq -s 'add')
# The id may carry a suffix per certificate (cert_chain_of_trust <cert#1>): strip it.
above_info=$(jq -r --argjson ex "$exceptions" --argjson races "$races" '
  .[] | select(.severity as $s | ["LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN"] | index($s))
      | select((.id | sub(" <.*$"; "")) as $id | $ex | index($id) | not)
      | select($races[.id] != .finding)
      | "\(.id) \(.severity): \(.finding)"' "$JSON")
if [[ -n $above_info ]]; then
  printf '#   %s\n' "${above_info//$'\n'/$'\n'#   }" >&2
  fail "testssl findings above INFO (not caused by the private CA)"
fi
ok "testssl: no finding above INFO except the private CA's own"
while IFS= read -r line; do note "allowed (private CA): $line"; done < <(
  jq -r --argjson ex "$exceptions" '
    .[] | select(.severity as $s | ["LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN"] | index($s))
        | select((.id | sub(" <.*$"; "")) as $id | $ex | index($id))
        | "\(.id) \(.severity): \(.finding)"' "$JSON")

# What the issue asks for, named (a severity change in testssl must not hide them).
finding() { jq -r --arg id "$1" '[.[] | select(.id == $id) | .finding][0] // "missing"' "$JSON"; }
assert_eq "$(finding TLS1_1)" "not offered" "TLS 1.1 not offered"
assert_eq "$(finding TLS1)" "not offered" "TLS 1.0 not offered"
assert_match "$(finding TLS1_2)" "^offered" "TLS 1.2 offered (intermediate)"
assert_match "$(finding TLS1_3)" "^offered" "TLS 1.3 offered"
assert_eq "$(finding PFS)" "offered" "forward secrecy offered"
assert_match "$(finding HSTS_time)" "31536000 seconds" "HSTS max-age one year"
# Resumption by session ID. testssl's check runs two `openssl s_client` in a
# row; on a loaded machine (CI runs tests in parallel) its first client can be
# cut before the session is cached, and it then says "not supported". So a
# "supported" from testssl is taken as it is, and anything else is checked
# again directly, the same way (TLS 1.2, no tickets, the saved session offered
# to a second connection): that check must find the session reused.
resumed_by_id() {
  local sess=$E2E_DIR/tls12.session attempt
  for attempt in 1 2 3; do
    rm -f "$sess"
    openssl s_client -connect "$REG" -tls1_2 -no_ticket -CAfile "$PKI/ca.crt" -sess_out "$sess" \
      </dev/null >/dev/null 2>&1 || continue
    openssl s_client -connect "$REG" -tls1_2 -no_ticket -CAfile "$PKI/ca.crt" -sess_in "$sess" \
      </dev/null 2>/dev/null | grep -q '^Reused, ' && return 0
  done
  return 1
}
resumption=$(finding sessionresumption_ID)
if [[ $resumption != supported ]]; then
  note "testssl reports '$resumption' for resumption by session ID; checking with openssl s_client"
  resumed_by_id && resumption=supported
fi
assert_eq "$resumption" "supported" "sessions resume from the server-side cache"
assert_eq "$(finding X-Content-Type-Options)" "nosniff" "X-Content-Type-Options: nosniff"
assert_match "$(finding Content-Security-Policy)" "default-src 'none'" "Content-Security-Policy default-src 'none'"
assert_match "$(finding Referrer-Policy)" "no-referrer" "Referrer-Policy: no-referrer"
stop_registry

# ----------------------------------------------------------------- modern ---
TLS_PROFILE=modern
_e2e_launch berth write_tls_config "$E2E_DIR/data" any
JSON=$E2E_DIR/modern.json
run_testssl "$JSON" --protocols
assert_eq "$(finding TLS1_2)" "not offered" "modern: TLS 1.2 not offered"
assert_match "$(finding TLS1_3)" "^offered" "modern: TLS 1.3 offered"
stop_registry
note "whole test took ${SECONDS}s"
