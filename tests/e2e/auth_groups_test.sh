#!/usr/bin/env bash
# Groups in the ACL, end to end: `groups:` in the YAML and an entry with
# `account: "@developers"`; a member pushes with skopeo where the group may, a
# non-member is refused; `berth acl explain` names the group that matched; a
# user taken out of the group (live reload, SIGHUP) loses the grant at once.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

SERVICE=registry.test
PW='grp-Pa55-e2e'
HASH=$(berth_hash "$PW")

# groups_yaml MEMBERS: the auth part of the config with developers: [MEMBERS]
groups_yaml() {
  cat <<EOF2
auth:
  token: {service: "$SERVICE", issuer: "berth", expiration: 300}
users:
  alice: {password: "$HASH"}
  bob:   {password: "$HASH"}
  carol: {password: "$HASH"}
groups:
  developers: [$1]
  readers: [carol]
acl:
  - account: "@developers"
    name: "team/**"
    actions: ["pull", "push"]
  - account: "@readers"
    name: "team/**"
    actions: ["pull"]
  - account: "bob"
    name: "team/**"
    actions: ["pull"]
EOF2
}

E2E_BERTH_AUTH=$(groups_yaml "alice, bob")
start_berth_auth "$E2E_DIR/data"
R=$REG

# granted USER SCOPE: the actions a fresh token grants USER for SCOPE ("a,b")
granted() {
  local tok
  tok=$(curl -fsS --get --data-urlencode "service=$SERVICE" --data-urlencode "scope=$2" -u "$1:$PW" \
    "http://$R/v2/token" | jq -er .token) || return 1
  jwt_payload "$tok" | jq -r '[.access[]? | .actions[]] | join(",")'
}

assert_eq "$(granted alice repository:team/app:pull,push)" "pull,push" "a member of developers gets pull and push"
assert_eq "$(granted carol repository:team/app:pull,push)" "pull" "a member of readers gets pull only"
assert_eq "$(granted alice repository:other/app:pull)" "" "the group's entry is limited to team/**"

SRC=$E2E_DIR/src
make_image "$SRC" v1
assert_succeeds "alice (developers) pushes team/app with skopeo" \
  sk copy --dest-tls-verify=false --dest-creds "alice:$PW" "oci:$SRC:v1" "docker://$R/team/app:v1"
assert_fails "carol (readers) cannot push team/app" \
  sk copy --dest-tls-verify=false --dest-creds "carol:$PW" "oci:$SRC:v1" "docker://$R/team/app:v2"
assert_succeeds "carol (readers) pulls team/app" \
  sk inspect --raw --tls-verify=false --creds "carol:$PW" "docker://$R/team/app:v1"

out=$("$BERTH_BIN" acl explain --config "$REG_CFG" --user bob --repo team/app --action push)
assert_match "$out" '^bob push team/app: ALLOWED by acl\[0\] \(.*:[0-9]+\) as a member of group developers \(groups:\): account=@developers ' \
  "acl explain names the group that matched"
out=$("$BERTH_BIN" acl explain --config "$REG_CFG" --user dave --repo team/app --action pull --group readers || true)
assert_match "$out" 'ALLOWED by acl\[1\] .* as a member of group readers \(directory\)' \
  "acl explain --group assumes a directory group"

# bob leaves developers: the reloaded config takes his grant away at once.
E2E_BERTH_AUTH=$(groups_yaml "alice")
write_berth_auth_config "$REG_CFG" "$E2E_DIR/data" "$REG_PORT"
kill -HUP "$REG_PID"
bob_cannot_push() { [[ $(granted bob repository:team/app:pull,push) == pull ]]; }
wait_until 10 bob_cannot_push || fail "bob still has push after leaving developers"
ok "bob's push grant is gone after the reload"
assert_eq "$(granted alice repository:team/app:push)" "push" "alice keeps hers"

# A group the config does not define is refused with its position.
bad=$E2E_DIR/bad.yml
printf 'users:\n  alice: {password: "%s"}\nacl:\n  - {account: "@nosuch", actions: [pull]}\n' "$HASH" >"$bad"
out=$("$BERTH_BIN" check-config "$bad" 2>&1 || true)
assert_match "$out" "bad.yml:4:.*acl\[0\].account: no group 'nosuch'" "an undefined group is a config error with file:line:column"

ok "groups end to end"
