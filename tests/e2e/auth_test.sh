#!/usr/bin/env bash
# Berth's built-in token auth, end to end with real clients (curl, skopeo,
# podman): the 401 challenge, login, per-repository ACL for push/pull/delete,
# anonymous access, the catalog, the token endpoint itself (GET and the
# OAuth2 POST grants, JWT contents and signature, refresh tokens), Bearer and
# Basic credentials on /v2/, live reload of users and ACL (file change and
# SIGHUP), the secure default (generated admin password) and the brute-force
# throttle (last: it locks 127.0.0.1 out for 5 minutes).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

SERVICE=registry.test
ADMIN_PW='admin-Pa55-e2e'
DEV_PW='dev-Pa55-e2e'
CAROL_PW='carol-Pa55-e2e'
ADMIN_HASH=$(berth_hash "$ADMIN_PW")
DEV_HASH=$(berth_hash "$DEV_PW")
CAROL_HASH=$(berth_hash "$CAROL_PW")
assert_match "$ADMIN_HASH" '^\$2[aby]\$05\$[./A-Za-z0-9]{53}$' "berth hash-password --cost 5 prints a bcrypt hash"
assert_ne "$DEV_HASH" "$ADMIN_HASH" "different passwords, different hashes"

TOKEN_YAML="auth:
  token: {service: \"$SERVICE\", issuer: \"berth\", expiration: 300}"
PUBLIC_ACL='  - {account: "", name: "public/*", actions: ["pull"]}'
E2E_BERTH_AUTH="$TOKEN_YAML
$(team_policy_yaml "$ADMIN_HASH" "$DEV_HASH" "$PUBLIC_ACL")"

DATA=$E2E_DIR/data
SRC=$E2E_DIR/src
OUT=$E2E_DIR/out
# The test hook logs each look of the config file watcher (src/util/test_hooks.h):
# section 8 waits for two of them instead of sleeping.
BERTH_TEST_HOOKS=config.watch.polled start_berth_auth "$DATA"
R=$REG
MAIN_PID=$REG_PID
MAIN_LOG=$REG_LOG
MAIN_CFG=$REG_CFG
MAIN_PORT=$REG_PORT
TOKEN_URL="http://$R/v2/token"
P=$E2E_POLICY

# ---------------------------------------------------------------- helpers ---

# req OUT CURL_ARGS...: print the HTTP status; body in OUT, headers in OUT.h
req() {
  local out=$1
  shift
  curl -sS -o "$out" -D "$out.h" -w '%{http_code}' "$@"
}

# token_get CREDS SCOPE...: GET /v2/token (CREDS user:password, "" anonymous)
token_get() {
  local creds=$1 s
  shift
  local args=(--get --data-urlencode "service=$SERVICE")
  for s in "$@"; do args+=(--data-urlencode "scope=$s"); done
  [[ -z $creds ]] || args+=(-u "$creds")
  curl -fsS "${args[@]}" "$TOKEN_URL"
}

# granted CREDS SCOPE: the actions a fresh token grants for SCOPE ("a,b")
granted() {
  local tok
  tok=$(token_get "$1" "$2" | jq -er .token) || return 1
  jwt_payload "$tok" | jq -r '[.access[]? | .actions[]] | join(",")'
}

# access_of TOKEN: the access claim as [{type,name,actions}] (compact)
access_of() {
  jwt_payload "$1" | jq -c '[.access[] | {type, name, actions}]'
}

# sk_digest_as CREDS REF: sha256 of the raw manifest, read with CREDS
sk_digest_as() {
  local raw
  raw=$(sk inspect --raw --tls-verify=false --creds "$1" "$2" | sha256sum) || return 1
  printf 'sha256:%s\n' "${raw%% *}"
}

# manifest_status CREDS REPO REF: status of HEAD manifest with Basic CREDS
manifest_status() {
  http_status HEAD "http://$R/v2/$2/manifests/$3" -I -u "$1" -H "Accept: $E2E_ACCEPT_ALL"
}

server_alive() {
  kill -0 "$MAIN_PID" 2>/dev/null
}

# ---------------------------------------------- 1. challenge and Basic ---
code=$(req "$E2E_DIR/r1" "http://$R/v2/")
assert_eq "$code" "401" "GET /v2/ without credentials -> 401"
assert_eq "$(response_header www-authenticate <"$E2E_DIR/r1.h")" \
  "Bearer realm=\"http://$R/v2/token\",service=\"$SERVICE\"" "401 carries the Bearer challenge (realm, service)"
assert_eq "$(jq -r '.errors[0].code' "$E2E_DIR/r1")" "UNAUTHORIZED" "401 body has the UNAUTHORIZED error code"
assert_eq "$(http_status GET "http://$R/v2/" -u "developer:$DEV_PW")" "200" "GET /v2/ with curl -u developer:<right password> -> 200"
assert_eq "$(http_status GET "http://$R/v2/" -u "developer:wrong")" "401" "GET /v2/ with a wrong password -> 401"
assert_eq "$(http_status GET "http://$R/v2/" -u "nobody:$DEV_PW")" "401" "GET /v2/ for an unknown user -> 401"
assert_eq "$(http_status GET "http://$R/v2/" -u "admin:$ADMIN_PW")" "200" "GET /v2/ as admin -> 200"

# ------------------------------------------------------------- 2. login ---
AF_SK=$E2E_DIR/auth-skopeo.json
AF_SK_BAD=$E2E_DIR/auth-skopeo-bad.json
assert_succeeds "skopeo login developer" sk login --tls-verify=false --authfile "$AF_SK" -u developer -p "$DEV_PW" "$R"
assert_eq "$(jq -r --arg r "$R" '.auths[$r].auth' "$AF_SK" | base64 -d)" "developer:$DEV_PW" "skopeo login stored the credentials"
assert_fails_with "skopeo login with a wrong password fails" 'invalid username/password|unauthorized|401' \
  sk login --tls-verify=false --authfile "$AF_SK_BAD" -u developer -p wrong "$R"
assert_eq "$( [[ -s $AF_SK_BAD ]] && jq -r --arg r "$R" '.auths[$r] // "none"' "$AF_SK_BAD" || echo none)" "none" \
  "failed skopeo login stored nothing"
assert_fails "skopeo login of an unknown user fails" \
  sk login --tls-verify=false --authfile "$AF_SK_BAD" -u mallory -p "$DEV_PW" "$R"

AF_PM_ADMIN=$E2E_DIR/auth-podman-admin.json
AF_PM_DEV=$E2E_DIR/auth-podman-dev.json
AF_PM_BAD=$E2E_DIR/auth-podman-bad.json
assert_succeeds "podman login admin" pm cli login --tls-verify=false --authfile "$AF_PM_ADMIN" -u admin -p "$ADMIN_PW" "$R"
assert_eq "$(jq -r --arg r "$R" '.auths[$r].auth' "$AF_PM_ADMIN" | base64 -d)" "admin:$ADMIN_PW" "podman login stored the credentials"
assert_succeeds "podman login developer (--password-stdin)" \
  pm cli login --tls-verify=false --authfile "$AF_PM_DEV" -u developer --password-stdin "$R" <<<"$DEV_PW"
assert_fails_with "podman login with a wrong password fails" 'invalid username/password|unauthorized|401' \
  pm cli login --tls-verify=false --authfile "$AF_PM_BAD" -u admin -p wrong "$R"
assert_eq "$( [[ -s $AF_PM_BAD ]] && jq -r --arg r "$R" '.auths[$r] // "none"' "$AF_PM_BAD" || echo none)" "none" \
  "failed podman login stored nothing"

# ------------------------------------------------ 3. push, pull, delete ---
make_image "$SRC" app 16384
make_image "$SRC" web 8192
make_image "$SRC" pub 4096
APP=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" app)")
WEB=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" web)")
PUB=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" pub)")

assert_succeeds "developer pushes myorg/backend-api:v1 (skopeo, credentials from skopeo login)" \
  sk_copy --dest-authfile "$AF_SK" "oci:$SRC:app" "docker://$R/myorg/backend-api:v1"
assert_eq "$(sk_digest_as "developer:$DEV_PW" "docker://$R/myorg/backend-api:v1")" "$APP" "developer reads back the pushed manifest"
assert_fails_with "developer push to myorg/frontend fails with 'denied'" 'denied' \
  sk_copy --dest-creds "developer:$DEV_PW" "oci:$SRC:web" "docker://$R/myorg/frontend:v1"
assert_eq "$(manifest_status "admin:$ADMIN_PW" myorg/frontend v1)" "404" "nothing was written to myorg/frontend"
assert_succeeds "admin pushes myorg/frontend:v1 (--dest-creds)" \
  sk_copy --dest-creds "admin:$ADMIN_PW" "oci:$SRC:web" "docker://$R/myorg/frontend:v1"
assert_succeeds "developer pulls myorg/frontend:v1" \
  sk_copy --src-creds "developer:$DEV_PW" "docker://$R/myorg/frontend:v1" "oci:$OUT:web"
assert_eq "$(sk_digest "oci:$OUT:web")" "$WEB" "pulled myorg/frontend manifest digest identical"
check_layout_blobs "developer's pull of myorg/frontend" "$SRC" "$OUT" "$WEB"

PULL_ID=$(pm cli pull --signature-policy "$P" --tls-verify=false --quiet --authfile "$AF_PM_DEV" "$R/myorg/backend-api:v1") ||
  fail "podman pull myorg/backend-api:v1 with the developer's podman login failed"
assert_eq "$(pm cli image inspect --format '{{.Digest}}' "$PULL_ID")" "$APP" "podman (developer login) pulled myorg/backend-api:v1"

assert_fails_with "developer cannot delete myorg/frontend:v1 (pull only)" 'denied|DENIED' \
  sk delete --tls-verify=false --creds "developer:$DEV_PW" "docker://$R/myorg/frontend:v1"
assert_fails_with "developer cannot delete myorg/backend-api:v1 (pull+push, no delete)" 'denied|DENIED' \
  sk delete --tls-verify=false --creds "developer:$DEV_PW" "docker://$R/myorg/backend-api:v1"
assert_eq "$(manifest_status "admin:$ADMIN_PW" myorg/frontend v1)" "200" "myorg/frontend:v1 survives the refused delete"
assert_eq "$(manifest_status "admin:$ADMIN_PW" myorg/backend-api v1)" "200" "myorg/backend-api:v1 survives the refused delete"
assert_succeeds "admin deletes myorg/frontend:v1 (skopeo delete)" \
  sk delete --tls-verify=false --creds "admin:$ADMIN_PW" "docker://$R/myorg/frontend:v1"
assert_eq "$(manifest_status "admin:$ADMIN_PW" myorg/frontend "$WEB")" "404" "deleted manifest is gone (HEAD by digest -> 404)"
assert_eq "$(manifest_status "admin:$ADMIN_PW" myorg/frontend v1)" "404" "deleted manifest's tag is gone"
assert_fails "skopeo inspect of the deleted manifest fails" sk_digest_as "admin:$ADMIN_PW" "docker://$R/myorg/frontend:v1"

# ---------------------------------------------------------- 4. anonymous ---
assert_fails_with "anonymous pull of myorg/backend-api fails with 'denied'" 'denied' \
  sk_copy --src-no-creds "docker://$R/myorg/backend-api:v1" "oci:$OUT:anon"
assert_succeeds "admin pushes public/x:v1" \
  sk_copy --dest-creds "admin:$ADMIN_PW" "oci:$SRC:pub" "docker://$R/public/x:v1"
assert_succeeds "anonymous pull of public/x:v1 works (account \"\" entry)" \
  sk_copy --src-no-creds "docker://$R/public/x:v1" "oci:$OUT:pub"
assert_eq "$(sk_digest "oci:$OUT:pub")" "$PUB" "anonymously pulled public/x manifest digest identical"
assert_fails_with "anonymous push to public/x fails with 'denied'" 'denied' \
  sk_copy --dest-no-creds "oci:$SRC:app" "docker://$R/public/x:v2"
assert_eq "$(manifest_status "admin:$ADMIN_PW" public/x v2)" "404" "the anonymous push wrote no manifest"
assert_eq "$(granted "" "repository:public/x:pull,push")" "pull" "anonymous token for public/x: pull only"
assert_eq "$(granted "" "repository:myorg/backend-api:pull")" "" "anonymous token for myorg/backend-api: nothing"

# ------------------------------------------------------------ 5. catalog ---
code=$(req "$E2E_DIR/cat" -u "admin:$ADMIN_PW" "http://$R/v2/_catalog")
assert_eq "$code" "200" "GET /v2/_catalog as admin -> 200"
assert_eq "$(jq -c '[.repositories[] | select(. == "myorg/backend-api" or . == "public/x")]' "$E2E_DIR/cat")" \
  '["myorg/backend-api","public/x"]' "admin's catalog lists the repositories"
# Everyone else sees the repositories they may pull (issue #13).
code=$(req "$E2E_DIR/cat-dev" -u "developer:$DEV_PW" "http://$R/v2/_catalog")
assert_eq "$code" "200" "GET /v2/_catalog as developer -> 200"
assert_eq "$(jq -c '[.repositories[] | select(. == "myorg/backend-api" or . == "public/x")]' "$E2E_DIR/cat-dev")" \
  '["myorg/backend-api"]' "developer's catalog lists only what the developer may pull"
code=$(req "$E2E_DIR/cat-dev2" -H "Authorization: Bearer $(token_get "developer:$DEV_PW" "repository:myorg/frontend:pull" | jq -er .token)" \
  "http://$R/v2/_catalog")
assert_eq "$code" "401" "GET /v2/_catalog with a token that never asked for the catalog -> 401"
assert_match "$(response_header www-authenticate <"$E2E_DIR/cat-dev2.h")" 'scope="registry:catalog:\*"' \
  "the challenge names the scope registry:catalog:*"
assert_eq "$(grep -c backend-api "$E2E_DIR/cat-dev2" || true)" "0" "the challenge leaks no repository name"
assert_eq "$(granted "developer:$DEV_PW" "registry:catalog:*")" "" "developer's token for registry:catalog:* grants nothing"
assert_eq "$(granted "admin:$ADMIN_PW" "registry:catalog:*")" "*" "admin's token for registry:catalog:* grants *"

SEARCH=$(pm cli search --tls-verify=false --authfile "$AF_PM_ADMIN" --format '{{.Name}}' "$R/") ||
  fail "podman search as admin failed"
assert_eq "$(grep -cE "^$R/(myorg/backend-api|public/x)\$" <<<"$SEARCH" || true)" "2" "podman search as admin lists the repositories"
SEARCH=$(pm cli search --tls-verify=false --authfile "$AF_PM_DEV" --format '{{.Name}}' "$R/") ||
  fail "podman search as developer failed"
assert_eq "$(grep -cE "^$R/myorg/backend-api\$" <<<"$SEARCH" || true)" "1" "podman search as developer lists myorg/backend-api"
assert_eq "$(grep -c 'public/x' <<<"$SEARCH" || true)" "0" "podman search as developer hides public/x (anonymous-only)"

# ------------------------------------------------------ 6. token endpoint ---
code=$(req "$E2E_DIR/t1" -u "developer:$DEV_PW" --get --data-urlencode "service=$SERVICE" \
  --data-urlencode "scope=repository:myorg/frontend:pull,push" --data-urlencode "scope=repository:other/repo:pull" "$TOKEN_URL")
assert_eq "$code" "200" "GET /v2/token with two scope parameters -> 200"
T1=$(jq -r .token "$E2E_DIR/t1")
assert_match "$T1" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "token is a compact JWS"
assert_eq "$(jq -r .access_token "$E2E_DIR/t1")" "$T1" "access_token equals token"
assert_eq "$(jq -r .expires_in "$E2E_DIR/t1")" "300" "expires_in is auth.token.expiration"
ISSUED=$(jq -r .issued_at "$E2E_DIR/t1")
assert_match "$ISSUED" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' "issued_at is RFC 3339"
ISSUED_S=$(date -d "$ISSUED" +%s)
NOW=$(date +%s)
((ISSUED_S <= NOW + 5 && ISSUED_S >= NOW - 60)) || fail "issued_at $ISSUED is not now ($(date -u +%FT%TZ))"
ok "issued_at is the current time"
assert_eq "$(jq -r 'has("refresh_token")' "$E2E_DIR/t1")" "false" "no refresh_token unless asked for"
assert_eq "$(response_header cache-control <"$E2E_DIR/t1.h")" "no-store" "token response is Cache-Control: no-store"

HDR=$(jwt_header "$T1")
PAY=$(jwt_payload "$T1")
assert_eq "$(jq -r .alg <<<"$HDR")" "RS256" "JWT header alg RS256"
KID=$(jq -r .kid <<<"$HDR")
assert_match "$KID" '^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$' "JWT header kid has libtrust's format"
assert_eq "$(jq -r '.x5c | length' <<<"$HDR")" "1" "JWT header x5c holds one certificate"
assert_eq "$(jq -r '.x5c[0]' <<<"$HDR")" "$(openssl x509 -in "$DATA/token-key.crt" -outform DER | base64 -w0)" \
  "x5c[0] is the certificate in DIR/token-key.crt"
openssl x509 -in "$DATA/token-key.crt" -pubkey -noout >"$E2E_DIR/token-pub.pem"
LIBTRUST_KID=$(openssl pkey -pubin -in "$E2E_DIR/token-pub.pem" -outform DER | openssl dgst -sha256 -binary |
  head -c 30 | base32 | sed -E 's/(....)/\1:/g; s/:$//')
assert_eq "$KID" "$LIBTRUST_KID" "kid is the libtrust key id of the certificate's public key"
printf '%s' "${T1##*.}" | b64url_decode >"$E2E_DIR/t1.sig"
assert_succeeds "JWT signature verifies (openssl, RS256, key from the certificate)" \
  bash -c 'printf "%s" "$1" | openssl dgst -sha256 -verify "$2" -signature "$3"' _ "${T1%.*}" "$E2E_DIR/token-pub.pem" "$E2E_DIR/t1.sig"
assert_eq "$(jq -r '[.iss, .sub, .aud] | join(" ")' <<<"$PAY")" "berth developer $SERVICE" "claims iss, sub, aud"
assert_eq "$(jq -r '.exp - .iat' <<<"$PAY")" "300" "exp - iat = expiration"
assert_eq "$(jq -r .iat <<<"$PAY")" "$ISSUED_S" "iat equals issued_at"
assert_eq "$(jq -c '[.access[] | select(.name == "myorg/frontend") | {type, name, actions}]' <<<"$PAY")" \
  '[{"type":"repository","name":"myorg/frontend","actions":["pull"]}]' "pull,push asked on myorg/frontend: only pull granted"
assert_eq "$(jq -c '[.access[] | select(.name == "other/repo") | .actions[]]' <<<"$PAY")" '[]' \
  "pull asked on other/repo: nothing granted"
assert_eq "$(granted "developer:$DEV_PW" "repository:myorg/backend-api:pull,push,delete")" "pull,push" \
  "pull,push,delete asked on myorg/backend-api: pull,push granted"
assert_eq "$(http_status GET "$TOKEN_URL?service=$SERVICE&scope=repository:myorg/frontend:pull" -u "developer:wrong")" "401" \
  "GET /v2/token with a wrong password -> 401"

# docker login: offline_token=true&client_id= asks for a refresh token
code=$(req "$E2E_DIR/t2" -u "developer:$DEV_PW" --get --data-urlencode "service=$SERVICE" \
  --data-urlencode "offline_token=true" --data-urlencode "client_id=e2e-docker" "$TOKEN_URL")
assert_eq "$code" "200" "GET /v2/token?offline_token=true&client_id=x -> 200"
RT_GET=$(jq -r '.refresh_token // empty' "$E2E_DIR/t2")
assert_ne "$RT_GET" "" "offline_token=true returns a refresh_token"
assert_ne "$RT_GET" "$(jq -r .token "$E2E_DIR/t2")" "the refresh token is not the access token"

# containerd: POST grant_type=password with access_type=offline (form
# encoded the way Go's url.Values.Encode does it)
# post_token OUT KEY=VALUE...: POST /v2/token with a urlencoded form; prints the status
post_token() {
  local out=$1
  shift
  req "$out" -X POST -H "Content-Type: application/x-www-form-urlencoded;charset=utf-8" \
    --data-binary "$(form_encode "$@")" "$TOKEN_URL"
}
code=$(post_token "$E2E_DIR/t3" grant_type=password username=developer "password=$DEV_PW" "service=$SERVICE" \
  "scope=repository:myorg/backend-api:pull,push" client_id=containerd access_type=offline)
assert_eq "$code" "200" "POST /v2/token grant_type=password -> 200"
T3=$(jq -r '.access_token // empty' "$E2E_DIR/t3")
RT=$(jq -r '.refresh_token // empty' "$E2E_DIR/t3")
assert_ne "$T3" "" "password grant returns an access_token"
assert_ne "$RT" "" "password grant with access_type=offline returns a refresh_token"
assert_eq "$(access_of "$T3")" '[{"type":"repository","name":"myorg/backend-api","actions":["pull","push"]}]' \
  "password grant: the scope is granted per the ACL"
assert_eq "$(jq -r .scope "$E2E_DIR/t3")" "repository:myorg/backend-api:pull,push" "password grant answers the granted scope"
code=$(req "$E2E_DIR/t3b" -X POST --data-binary "grant_type=password&username=developer&password=$DEV_PW&service=$SERVICE&scope=repository%3Amyorg%2Fbackend-api%3Apull%2Cpush%20repository%3Amyorg%2Ffrontend%3Apull%2Cpush" "$TOKEN_URL")
assert_eq "$code" "200" "password grant with two scopes separated by %20 -> 200"
assert_eq "$(access_of "$(jq -r .access_token "$E2E_DIR/t3b")")" \
  '[{"type":"repository","name":"myorg/backend-api","actions":["pull","push"]},{"type":"repository","name":"myorg/frontend","actions":["pull"]}]' \
  "password grant: %20-separated scopes each granted per the ACL"
# containerd joins several scopes with ' ', which url.Values.Encode sends as '+'
code=$(post_token "$E2E_DIR/t3c" grant_type=password username=developer "password=$DEV_PW" "service=$SERVICE" \
  "scope=repository:myorg/backend-api:pull,push repository:myorg/frontend:pull,push" client_id=containerd access_type=offline)
assert_eq "$code" "200" "password grant with two scopes, Go form encoding -> 200"
expect_eq "$(access_of "$(jq -r .access_token "$E2E_DIR/t3c")")" \
  '[{"type":"repository","name":"myorg/backend-api","actions":["pull","push"]},{"type":"repository","name":"myorg/frontend","actions":["pull"]}]' \
  "password grant: '+'-separated scopes (a space in a form body) each granted per the ACL"
code=$(post_token "$E2E_DIR/t3bad" grant_type=password username=developer password=wrong "service=$SERVICE" client_id=containerd)
assert_eq "$code" "401" "POST grant_type=password with a wrong password -> 401"
assert_eq "$(jq -r .error "$E2E_DIR/t3bad")" "invalid_grant" "... with OAuth2 error invalid_grant"

# docker: POST grant_type=refresh_token
code=$(post_token "$E2E_DIR/t4" grant_type=refresh_token "refresh_token=$RT" "service=$SERVICE" \
  "scope=repository:myorg/backend-api:pull" client_id=docker)
assert_eq "$code" "200" "POST /v2/token grant_type=refresh_token -> 200"
T4=$(jq -r '.access_token // empty' "$E2E_DIR/t4")
assert_ne "$T4" "" "refresh grant returns a new access token"
assert_ne "$T4" "$T3" "the new access token differs from the first"
assert_eq "$(jwt_payload "$T4" | jq -r .sub)" "developer" "refreshed token belongs to the refresh token's user"
assert_eq "$(access_of "$T4")" '[{"type":"repository","name":"myorg/backend-api","actions":["pull"]}]' "refreshed token holds the scope asked for"
code=$(post_token "$E2E_DIR/t4get" grant_type=refresh_token "refresh_token=$RT_GET" "service=$SERVICE" \
  "scope=repository:myorg/frontend:pull" client_id=docker)
assert_eq "$code" "200" "the refresh token from GET offline_token=true also works"
code=$(post_token "$E2E_DIR/t5" grant_type=refresh_token "refresh_token=garbage.not.ajwt" "service=$SERVICE" client_id=docker)
assert_eq "$code" "401" "POST grant_type=refresh_token with a garbage refresh token -> 401"
assert_eq "$(jq -r .error "$E2E_DIR/t5")" "invalid_grant" "... with OAuth2 error invalid_grant"
code=$(post_token "$E2E_DIR/t6" grant_type=refresh_token "refresh_token=$T3" "service=$SERVICE" client_id=docker)
assert_eq "$code" "401" "an access token is not accepted as a refresh token"

# the registry side of the tokens
BEARER_URL="http://$R/v2/myorg/backend-api/manifests/v1"
code=$(req "$E2E_DIR/b1" -H "Authorization: Bearer $T4" -H "Accept: $E2E_ACCEPT_ALL" "$BEARER_URL")
assert_eq "$code" "200" "GET manifest with the issued access token (Authorization: Bearer) -> 200"
assert_eq "$(sha256_file "$E2E_DIR/b1")" "$APP" "... and returns the pushed manifest"
assert_succeeds "skopeo pulls with the token (--src-registry-token)" \
  sk_copy --src-registry-token "$T4" "docker://$R/myorg/backend-api:v1" "oci:$OUT:bytoken"
PAYLOAD=$(cut -d. -f2 <<<"$T4")
c=${PAYLOAD:10:1}
[[ $c == A ]] && r=B || r=A
TAMPERED="$(cut -d. -f1 <<<"$T4").${PAYLOAD:0:10}$r${PAYLOAD:11}.$(cut -d. -f3 <<<"$T4")"
assert_ne "$TAMPERED" "$T4" "tampered token differs from the original"
code=$(req "$E2E_DIR/b2" -H "Authorization: Bearer $TAMPERED" -H "Accept: $E2E_ACCEPT_ALL" "$BEARER_URL")
assert_eq "$code" "401" "a tampered token (one payload character flipped) -> 401"
assert_match "$(response_header www-authenticate <"$E2E_DIR/b2.h")" 'error="invalid_token"' "... with error=\"invalid_token\" in WWW-Authenticate"
FORGED="$(printf '{"alg":"none","typ":"JWT"}' | base64 -w0 | tr '+/' '-_' | tr -d =).$(jwt_payload "$T4" |
  jq -c '.access = [{type: "repository", name: "myorg/backend-api", actions: ["*"]}]' | base64 -w0 | tr '+/' '-_' | tr -d =)."
assert_eq "$(http_status DELETE "http://$R/v2/myorg/backend-api/manifests/$APP" -H "Authorization: Bearer $FORGED")" "401" \
  "an unsigned alg=none token is refused"
for url in "http://$R/v2/" "$BEARER_URL"; do
  code=$(req "$E2E_DIR/b3" -H "Authorization: Bearer $RT" -H "Accept: $E2E_ACCEPT_ALL" "$url")
  assert_eq "$code" "401" "the refresh token is refused as a Bearer token on ${url#http://"$R"}"
done
assert_match "$(response_header www-authenticate <"$E2E_DIR/b3.h")" 'error="invalid_token"' "... as an invalid_token"
code=$(req "$E2E_DIR/b4" -X POST -H "Authorization: Bearer $T4" "http://$R/v2/myorg/backend-api/blobs/uploads/")
assert_eq "$code" "401" "a pull-only token cannot start an upload"
assert_eq "$(response_header www-authenticate <"$E2E_DIR/b4.h")" \
  "Bearer realm=\"http://$R/v2/token\",service=\"$SERVICE\",scope=\"repository:myorg/backend-api:pull,push\",error=\"insufficient_scope\"" \
  "... challenge asks for pull,push with error=\"insufficient_scope\""
assert_eq "$(http_status GET "http://$R/v2/public/x/manifests/v1" -H "Authorization: Bearer $T4" -H "Accept: $E2E_ACCEPT_ALL")" "401" \
  "a token for myorg/backend-api does not open public/x"
assert_eq "$(http_status POST "http://$R/v2/myorg/backend-api/blobs/uploads/" -H "Authorization: Bearer $T3")" "202" \
  "a pull,push token starts an upload (202)"

# ---------------------------------------------- 10. Basic on /v2/ routes ---
code=$(req "$E2E_DIR/bt" -u "developer:$DEV_PW" "http://$R/v2/myorg/backend-api/tags/list")
assert_eq "$code" "200" "curl -u developer GET /v2/myorg/backend-api/tags/list -> 200"
assert_eq "$(jq -c . "$E2E_DIR/bt")" '{"name":"myorg/backend-api","tags":["v1"]}' "... lists the tag"
code=$(req "$E2E_DIR/bp" -u "developer:$DEV_PW" -X POST "http://$R/v2/myorg/frontend/blobs/uploads/")
assert_eq "$code" "401" "curl -u developer POST /v2/myorg/frontend/blobs/uploads/ -> 401"
assert_eq "$(jq -r '.errors[0].code' "$E2E_DIR/bp")" "DENIED" "... with error code DENIED"
assert_eq "$(http_status PUT "http://$R/v2/myorg/frontend/manifests/v9" -u "developer:$DEV_PW" \
  -H "Content-Type: application/vnd.oci.image.manifest.v1+json" --data-binary @"$(blob_path "$SRC" "$WEB")")" "401" \
  "curl -u developer PUT manifest to myorg/frontend -> 401"
assert_eq "$(http_status POST "http://$R/v2/myorg/backend-api/blobs/uploads/" -u "developer:$DEV_PW")" "202" \
  "curl -u developer POST upload to myorg/backend-api -> 202"
assert_eq "$(http_status GET "http://$R/v2/myorg/backend-api/tags/list" -u "developer:wrong")" "401" \
  "tags/list with a wrong password -> 401"
assert_eq "$(http_status GET "http://$R/v2/public/x/tags/list" -u "developer:$DEV_PW")" "401" \
  "developer (no entry for public/x; anonymous entries never match users) -> 401"

# ------------------------------------------------------------ 8. reload ---
CAROL_ACL_PULL='  - account: "carol"
    name: "team/carol-*"
    actions: ["pull"]'
CAROL_ACL_PUSH=${CAROL_ACL_PULL/\[\"pull\"\]/[\"push\"]}
CAROL_USER="  carol:     {password: \"$CAROL_HASH\"}"
# policy_with_carol ACL_ENTRY: the auth YAML with user carol and her entry
policy_with_carol() {
  printf '%s\n' "$TOKEN_YAML"
  team_policy_yaml "$ADMIN_HASH" "$DEV_HASH" "$PUBLIC_ACL
$1" | awk -v u="$CAROL_USER" '{ print } /^users:/ { print u }'
}
reloads() { count_matches "$MAIN_LOG" 'users and acl reloaded'; }
rejects() { count_matches "$MAIN_LOG" 'config reload rejected'; }
polls() { count_matches "$MAIN_LOG" 'berth test hook: config.watch.polled reached'; }
more_polls_than() { (($(polls) > $1)); }
more_reloads_than() { (($(reloads) > $1)); }
more_rejects_than() { (($(rejects) > $1)); }
carol_scope="repository:team/carol-app:pull,push"

assert_eq "$(http_status GET "$TOKEN_URL?service=$SERVICE&scope=$carol_scope" -u "carol:$CAROL_PW")" "401" "carol is unknown before the reload"
n=$(reloads)
E2E_BERTH_AUTH=$(policy_with_carol "$CAROL_ACL_PULL")
write_berth_auth_config "$MAIN_CFG" "$DATA" "$MAIN_PORT"
"$BERTH_BIN" check-config "$MAIN_CFG" >/dev/null || fail "the new config with carol does not pass berth check-config"
t0=$SECONDS
wait_until 6 more_reloads_than "$n" ||
  fail "no 'users and acl reloaded' in the log within 6 s of changing the config file"
ok "config file change reloaded users and acl ($((SECONDS - t0)) s)"
assert_eq "$(granted "carol:$CAROL_PW" "$carol_scope")" "pull" "after the reload carol gets a token with pull"
assert_eq "$(granted "developer:$DEV_PW" "repository:myorg/backend-api:pull,push")" "pull,push" "developer unaffected by the reload"

n=$(rejects)
m=$(reloads)
GOOD_CFG=$(cat "$MAIN_CFG")
# shellcheck disable=SC2001 # a per-line anchored edit of a multi-line value
sed 's/^  carol: .*/  carol:     {password: "not-a-bcrypt-hash"}/' <<<"$GOOD_CFG" >"$MAIN_CFG.tmp"
mv "$MAIN_CFG.tmp" "$MAIN_CFG"
if "$BERTH_BIN" check-config "$MAIN_CFG" >/dev/null 2>&1; then fail "the broken config passes berth check-config"; fi
wait_until 6 more_rejects_than "$n" || fail "no 'config reload rejected' in the log within 6 s of writing an invalid config"
ok "an invalid config is rejected and logged"
server_alive || fail "the server died after an invalid config"
ok "the server keeps running with an invalid config file"
assert_eq "$(reloads)" "$m" "the invalid config was not applied"
assert_eq "$(granted "developer:$DEV_PW" "repository:myorg/frontend:pull,push")" "pull" "old users and ACL still work (developer)"
assert_eq "$(granted "carol:$CAROL_PW" "$carol_scope")" "pull" "old users and ACL still work (carol)"

# back to the good file; then change it in place with the same size and mtime
# (invisible to the watcher), wait until the watcher has looked at it (two
# looks logged after the edit: the first may have begun before it), check that
# nothing changed, then SIGHUP.
n=$(reloads)
printf '%s\n' "$GOOD_CFG" >"$MAIN_CFG.tmp"
mv "$MAIN_CFG.tmp" "$MAIN_CFG"
wait_until 6 more_reloads_than "$n" || fail "the restored config was not reloaded within 6 s"
touch -r "$MAIN_CFG" "$E2E_DIR/cfg-mtime"
E2E_BERTH_AUTH=$(policy_with_carol "$CAROL_ACL_PUSH")
write_berth_auth_config "$E2E_DIR/cfg-push.yml" "$DATA" "$MAIN_PORT"
assert_eq "$(stat -c %s "$E2E_DIR/cfg-push.yml")" "$(stat -c %s "$MAIN_CFG")" "the SIGHUP edit keeps the file size"
dd if="$E2E_DIR/cfg-push.yml" of="$MAIN_CFG" conv=notrunc status=none
touch -r "$E2E_DIR/cfg-mtime" "$MAIN_CFG"
n=$(reloads)
p=$(polls)
wait_until 10 more_polls_than $((p + 1)) || fail "the config file watcher did not look at the file twice within 10 s"
assert_eq "$(reloads)" "$n" "same inode, size and mtime: the file watcher looked and did not reload"
assert_eq "$(granted "carol:$CAROL_PW" "$carol_scope")" "pull" "carol still has pull only before SIGHUP"
kill -HUP "$MAIN_PID"
wait_until 3 more_reloads_than "$n" || fail "no reload within 3 s of SIGHUP"
ok "SIGHUP reloads users and acl"
server_alive || fail "the server died on SIGHUP"
assert_eq "$(granted "carol:$CAROL_PW" "$carol_scope")" "push" "after SIGHUP carol's entry grants push instead of pull"

# ---------------------------------------------------- 9. secure default ---
SAVED_AUTH=$E2E_BERTH_AUTH
E2E_BERTH_AUTH=""
BOOT=$E2E_DIR/data-default
start_berth_auth "$BOOT"
B=$REG
BOOT_LOG=$REG_LOG
BOOT_PW=$(awk 'found && NF { print $1; exit } /Its password/ { found = 1 }' "$BOOT_LOG")
assert_match "$BOOT_PW" '^[A-Za-z0-9_-]{20,}$' "first start without users/acl prints a generated admin password"
assert_eq "$(grep -cF -- "$BOOT_PW" "$BOOT_LOG")" "1" "the password appears exactly once in the log"
[[ -f $BOOT/berth-admin.htpasswd ]] || fail "$BOOT/berth-admin.htpasswd was not created"
assert_eq "$(stat -c %a "$BOOT/berth-admin.htpasswd")" "600" "berth-admin.htpasswd has mode 600"
assert_match "$(cat "$BOOT/berth-admin.htpasswd")" '^admin:\$2[aby]\$' "berth-admin.htpasswd holds admin's bcrypt hash"
assert_eq "$(grep -cF -- "$BOOT_PW" "$BOOT/berth-admin.htpasswd" || true)" "0" "the plain password is not stored"
assert_eq "$(http_status GET "http://$B/v2/")" "401" "secure default: anonymous GET /v2/ -> 401"
assert_fails_with "secure default: anonymous push fails" 'denied|unauthorized' \
  sk_copy --dest-no-creds "oci:$SRC:pub" "docker://$B/boot/app:v1"
BOOT_ANON=$(curl -fsS --get --data-urlencode "service=berth" --data-urlencode "scope=repository:boot/app:pull,push" \
  "http://$B/v2/token" | jq -r .token) || fail "anonymous token request to the secure-default server failed"
assert_eq "$(jwt_payload "$BOOT_ANON" | jq -c '[.access[].actions[]]')" '[]' "secure default: anonymous tokens grant nothing"
assert_eq "$(http_status GET "http://$B/v2/" -u "admin:wrong")" "401" "secure default: admin with a wrong password -> 401"
assert_succeeds "secure default: admin pushes with the generated password" \
  sk_copy --dest-creds "admin:$BOOT_PW" "oci:$SRC:pub" "docker://$B/boot/app:v1"
BOOT_TOKEN=$(curl -fsS -u "admin:$BOOT_PW" "http://$B/v2/token?service=berth&scope=repository:boot/app:pull" | jq -r .token)
stop_registry
start_berth_auth "$BOOT"
B=$REG
assert_eq "$(grep -c 'Its password' "$REG_LOG" || true)" "0" "restart: no new password printed"
assert_eq "$(http_status GET "http://$B/v2/" -u "admin:$BOOT_PW")" "200" "restart: the old admin password still works"
assert_eq "$(sk_digest_as "admin:$BOOT_PW" "docker://$B/boot/app:v1")" "$PUB" "restart: admin reads the image pushed before"
assert_eq "$(http_status GET "http://$B/v2/boot/app/manifests/v1" -H "Authorization: Bearer $BOOT_TOKEN" -H "Accept: $E2E_ACCEPT_ALL")" "200" \
  "restart: a token issued before the restart is still accepted (key kept in DIR/token-key.pem)"
stop_registry
E2E_BERTH_AUTH=$SAVED_AUTH
REG=$R
REG_PID=$MAIN_PID
REG_LOG=$MAIN_LOG

# ---------------------------------------------- 7. brute-force throttle ---
# Last: afterwards 127.0.0.1 and developer are locked out for 5 minutes.
assert_eq "$(http_status GET "http://$R/v2/" -u "admin:$ADMIN_PW")" "200" "admin login resets the address's failure count"
assert_eq "$(http_status GET "http://$R/v2/" -u "developer:$DEV_PW")" "200" "developer login resets the user's failure count"
codes=()
times=()
for i in $(seq 1 11); do
  read -r c t < <(curl -sS -o "$E2E_DIR/bf.$i" -D "$E2E_DIR/bf.$i.h" -w '%{http_code} %{time_total}\n' \
    -u "developer:wrong-$i" "$TOKEN_URL?service=$SERVICE&scope=repository:myorg/backend-api:pull")
  codes+=("$c")
  times+=("$t")
done
note "brute force: statuses ${codes[*]}; seconds ${times[*]}"
assert_eq "${codes[*]:0:10}" "401 401 401 401 401 401 401 401 401 401" "wrong passwords 1-10 -> 401"
assert_eq "${codes[10]}" "429" "wrong password 11 -> 429"
assert_eq "$(jq -r '.errors[0].code' "$E2E_DIR/bf.11")" "TOOMANYREQUESTS" "429 body code TOOMANYREQUESTS"
assert_match "$(response_header retry-after <"$E2E_DIR/bf.11.h")" '^[0-9]+$' "429 carries Retry-After"
awk -v t="${times[9]}" 'BEGIN { exit !(t >= 1.0) }' || fail "attempt 10 took ${times[9]} s, expected the growing delay (>= 1.25 s)"
ok "failures after the 5th are delayed more and more (attempt 10: ${times[9]} s)"
assert_eq "$(http_status GET "$TOKEN_URL?service=$SERVICE&scope=repository:myorg/backend-api:pull" -u "developer:$DEV_PW")" "429" \
  "the right password is refused too while locked out (token endpoint)"
assert_eq "$(http_status GET "http://$R/v2/myorg/backend-api/tags/list" -u "developer:$DEV_PW")" "429" \
  "... and on /v2/ with Basic credentials"
assert_eq "$(http_status GET "http://$R/v2/" -u "admin:$ADMIN_PW")" "429" "another user from the same address is refused (per address)"
if [[ ${E2E_TRACE:-0} == 1 ]]; then
  skip_part "E2E_TRACE=1: the proxy hides the client address, per-user vs per-address checks not run"
elif curl -sS -o /dev/null --interface 127.0.0.2 "http://$R/v2/" 2>/dev/null; then
  assert_eq "$(http_status GET "http://$R/v2/" --interface 127.0.0.2 -u "admin:$ADMIN_PW")" "200" \
    "another user from another address (127.0.0.2) is not affected"
  assert_eq "$(http_status GET "http://$R/v2/" --interface 127.0.0.2 -u "developer:$DEV_PW")" "429" \
    "the locked user is refused from another address too (per user)"
else
  skip_part "cannot use 127.0.0.2 as a source address: per-user vs per-address checks not run"
fi
assert_eq "$(granted "" "repository:public/x:pull")" "pull" "anonymous tokens are still issued during the lock-out"
server_alive || fail "the server died"

stop_registry
ok "registry stopped cleanly"
soft_checks_done
