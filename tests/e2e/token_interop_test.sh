#!/usr/bin/env bash
# Berth as the token server of an unmodified CNCF distribution
# (Debian's docker-registry): distribution trusts DIR/token-key.crt
# (auth.token.rootcertbundle) and sends clients to Berth's /v2/token; skopeo
# pushes and pulls with Berth's users and ACL.  Once with an RSA key (RS256)
# and once with auth.token.key_type: ec (ES256).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl
command -v "$DISTRIBUTION_BIN" >/dev/null || fail "$DISTRIBUTION_BIN not found"

SERVICE=registry.test
ADMIN_PW='admin-Pa55-interop'
DEV_PW='dev-Pa55-interop'
ADMIN_HASH=$(berth_hash "$ADMIN_PW")
DEV_HASH=$(berth_hash "$DEV_PW")
SRC=$E2E_DIR/src
make_image "$SRC" app 65536
make_image "$SRC" web 8192
APP=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" app)")
WEB=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" web)")

DIST_REALM=""  # Berth's token endpoint, for write_token_distribution_config
DIST_CERT=""   # Berth's certificate

# write_token_distribution_config CFG DATADIR PORT: docker-registry with token
# auth delegated to Berth
write_token_distribution_config() {
  E2E_DIST_LOG_LEVEL=${E2E_DIST_LOG_LEVEL:-info} _e2e_write_distribution_config "$@" "auth:
  token:
    realm: \"$DIST_REALM\"
    service: \"$SERVICE\"
    issuer: berth
    rootcertbundle: \"$DIST_CERT\""
}

# token_for CREDS SCOPE [SERVICE]: a Berth token (CREDS user:password)
token_for() {
  curl -fsS -u "$1" --get --data-urlencode "service=${3:-$SERVICE}" --data-urlencode "scope=$2" \
    "http://$BERTH/v2/token" | jq -er .token
}

# dist_manifest_status CREDS REPO REF: HEAD a manifest on docker-registry with
# a Berth token for CREDS
dist_manifest_status() {
  local t
  t=$(token_for "$1" "repository:$2:pull") || return 1
  http_status HEAD "http://$D/v2/$2/manifests/$3" -I -H "Authorization: Bearer $t" -H "Accept: $E2E_ACCEPT_ALL"
}

# interop_round KEY_TYPE ALG CERT_KEY_ALGORITHM
interop_round() {
  local kt=$1 alg=$2 keyalg=$3
  local bdata=$E2E_DIR/berth-$kt out=$E2E_DIR/out-$kt hdr tok tampered payload c r code
  note "---- Berth with auth.token.key_type: $kt"
  E2E_BERTH_AUTH="auth:
  token: {service: \"$SERVICE\", issuer: \"berth\", expiration: 300, key_type: \"$kt\"}
$(team_policy_yaml "$ADMIN_HASH" "$DEV_HASH")"
  start_berth_auth "$bdata"
  BERTH=$REG
  local berth_pid=$REG_PID berth_log=$REG_LOG
  [[ -s $bdata/token-key.crt ]] || fail "Berth did not create $bdata/token-key.crt"
  ok "[$kt] Berth created DIR/token-key.crt"
  assert_match "$(openssl x509 -in "$bdata/token-key.crt" -noout -text)" "Public Key Algorithm: $keyalg" \
    "[$kt] the certificate holds a $keyalg key"
  assert_eq "$(stat -c %a "$bdata/token-key.pem")" "600" "[$kt] the private key has mode 600"

  DIST_REALM="http://$BERTH/v2/token"
  DIST_CERT=$bdata/token-key.crt
  start_distribution_with write_token_distribution_config "$E2E_DIR/dist-$kt"
  D=$REG
  local dist_pid=$REG_PID

  hdr=$(curl -sS -o /dev/null -D - "http://$D/v2/" | response_header www-authenticate)
  assert_eq "$hdr" "Bearer realm=\"$DIST_REALM\",service=\"$SERVICE\"" "[$kt] docker-registry's challenge sends clients to Berth"
  tok=$(token_for "developer:$DEV_PW" "repository:myorg/backend-api:pull,push") || fail "[$kt] no token from Berth"
  assert_eq "$(jwt_header "$tok" | jq -r .alg)" "$alg" "[$kt] Berth signs with $alg"

  # push and pull with skopeo: docker-registry checks Berth's tokens
  if sk_copy --dest-creds "developer:$DEV_PW" "oci:$SRC:app" "docker://$D/myorg/backend-api:v1" >"$E2E_DIR/push-$kt.out" 2>&1; then
    ok "[$kt] developer pushes to docker-registry's myorg/backend-api (authorised by Berth's $alg token)"
  else
    sed 's/^/#   /' "$E2E_DIR/push-$kt.out" >&2
    grep -iE 'token|auth|signature|x509|jwt' "$E2E_DIR/dist-$kt.log" 2>/dev/null | tail -n 5 | cut -c1-300 | sed 's/^/#   dist: /' >&2 || true
    fail "[$kt] developer push to docker-registry with Berth's $alg tokens failed"
  fi
  assert_succeeds "[$kt] developer pulls it back" \
    sk_copy --src-creds "developer:$DEV_PW" "docker://$D/myorg/backend-api:v1" "oci:$out:app"
  assert_eq "$(sk_digest "oci:$out:app")" "$APP" "[$kt] pulled manifest digest identical to the pushed one"
  check_layout_blobs "[$kt] pulled blobs" "$SRC" "$out" "$APP"
  tok=$(token_for "developer:$DEV_PW" "repository:myorg/backend-api:pull") || fail "[$kt] no token from Berth"
  code=$(curl -sS -o /dev/null -D "$E2E_DIR/h-$kt" -w '%{http_code}' -I -H "Authorization: Bearer $tok" \
    -H "Accept: $E2E_ACCEPT_ALL" "http://$D/v2/myorg/backend-api/manifests/v1")
  assert_eq "$code" "200" "[$kt] docker-registry accepts a Berth token sent with curl"
  assert_eq "$(response_header docker-content-digest <"$E2E_DIR/h-$kt")" "$APP" "[$kt] ... and serves the pushed manifest"
  assert_match "$(grep -F 'token issued' "$berth_log" | grep -F 'user=developer' | grep -F 'repository:myorg/backend-api:pull,push' | head -n1)" . \
    "[$kt] Berth's log shows it issued developer's pull,push token"

  # what Berth's ACL refuses, docker-registry refuses
  assert_fails_with "[$kt] developer push to myorg/frontend is denied" 'denied|unauthorized|insufficient' \
    sk_copy --dest-creds "developer:$DEV_PW" "oci:$SRC:web" "docker://$D/myorg/frontend:v1"
  assert_fails_with "[$kt] anonymous pull of myorg/backend-api is denied" 'denied|unauthorized' \
    sk_copy --src-no-creds "docker://$D/myorg/backend-api:v1" "oci:$out:anon"
  assert_fails "[$kt] wrong password: no token, no pull" \
    sk_copy --src-creds "developer:wrong" "docker://$D/myorg/backend-api:v1" "oci:$out:wrong"
  assert_fails "[$kt] developer cannot delete (no delete in the ACL)" \
    sk delete --tls-verify=false --creds "developer:$DEV_PW" "docker://$D/myorg/backend-api:v1"
  assert_eq "$(dist_manifest_status "admin:$ADMIN_PW" myorg/backend-api v1)" "200" "[$kt] the manifest survives the refused delete"
  assert_succeeds "[$kt] admin pushes myorg/frontend:v1" \
    sk_copy --dest-creds "admin:$ADMIN_PW" "oci:$SRC:web" "docker://$D/myorg/frontend:v1"
  assert_succeeds "[$kt] developer pulls myorg/frontend:v1 (pull granted)" \
    sk_copy --src-creds "developer:$DEV_PW" "docker://$D/myorg/frontend:v1" "oci:$out:web"
  assert_eq "$(sk_digest "oci:$out:web")" "$WEB" "[$kt] pulled myorg/frontend digest identical"
  assert_succeeds "[$kt] admin deletes myorg/frontend:v1" \
    sk delete --tls-verify=false --creds "admin:$ADMIN_PW" "docker://$D/myorg/frontend:v1"
  assert_eq "$(dist_manifest_status "admin:$ADMIN_PW" myorg/frontend "$WEB")" "404" "[$kt] the deleted manifest is gone"

  # docker-registry really checks the tokens
  payload=$(cut -d. -f2 <<<"$tok")
  c=${payload:10:1}
  [[ $c == A ]] && r=B || r=A
  tampered="$(cut -d. -f1 <<<"$tok").${payload:0:10}$r${payload:11}.$(cut -d. -f3 <<<"$tok")"
  assert_eq "$(http_status HEAD "http://$D/v2/myorg/backend-api/manifests/v1" -I -H "Authorization: Bearer $tampered" -H "Accept: $E2E_ACCEPT_ALL")" \
    "401" "[$kt] docker-registry refuses a tampered Berth token"
  tok=$(token_for "developer:$DEV_PW" "repository:myorg/backend-api:pull" other.service) || fail "[$kt] no token for another service"
  assert_eq "$(jwt_payload "$tok" | jq -r .aud)" "other.service" "[$kt] Berth puts the requested service into aud"
  assert_eq "$(http_status HEAD "http://$D/v2/myorg/backend-api/manifests/v1" -I -H "Authorization: Bearer $tok" -H "Accept: $E2E_ACCEPT_ALL")" \
    "401" "[$kt] docker-registry refuses a Berth token for another service"

  stop_registry "$dist_pid"
  stop_registry "$berth_pid"
  ok "[$kt] servers stopped cleanly"
}

interop_round rsa RS256 rsaEncryption
interop_round ec ES256 id-ecPublicKey
