#!/usr/bin/env bash
# LDAP end to end (auth.ldap) against the real OpenLDAP of the "ldap" ctest
# fixture (tests/tools/slapd.sh: slapd on a private port, StartTLS with a
# generated CA). Users not in the YAML log in against the directory; its groups
# (groupOfNames) are what `account: "@group"` ACL entries match:
#   alice (developers) logs in with podman and pushes team/app; bob (readers)
#   logs in but may only pull; a wrong password and a filter-injection attempt
#   are refused; alice taken out of developers loses push once the cache time
#   (cache_seconds: 2 here) has passed; slapd stopped: directory users cannot
#   log in (a clear 401 and an error line in the log), YAML users still can.
# Needs BERTH_TEST_LDAP_* (ctest sets them; a skip otherwise).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl
[[ -n ${BERTH_TEST_LDAP_URL:-} ]] || skip "no LDAP server (run it through ctest: the ldap fixture starts slapd)"
command -v ldapmodify >/dev/null || skip "ldap-utils missing"

SERVICE=registry.test
CACHE=2
ADMIN_PW='admin-Pa55-ldap'
ADMIN_HASH=$(berth_hash "$ADMIN_PW")
SFX=$BERTH_TEST_LDAP_SUFFIX
ldap_auth_yaml() {
  cat <<EOF2
auth:
  token: {service: "$SERVICE", issuer: "berth", expiration: 300}
  ldap:
    url: "$BERTH_TEST_LDAP_URL"
    start_tls: true
    ca_file: "$BERTH_TEST_LDAP_CA_FILE"
    bind_dn: "$BERTH_TEST_LDAP_BIND_DN"
    bind_password_file: "$BERTH_TEST_LDAP_BIND_PASSWORD_FILE"
    user_base: "ou=people,$SFX"
    user_filter: "(&(objectClass=inetOrgPerson)(uid={username}))"
    group_base: "ou=groups,$SFX"
    group_filter: "(&(objectClass=groupOfNames)(member={dn}))"
    cache_seconds: $CACHE
users:
  admin: {password: "$ADMIN_HASH"}
acl:
  - {account: admin, name: "*", actions: ["*"]}
  - {account: "@developers", name: "team/**", actions: [pull, push]}
  - {account: "@readers", name: "team/**", actions: [$1]}
EOF2
}
E2E_BERTH_AUTH=$(ldap_auth_yaml pull)

# ldap_member add|delete USER GROUP: change the directory as its administrator.
ldap_member() {
  printf 'dn: cn=%s,ou=groups,%s\nchangetype: modify\n%s: member\nmember: uid=%s,ou=people,%s\n' \
    "$3" "$SFX" "$1" "$2" "$SFX" |
    LDAPTLS_CACERT=$BERTH_TEST_LDAP_CA_FILE ldapmodify -ZZ -x -H "$BERTH_TEST_LDAP_URL" \
      -D "$BERTH_TEST_LDAP_BIND_DN" -w "$(head -n1 "$BERTH_TEST_LDAP_BIND_PASSWORD_FILE")" >/dev/null
}
# The fixture is shared: whatever happens, alice goes back into developers and slapd runs.
restore_directory() {
  bash "$BERTH_TEST_LDAP_TOOL" resume "$BERTH_TEST_LDAP_DIR" >/dev/null 2>&1 || true
  ldap_member add alice developers 2>/dev/null || true
}
trap '_ldap_rc=$?; restore_directory; (exit $_ldap_rc); _e2e_cleanup' EXIT

start_berth_auth "$E2E_DIR/data"
R=$REG

# granted CREDS SCOPE: the actions a fresh token grants for SCOPE ("a,b")
granted() {
  local tok
  tok=$(curl -fsS --get --data-urlencode "service=$SERVICE" --data-urlencode "scope=$2" -u "$1" \
    "http://$R/v2/token" | jq -er .token) || return 1
  jwt_payload "$tok" | jq -r '[.access[]? | .actions[]] | join(",")'
}

assert_eq "$(granted alice:alicepw repository:team/app:pull,push)" "pull,push" \
  "alice (directory group developers) gets pull and push on team/app"
assert_eq "$(granted bob:bobpw repository:team/app:pull,push)" "pull" "bob (readers) gets pull only"
assert_eq "$(granted carol:carolpw repository:team/app:pull)" "" "carol (no group) gets nothing"

SRC=$E2E_DIR/src
make_image "$SRC" v1
# podman names an image pulled from an OCI layout after its path, which must be lower case.
LOWER_SRC=/tmp/berth-ldap-e2e-$$
ln -sfn "$SRC" "$LOWER_SRC"
IMG=$(pm cli pull --signature-policy "$E2E_POLICY" --quiet "oci:$LOWER_SRC:v1") || fail "podman could not load the test image"
rm -f "$LOWER_SRC"

assert_succeeds "podman login alice (LDAP, StartTLS)" \
  pm cli login --tls-verify=false --authfile "$E2E_DIR/alice.json" -u alice -p alicepw "$R"
assert_succeeds "podman push as alice to team/app (developers may push)" \
  pm cli push --signature-policy "$E2E_POLICY" --tls-verify=false --quiet --authfile "$E2E_DIR/alice.json" \
  "$IMG" "docker://$R/team/app:v1"
assert_succeeds "podman login bob (LDAP)" \
  pm cli login --tls-verify=false --authfile "$E2E_DIR/bob.json" -u bob -p bobpw "$R"
assert_fails "podman push as bob is refused (readers may only pull)" \
  pm cli push --signature-policy "$E2E_POLICY" --tls-verify=false --quiet --authfile "$E2E_DIR/bob.json" \
  "$IMG" "docker://$R/team/app:bob"
assert_succeeds "podman pull as bob (readers may pull)" \
  pm cli pull --signature-policy "$E2E_POLICY" --tls-verify=false --quiet --authfile "$E2E_DIR/bob.json" \
  "$R/team/app:v1"
assert_eq "$(http_status GET "http://$R/v2/team/app/tags/list" -u bob:bobpw)" 200 "Basic credentials of a directory user work on /v2/"
# The web UI signs directory users in too (docs/ui.md) and shows what their groups may pull.
UI_JAR=$E2E_DIR/ui-bob.jar
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -c "$UI_JAR" -H 'X-Berth-UI: 1' -H 'Content-Type: application/json' \
  -d '{"user":"bob","password":"bobpw"}' "http://$R/ui/api/session")" 200 "bob (LDAP) signs in to the web UI"
assert_eq "$(curl -fsS -b "$UI_JAR" "http://$R/ui/api/repositories" | jq -c '[.repositories[].name]')" '["team/app"]' \
  "the web UI lists team/app to bob (readers may pull)"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Berth-UI: 1' -H 'Content-Type: application/json' \
  -d '{"user":"bob","password":"wrong"}' "http://$R/ui/api/session")" 401 "a wrong LDAP password is refused by the web UI"
assert_fails_with "podman login with a wrong password is refused" 'invalid username/password|unauthorized|401' \
  pm cli login --tls-verify=false --authfile "$E2E_DIR/bad.json" -u alice -p wrong "$R"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -u 'alice:' "http://$R/v2/token?service=$SERVICE")" 401 \
  "an empty password is refused (no anonymous bind)"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -u '*:alicepw' "http://$R/v2/token?service=$SERVICE")" 401 \
  "a user name of '*' is compared, not a wildcard"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -u 'ALICE:alicepw' "http://$R/v2/token?service=$SERVICE")" 401 \
  "ALICE is not alice (the directory's spelling is the account name)"

# Taken out of developers in the directory: push goes once the cache time has passed.
ldap_member delete alice developers
note "alice removed from developers; waiting ${CACHE}s (cache_seconds) and a little more"
sleep $((CACHE + 1))
assert_eq "$(granted alice:alicepw repository:team/app:pull,push)" "pull" "alice keeps only readers' pull after the cache time"
assert_fails "podman push as alice is refused now" \
  pm cli push --signature-policy "$E2E_POLICY" --tls-verify=false --quiet --authfile "$E2E_DIR/alice.json" \
  "$IMG" "docker://$R/team/app:v2"
ldap_member add alice developers

# A reload (SIGHUP) takes a new ACL for the directory's groups, and keeps the directory working.
E2E_BERTH_AUTH=$(ldap_auth_yaml "pull, push")
write_berth_auth_config "$REG_CFG" "$E2E_DIR/data" "$REG_PORT"
kill -HUP "$REG_PID"
bob_may_push() { [[ $(granted bob:bobpw repository:team/app:push) == push ]]; }
wait_until 10 bob_may_push || fail "after the reload readers still may not push"
ok "after a reload (readers may push now) bob, in readers in the directory, gets push"

# slapd stopped: directory logins fail cleanly, YAML users are unaffected.
bash "$BERTH_TEST_LDAP_TOOL" halt "$BERTH_TEST_LDAP_DIR"
sleep $((CACHE + 1))
body=$E2E_DIR/down.json
code=$(curl -s -o "$body" -w '%{http_code}' -u alice:alicepw "http://$R/v2/token?service=$SERVICE&scope=repository:team/app:pull")
assert_eq "$code" 401 "with slapd stopped a directory user gets 401"
assert_match "$(cat "$body")" 'user directory or the access token database is unavailable' "the answer says the directory is unavailable"
assert_fails_with "podman login fails while slapd is down" 'invalid username/password|unauthorized|401' \
  pm cli login --tls-verify=false --authfile "$E2E_DIR/down.json" -u alice -p alicepw "$R"
assert_match "$(grep 'LDAP directory is unavailable' "$REG_LOG" | head -n1)" 'cannot connect' \
  "the log says why (cannot connect)"
assert_eq "$(granted "admin:$ADMIN_PW" repository:team/app:pull)" "pull" "a YAML user still logs in"
kill -0 "$REG_PID" || fail "berth died while slapd was down"
bash "$BERTH_TEST_LDAP_TOOL" resume "$BERTH_TEST_LDAP_DIR" >/dev/null
assert_eq "$(granted alice:alicepw repository:team/app:push)" "push" "slapd back: alice logs in again"

ok "LDAP end to end"
