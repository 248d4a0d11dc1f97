#!/usr/bin/env bash
# Rotating Berth's token signing key (docs/auth.md, "Rotating the token signing
# key") with an unmodified CNCF distribution 2.8 (Debian's docker-registry)
# trusting Berth's tokens through the bundle Berth writes
# (auth.token.rootcertbundle): key A signs; B becomes current with A still
# accepted (auth.token.previous_keys); A is retired. At each step Berth reloads
# on SIGHUP and distribution is restarted (2.8 reads the bundle only at start).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl
command -v "$DISTRIBUTION_BIN" >/dev/null || skip "$DISTRIBUTION_BIN not installed"

SERVICE=registry.test
DEV_PW='dev-Pa55-rotation'
ADMIN_HASH=$(berth_hash 'admin-Pa55-rotation')
DEV_HASH=$(berth_hash "$DEV_PW")
KEYS=$E2E_DIR/keys
BDATA=$E2E_DIR/berth
mkdir -p "$KEYS"
BUNDLE=$KEYS/token-bundle.pem  # the defaults: next to the key
JWKS_FILE=$KEYS/token-jwks.json

# berth_auth_yaml KEY [PREVIOUS_KEYS_YAML_LIST [MORE_TOKEN_LINES]]
berth_auth_yaml() {
  cat <<EOF
auth:
  token:
    service: "$SERVICE"
    issuer: "berth"
    key: "$1"
    previous_keys: ${2:-[]}
${3:-}
$(team_policy_yaml "$ADMIN_HASH" "$DEV_HASH")
EOF
}

write_dist_config() {
  E2E_DIST_LOG_LEVEL=${E2E_DIST_LOG_LEVEL:-info} _e2e_write_distribution_config "$@" "auth:
  token:
    realm: \"http://$BERTH/v2/token\"
    service: \"$SERVICE\"
    issuer: berth
    rootcertbundle: \"$BUNDLE\""
}

token() {
  curl -fsS -u "developer:$DEV_PW" --get --data-urlencode "service=$SERVICE" \
    --data-urlencode "scope=repository:myorg/backend-api:pull" "http://$BERTH/v2/token" | jq -er .token
}

# status_on HOST TOKEN: GET /v2/ with the token (200: accepted, 401: refused)
status_on() {
  http_status GET "http://$1/v2/" -H "Authorization: Bearer $2"
}

jwks_kids() {
  curl -fsS "http://$BERTH/.well-known/jwks.json" | jq -r '[.keys[].kid] | join(",")'
}

kid_of_cert() {
  # the kid Berth published for this certificate's key (by x5c)
  local der
  der=$(openssl x509 -in "$1" -outform DER | base64 -w0)
  jq -r --arg c "$der" '.keys[] | select(.x5c[0] == $c) | .kid' "$JWKS_FILE"
}

# log_count_above REGEX N: Berth's log has more than N lines matching REGEX
log_count_above() {
  (($(count_matches "$BERTH_LOG" "$1") > $2))
}

# reconfigure AUTH_YAML OUTCOME: rewrite Berth's config, SIGHUP, wait for a
# new log line of the OUTCOME ("token keys reloaded" or "token keys not
# reloaded"; the config watcher may reload too, each step's outcome differs
# from the step before's, so a late watcher reload of the old file cannot pass)
reconfigure() {
  local before
  before=$(count_matches "$BERTH_LOG" "$2")
  E2E_BERTH_AUTH=$1
  write_berth_auth_config "$BERTH_CFG" "$BDATA" "$BERTH_PORT"
  kill -HUP "$BERTH_PID"
  wait_until 15 log_count_above "$2" "$before" || fail "Berth's log does not say '$2'"
}

restart_dist() {
  [[ -z ${DIST_PID:-} ]] || stop_registry "$DIST_PID"
  start_distribution_with write_dist_config "$E2E_DIR/dist"
  D=$REG
  DIST_PID=$REG_PID
}

# ---- a missing previous key is a startup error naming the file
E2E_BERTH_AUTH=$(berth_auth_yaml "$KEYS/a.pem" "[\"$KEYS/nowhere.crt\"]")
write_berth_auth_config "$E2E_DIR/bad.yml" "$BDATA" "$(free_port)"
if timeout 20 "$BERTH_BIN" serve --config "$E2E_DIR/bad.yml" >"$E2E_DIR/bad.log" 2>&1; then
  fail "Berth started with a missing previous key"
fi
assert_match "$(cat "$E2E_DIR/bad.log")" "nowhere\.crt" "a missing previous key stops the start, and the error names the file"

# ---- so does a bundle asked for by name that cannot be written
E2E_BERTH_AUTH=$(berth_auth_yaml "$KEYS/a.pem" "[]" "    bundle: \"$E2E_DIR/no/such/dir/bundle.pem\"")
write_berth_auth_config "$E2E_DIR/bad2.yml" "$BDATA" "$(free_port)"
if timeout 20 "$BERTH_BIN" serve --config "$E2E_DIR/bad2.yml" >"$E2E_DIR/bad2.log" 2>&1; then
  fail "Berth started without writing its bundle"
fi
assert_match "$(cat "$E2E_DIR/bad2.log")" "cannot publish the token keys.*no/such/dir/bundle\.pem" \
  "an auth.token.bundle that cannot be written stops the start, and the error names it"

# ---- key A
E2E_BERTH_AUTH=$(berth_auth_yaml "$KEYS/a.pem")
start_berth_auth "$BDATA"
BERTH=$REG BERTH_PID=$REG_PID BERTH_LOG=$REG_LOG BERTH_CFG=$REG_CFG BERTH_PORT=$REG_PORT
[[ -s $KEYS/a.crt ]] || fail "Berth did not write $KEYS/a.crt"
assert_eq "$(stat -c %a "$BUNDLE")" "644" "Berth wrote the bundle (mode 644)"
assert_eq "$(stat -c %a "$JWKS_FILE")" "644" "Berth wrote the JWKS file (mode 644)"
assert_eq "$(cat "$BUNDLE")" "$(cat "$KEYS/a.crt")" "the bundle holds A's certificate"
KID_A=$(kid_of_cert "$KEYS/a.crt")
[[ -n $KID_A ]] || fail "A is not in $JWKS_FILE"
assert_eq "$(jwks_kids)" "$KID_A" "the JWKS URL serves A"
T1=$(token) || fail "no token T1"
assert_eq "$(jwt_header "$T1" | jq -r .kid)" "$KID_A" "T1 is signed by A"
restart_dist
assert_eq "$(status_on "$BERTH" "$T1")" "200" "(1) T1 works on Berth"
assert_eq "$(status_on "$D" "$T1")" "200" "(1) T1 works on distribution"

# ---- rotate: B current, A accepted
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$KEYS/b.pem" 2>/dev/null
chmod 600 "$KEYS/b.pem"
reconfigure "$(berth_auth_yaml "$KEYS/b.pem" "[\"$KEYS/a.crt\"]")" 'token keys reloaded'
KID_B=$(kid_of_cert "$KEYS/b.crt")
[[ -n $KID_B && $KID_B != "$KID_A" ]] || fail "B ($KID_B) is not in $JWKS_FILE, or has A's kid"
assert_eq "$(jwks_kids)" "$KID_B,$KID_A" "after the rotation the JWKS URL serves B, then A"
assert_eq "$(jq -r '[.keys[].kid] | join(",")' "$JWKS_FILE")" "$KID_B,$KID_A" "... and so does the JWKS file"
assert_eq "$(cat "$BUNDLE")" "$(cat "$KEYS/b.crt" "$KEYS/a.crt")" "the bundle holds B's certificate, then A's"
assert_match "$(grep -F 'token keys reloaded' "$BERTH_LOG" | tail -n1)" "$KID_B" "Berth logs the new kids"
restart_dist
assert_eq "$(status_on "$BERTH" "$T1")" "200" "(2) T1 (A) still works on Berth"
assert_eq "$(status_on "$D" "$T1")" "200" "(2) T1 (A) still works on distribution"
T2=$(token) || fail "no token T2"
assert_eq "$(jwt_header "$T2" | jq -r .kid)" "$KID_B" "T2 is signed by B"
assert_eq "$(status_on "$BERTH" "$T2")" "200" "(2) T2 (B) works on Berth"
assert_eq "$(status_on "$D" "$T2")" "200" "(2) T2 (B) works on distribution"

# ---- a reload never creates a key: a missing one keeps the running ring
reconfigure "$(berth_auth_yaml "$KEYS/missing.pem" "[\"$KEYS/a.crt\"]")" 'token keys not reloaded'
assert_match "$(grep -F 'token keys not reloaded' "$BERTH_LOG" | tail -n1)" "missing\.pem" \
  "a reload naming a missing key is refused, and says why"
[[ ! -e $KEYS/missing.pem ]] || fail "a reload created $KEYS/missing.pem"
assert_eq "$(jwks_kids)" "$KID_B,$KID_A" "... the running keys stay"
assert_eq "$(status_on "$BERTH" "$T2")" "200" "... T2 still works on Berth"

# ---- retire A
reconfigure "$(berth_auth_yaml "$KEYS/b.pem")" 'token keys reloaded'
assert_eq "$(jwks_kids)" "$KID_B" "after retiring A the JWKS URL serves B only"
assert_eq "$(cat "$BUNDLE")" "$(cat "$KEYS/b.crt")" "the bundle holds B's certificate only"
restart_dist
assert_eq "$(status_on "$BERTH" "$T1")" "401" "(3) T1 (A, retired) is refused by Berth at once"
assert_eq "$(status_on "$D" "$T1")" "401" "(3) T1 (A, retired) is refused by distribution"
assert_eq "$(status_on "$BERTH" "$T2")" "200" "(3) T2 (B) still works on Berth"
assert_eq "$(status_on "$D" "$T2")" "200" "(3) T2 (B) still works on distribution"

# ---- a token naming an unknown kid
HDR=$(jwt_header "$T2" | jq -c '.kid = "ABCD:EFGH:IJKL:MNOP:QRST:UVWX:YZ23:4567:ABCD:EFGH:IJKL:MNOP"' |
  base64 -w0 | tr '+/' '-_' | tr -d '=')
T3="$HDR.$(cut -d. -f2- <<<"$T2")"
before=$(count_matches "$BERTH_LOG" 'token refused.*unknown key')
assert_eq "$(status_on "$BERTH" "$T3")" "401" "(4) a token with an unknown kid is refused by Berth"
wait_until 5 log_count_above 'token refused.*unknown key' "$before" ||
  fail "Berth's log does not say the token was refused for an unknown key"
ok "(4) Berth's log: token refused, unknown key"
assert_eq "$(status_on "$D" "$T3")" "401" "(4) ... and by distribution"

stop_registry "$DIST_PID"
stop_registry "$BERTH_PID"
ok "servers stopped cleanly"
