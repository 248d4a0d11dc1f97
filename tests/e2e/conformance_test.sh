#!/usr/bin/env bash
# Issue #13, with real clients and Berth's token flow: a cross-repository
# mount by skopeo and by a client that only follows challenges (curl here),
# and the catalog filtered by the ACL as podman search sees it for users with
# different ACLs, a user with no pull anywhere, and the anonymous caller.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

SERVICE=registry.test
PW='conf-Pa55-e2e'
HASH=$(berth_hash "$PW")
E2E_BERTH_AUTH="auth:
  token: {service: \"$SERVICE\", issuer: \"berth\", expiration: 300}
users:
  admin: {password: \"$HASH\"}
  alice: {password: \"$HASH\"}
  bob:   {password: \"$HASH\"}
  carol: {password: \"$HASH\"}
acl:
  - {account: admin, name: \"*\", actions: [\"*\"]}
  - {account: alice, name: \"src/*\", actions: [pull]}
  - {account: alice, name: \"dst/*\", actions: [pull, push]}
  - {account: bob, name: \"dst/*\", actions: [pull, push]}
  - {account: \"\", name: \"public/*\", actions: [pull]}"

start_berth_auth "$E2E_DIR/data"
R=$REG
TOKEN_URL="http://$R/v2/token"
SRC=$E2E_DIR/src

# token_for CREDS SCOPES: a token for the space-separated SCOPES ("" CREDS: anonymous)
token_for() {
  local creds=$1 s scopes args=(--get --data-urlencode "service=$SERVICE")
  read -ra scopes <<<"$2"
  for s in "${scopes[@]}"; do args+=(--data-urlencode "scope=$s"); done
  [[ -z $creds ]] || args+=(-u "$creds")
  curl -fsS "${args[@]}" "$TOKEN_URL" | jq -er .token
}

# follow CREDS METHOD URL OUT: what a challenge-driven client does -- on a 401,
# a token for the scopes the challenge names, and again (3 rounds at most).
# Prints the final status; the challenges met go to OUT.challenges.
follow() {
  local creds=$1 method=$2 url=$3 out=$4 token="" code scope i
  : >"$out.challenges"
  for ((i = 0; i < 3; i++)); do
    local auth=()
    [[ -z $token ]] || auth=(-H "Authorization: Bearer $token")
    code=$(curl -sS -X "$method" -o "$out" -D "$out.h" -w '%{http_code}' "${auth[@]}" "$url")
    [[ $code == 401 ]] || break
    response_header www-authenticate <"$out.h" >>"$out.challenges"
    scope=$(response_header www-authenticate <"$out.h" | sed -n 's/.*scope="\([^"]*\)".*/\1/p')
    token=$(token_for "$creds" "$scope")
  done
  printf '%s' "$code"
}

# ------------------------------------------------------------ 1. seeding ---
make_image "$SRC" app 16384
for repo in src/app public/a private/x; do
  assert_succeeds "admin pushes $repo:v1" sk_copy --dest-creds "admin:$PW" "oci:$SRC:app" "docker://$R/$repo:v1"
done

# ------------------------------------------------------------- 2. mount ---
LAYER=$(sk inspect --raw --tls-verify=false --creds "admin:$PW" "docker://$R/src/app:v1" | jq -er '.layers[0].digest')
code=$(follow "alice:$PW" POST "http://$R/v2/dst/raw/blobs/uploads/?mount=$LAYER&from=src/app" "$E2E_DIR/m1")
assert_eq "$code" "201" "a challenge-following client mounts from a repository it may pull"
assert_match "$(cat "$E2E_DIR/m1.challenges")" 'scope="repository:dst/raw:pull,push repository:src/app:pull"' \
  "the challenge names the target and the mount source"
code=$(follow "bob:$PW" POST "http://$R/v2/dst/raw2/blobs/uploads/?mount=$LAYER&from=src/app" "$E2E_DIR/m2")
assert_eq "$code" "202" "without pull on the source: an upload session, after one challenge"
assert_eq "$(wc -l <"$E2E_DIR/m2.challenges")" "1" "no challenge loop"

before=$(grep -c '"mount"\|target=mount' "$REG_LOG" || true)
assert_succeeds "skopeo copies src/app to dst/app as alice" \
  sk_copy --src-creds "alice:$PW" --dest-creds "alice:$PW" "docker://$R/src/app:v1" "docker://$R/dst/app:v1"
after=$(grep -c '"mount"\|target=mount' "$REG_LOG" || true)
assert_ne "$after" "$before" "skopeo's copy mounted blobs instead of uploading them"
assert_succeeds "alice reads dst/app:v1" sk inspect --raw --tls-verify=false --creds "alice:$PW" "docker://$R/dst/app:v1"

# ----------------------------------------------------------- 3. catalog ---
# search AUTHFILE|"" : the repositories podman search lists, sorted, one line
search() {
  local af=() out
  [[ -z $1 ]] || af=(--authfile "$1")
  out=$(pm cli search --tls-verify=false "${af[@]}" --format '{{.Name}}' "$R/") || return 1
  sed "s|^$R/||" <<<"$out" | sort | paste -sd' ' -
}
for u in admin alice bob carol; do
  assert_succeeds "podman login $u" pm cli login --tls-verify=false --authfile "$E2E_DIR/auth-$u.json" -u "$u" -p "$PW" "$R"
done
assert_eq "$(search "$E2E_DIR/auth-admin.json")" "dst/app private/x public/a src/app" \
  "podman search as admin (registry:catalog:*) lists every repository"
assert_eq "$(search "$E2E_DIR/auth-alice.json")" "dst/app src/app" "podman search as alice lists what she may pull"
assert_eq "$(search "$E2E_DIR/auth-bob.json")" "dst/app" "podman search as bob lists what he may pull"
assert_eq "$(search "$E2E_DIR/auth-carol.json")" "" "podman search as carol (no pull anywhere) lists nothing, without an error"
assert_eq "$(search "")" "public/a" "anonymous podman search lists only public repositories"
code=$(follow "" GET "http://$R/v2/_catalog?n=1" "$E2E_DIR/c1")
assert_eq "$code" "200" "anonymous catalog page -> 200"
assert_eq "$(jq -c .repositories "$E2E_DIR/c1")" '["public/a"]' "anonymous catalog page holds public/a"
assert_eq "$(response_header link <"$E2E_DIR/c1.h")" "" "no next page when nothing visible follows"
