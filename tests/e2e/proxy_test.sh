#!/usr/bin/env bash
# The pull-through cache (docs/proxy.md) against real upstreams on loopback:
#   A  Debian's docker-registry with htpasswd auth (Basic)  -> prefix dist/
#   B  a second Berth with token auth (Bearer)              -> prefix up/, the mirror
# and a third upstream entry with a wrong password (bad/ -> A).
# skopeo and podman pull through the proxy Berth P by tag and by digest,
# single- and multi-arch, with the upstreams' digests; podman through a
# registries.conf mirror entry; 20 concurrent pulls of an uncached large layer
# cause one upstream GET; a HEAD of a fresh cached manifest asks no upstream;
# a stopped upstream leaves the cache serving (a stale tag with a warning);
# a modified upstream blob is never cached and the client gets an error; the
# upstream never sees the client's credentials; a wrong upstream password is a
# clear error, not a hang; pushes into a proxied prefix are refused; the
# mirror never answers for a repository that exists locally (no tag
# squatting); `berth gc` keeps cached layers; at most max_fills blob fetches
# per upstream run at once (beyond: 503 with Retry-After).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl
command -v "$DISTRIBUTION_BIN" >/dev/null || skip "$DISTRIBUTION_BIN not found"
BIG_MB=${E2E_PROXY_BIG_MB:-200}

ADMIN_PW='admin-Pa55-proxy'
PULLER_PW='puller-Pa55-proxy'
DIST_PW='dist-Pa55-proxy'
ADMIN_HASH=$(berth_hash "$ADMIN_PW")
PULLER_HASH=$(berth_hash "$PULLER_PW")
DIST_HASH=$(berth_hash "$DIST_PW")

# ------------------------------------------------------------- images ---
SRC=$E2E_DIR/src
make_image "$SRC" app 65536
make_image "$SRC" web 8192
make_image "$SRC" arm 4096 arm64
make_index "$SRC" multi app arm
make_image "$SRC" big $((BIG_MB * 1024 * 1024))
make_image "$SRC" gone $((BIG_MB * 1024 * 1024 / 4))
make_image "$SRC" evil 32768
make_image "$SRC" late 16384
desc_digest() { jq -r .digest <<<"$(oci_manifest_desc "$SRC" "$1")"; }
APP=$(desc_digest app)
WEB=$(desc_digest web)
MULTI=$(desc_digest multi)
BIG=$(desc_digest big)
EVIL=$(desc_digest evil)
GONE=$(desc_digest gone)
GONE_LAYER=$(jq -r '.layers | max_by(.size) | .digest' "$(blob_path "$SRC" "$GONE")")
BIG_LAYER=$(jq -r '.layers | max_by(.size) | .digest' "$(blob_path "$SRC" "$BIG")")
EVIL_LAYER=$(jq -r '.layers | max_by(.size) | .digest' "$(blob_path "$SRC" "$EVIL")")

# ------------------------------------------------------------ upstream A ---
printf 'dist:%s\n' "$DIST_HASH" >"$E2E_DIR/htpasswd"
DIST_DATA=$E2E_DIR/dist-data
# (with its access log: the test counts the upstream's blob GETs)
write_htpasswd_distribution_config() {
  E2E_DIST_ACCESSLOG=1 _e2e_write_distribution_config "$@" "auth:
  htpasswd:
    realm: dist
    path: \"$E2E_DIR/htpasswd\""
}
start_distribution_with write_htpasswd_distribution_config "$DIST_DATA"
A=$REG
A_PID=$REG_PID
A_LOG=$REG_LOG
A_CFG=$REG_CFG
for t in app multi big gone evil late; do
  sk_copy --all --dest-creds "dist:$DIST_PW" "oci:$SRC:$t" "docker://$A/team/$t:v1"
done
ok "images pushed to docker-registry (htpasswd)"

# ------------------------------------------------------------ upstream B ---
# Over TLS with a test CA: the proxy trusts it through its ca_file.
PKI=$E2E_DIR/pki
mkdir -p "$PKI"
(
  cd "$PKI"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -days 2 -subj '/CN=Berth proxy e2e CA' -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout b.key -out b.csr -subj "/CN=upstream-b"
  openssl x509 -req -in b.csr -CA ca.crt -CAkey ca.key -set_serial 0x1001 -days 2 -extfile server.ext -out b.crt
) >"$E2E_DIR/pki.log" 2>&1 || {
  sed 's/^/#   /' "$E2E_DIR/pki.log" >&2
  fail "openssl could not make the test PKI"
}
write_tls_upstream_config() {
  write_berth_auth_config "$@"
  sed -i "s|^  addr: .*|&\n  tls: {enabled: true, certificate: \"$PKI/b.crt\", key: \"$PKI/b.key\", poll_interval: 0}|" "$1"
}
E2E_BERTH_AUTH="auth:
  token: {service: upstream-b, issuer: berth-b}
users:
  admin:  {password: \"$ADMIN_HASH\"}
  puller: {password: \"$PULLER_HASH\"}
acl:
  - {account: admin, name: \"*\", actions: [\"*\"]}
  - {account: puller, name: \"*\", actions: [pull]}"
_e2e_launch berth write_tls_upstream_config "$E2E_DIR/b-data" any
B=$REG
B_PID=$REG_PID
B_LOG=$REG_LOG
for t in web multi late; do
  sk_copy --all --dest-creds "admin:$ADMIN_PW" "oci:$SRC:$t" "docker://$B/team/$t:v1"
done
ok "images pushed to the upstream Berth (token auth)"

# ------------------------------------------------------------- the proxy ---
printf '%s\n' "$PULLER_PW" >"$E2E_DIR/puller.pw"
# PROXY_AUTH: the auth part of the proxy's config (default: none);
# UP_MAX_FILLS: up/'s max_fills.
PROXY_AUTH="auth: {mode: none}"
UP_MAX_FILLS=32
write_proxy_config() {
  cat >"$1" <<EOF2
server:
  addr: "127.0.0.1:$3"
  threads: 4
storage:
  filesystem: {rootdirectory: "$2"}
  gc: {delay: 1s}
$PROXY_AUTH
log: {level: info}
proxy:
  - prefix: dist/
    url: http://$A
    username: dist
    password: "$DIST_PW"
    tag_ttl: 3s
  - prefix: up/
    url: https://$B/
    ca_file: "$PKI/ca.crt"
    username: puller
    password_file: "$E2E_DIR/puller.pw"
    mirror: true
    max_fills: $UP_MAX_FILLS
  - prefix: untrusted/
    url: https://$B
  - prefix: bad/
    url: http://$A
    username: dist
    password: wrong-password
EOF2
}
P_DATA=$E2E_DIR/p-data
_e2e_launch berth write_proxy_config "$P_DATA"
P=$REG
P_PID=$REG_PID
P_LOG=$REG_LOG
P_CFG=$REG_CFG

# ------------------------------------------------- pulls by tag and digest ---
blob_gets() { count_matches "$1" "\"GET /v2/[^ ]*/blobs/$2 "; }
OUT=$E2E_DIR/out
sk_copy "docker://$P/dist/team/app:v1" "oci:$OUT:dist-app"
assert_eq "$(sk_digest "docker://$P/dist/team/app:v1")" "$APP" "skopeo pulls dist/team/app:v1 (htpasswd upstream): same digest"
check_layout_blobs "the layers pulled through the cache" "$SRC" "$OUT" "$APP"
sk_copy "docker://$P/dist/team/app@$APP" "oci:$OUT:dist-app-d"
ok "skopeo pulls dist/team/app by digest"
sk_copy "docker://$P/up/team/web:v1" "oci:$OUT:up-web"
assert_eq "$(sk_digest "docker://$P/up/team/web:v1")" "$WEB" "skopeo pulls up/team/web:v1 (token-auth upstream): same digest"
check_layout_blobs "the layers pulled from the Berth upstream" "$SRC" "$OUT" "$WEB"
sk_copy --all "docker://$P/up/team/multi:v1" "oci:$OUT:up-multi"
assert_eq "$(sk_digest "docker://$P/up/team/multi:v1")" "$MULTI" "multi-arch index through the cache (Berth upstream)"
sk_copy --all "docker://$P/dist/team/multi@$MULTI" "oci:$OUT:dist-multi"
assert_eq "$(sk_digest "docker://$P/dist/team/multi@$MULTI")" "$MULTI" "multi-arch index by digest (docker-registry upstream)"

assert_eq "$(sk_tags "docker://$P/dist/team/app")" v1 "the cached tag is listed (recorded in the metadata database)"
assert_match "$(curl -fsS "http://$P/v2/_catalog")" '"dist/team/app"' "the cached repository is in the catalog"
assert_eq "$(http_status GET "http://$P/v2/dist/team/nothere/manifests/v1")" 404 "an unknown upstream manifest is 404"
assert_eq "$(http_status GET "http://$P/v2/up/team/web/manifests/v9")" 404 "an unknown upstream tag is 404"

# --------------------------------------------------------------- podman ---
UNUSED=$(free_port)
cat >"$CONTAINERS_REGISTRIES_CONF" <<EOF2
unqualified-search-registries = []
short-name-mode = "disabled"
[[registry]]
prefix = "hub.test"
location = "127.0.0.1:$UNUSED"
insecure = true
[[registry.mirror]]
location = "$P"
insecure = true
EOF2
assert_succeeds "podman pulls hub.test/team/web:v1 through the registries.conf mirror (Berth's mirror upstream)" \
  pm one pull -q hub.test/team/web:v1
assert_eq "$(pm one image inspect --format '{{.Digest}}' hub.test/team/web:v1)" "$WEB" "podman: same digest"
assert_succeeds "podman pulls by tag from the docker-registry upstream" pm one pull -q --tls-verify=false "$P/dist/team/app:v1"
assert_succeeds "podman pulls by digest from the Berth upstream" pm one pull -q --tls-verify=false "$P/up/team/multi@$MULTI"

# ------------------------------------------- no tag squatting via the mirror ---
# A local repository's missing tag or blob is 404, never the mirror's content
# of the same name (B has team/late:v1).
LATE_CONFIG=$(jq -r .config.digest "$(blob_path "$SRC" "$(desc_digest late)")")
assert_succeeds "a local repository team/late" sk_copy "oci:$SRC:app" "docker://$P/team/late:mine"
late_asked=$(count_matches "$B_LOG" 'path=/v2/team/late/')
assert_eq "$(http_status GET "http://$P/v2/team/late/manifests/v1" -H "Accept: $E2E_ACCEPT_ALL")" 404 \
  "a tag a local repository lacks does not come from the mirror"
assert_eq "$(http_status GET "http://$P/v2/team/late/blobs/$LATE_CONFIG")" 404 \
  "nor does a blob it lacks"
assert_eq "$(count_matches "$B_LOG" 'path=/v2/team/late/')" "$late_asked" "the mirror upstream was not asked"

# --------------------------------------------------- HEAD never goes upstream ---
before=$(count_matches "$B_LOG" '/v2/team/web/manifests/')
for _ in 1 2 3; do
  curl -fsS -o /dev/null -I -H "Accept: $E2E_ACCEPT_ALL" "http://$P/v2/up/team/web/manifests/v1"
done
after=$(count_matches "$B_LOG" '/v2/team/web/manifests/')
assert_eq "$after" "$before" "HEAD of a fresh cached manifest (3 times) asks the upstream nothing"

# Tokens are cached per scope: one token request for team/web however many pulls.
assert_eq "$(count_matches "$B_LOG" 'user=puller .*path="/v2/token\?[^"]*scope=repository%3Ateam%2Fweb%3Apull')" 1 \
  "the proxy asked the upstream's token service once for team/web's pull scope"

# ------------------------------------------------------- no client creds ---
admin_before=$(count_matches "$B_LOG" 'user=admin ')
LATE=$(desc_digest late)
curl -fsS -o /dev/null -u "admin:$ADMIN_PW" -H "Accept: $E2E_ACCEPT_ALL" "http://$P/v2/up/team/late/manifests/v1"
curl -fsS -o /dev/null -u "admin:$ADMIN_PW" "http://$P/v2/up/team/late/blobs/$(jq -r .config.digest "$(blob_path "$SRC" "$LATE")")"
assert_eq "$(count_matches "$B_LOG" 'user=admin ')" "$admin_before" \
  "the upstream never saw the client's credentials (no request as admin)"
assert_match "$(count_matches "$B_LOG" 'user=puller .*path=/v2/team/late/manifests/v1 ')" '^[1-9]' \
  "the upstream saw the proxy's own account"

# --------------------------------------------------- one fetch for 20 pulls ---
pids=()
for i in $(seq 1 20); do
  curl -fsS -o "$E2E_DIR/big.$i" "http://$P/v2/dist/team/big/blobs/$BIG_LAYER" &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
assert_eq "$failed" 0 "20 concurrent GETs of an uncached ${BIG_MB} MB layer succeed"
for i in $(seq 1 20); do
  assert_quiet_eq "$(sha256_file "$E2E_DIR/big.$i")" "$BIG_LAYER" "concurrent pull $i: content"
  rm -f "$E2E_DIR/big.$i"
done
ok "all 20 got the layer's exact bytes"
assert_eq "$(blob_gets "$A_LOG" "$BIG_LAYER")" 1 "the upstream's access log shows one GET of that layer"

# ------------------------------------------- a client that goes away ---
# The client reads a few KB of an uncached layer and disconnects: the fill goes on.
curl -sS "http://$P/v2/dist/team/gone/blobs/$GONE_LAYER" 2>/dev/null | head -c 4096 >/dev/null || true
wait_until 60 grep -q "blob cached .*digest=$GONE_LAYER" "$P_LOG" || fail "the fill stopped with its client"
ok "a client that disconnects does not cancel the fill"
curl -fsS -o "$E2E_DIR/gone.out" "http://$P/v2/dist/team/gone/blobs/$GONE_LAYER"
assert_eq "$(sha256_file "$E2E_DIR/gone.out")" "$GONE_LAYER" "the layer is then served from the cache"
assert_eq "$(blob_gets "$A_LOG" "$GONE_LAYER")" 1 "with one upstream GET in all"

# ----------------------------------------------------- a modified upstream ---
EVIL_FILE="$DIST_DATA/docker/registry/v2/blobs/sha256/${EVIL_LAYER:7:2}/${EVIL_LAYER#sha256:}/data"
[[ -f $EVIL_FILE ]] || fail "docker-registry's blob file not found at $EVIL_FILE"
size=$(stat -c %s "$EVIL_FILE")
head -c "$size" /dev/urandom >"$EVIL_FILE"
assert_fails "a client pulling a layer the upstream corrupted gets an error" \
  curl -fsS -o "$E2E_DIR/evil.out" "http://$P/v2/dist/team/evil/blobs/$EVIL_LAYER"
P_BLOB="$P_DATA/docker/registry/v2/blobs/sha256/${EVIL_LAYER:7:2}/${EVIL_LAYER#sha256:}"
[[ ! -e $P_BLOB ]] || fail "the corrupted layer was stored in the cache"
ok "nothing of the corrupted layer is cached"
assert_fails "skopeo pulling the image with the corrupted layer fails" \
  sk_copy "docker://$P/dist/team/evil:v1" "oci:$OUT:evil"

# ------------------------------------------------------- pushes refused ---
assert_fails_with "a push into a proxied prefix is refused with a clear error" 'pull-through cache' \
  sk_copy "oci:$SRC:web" "docker://$P/dist/team/mine:v1"
assert_succeeds "a push to a local repository still works" sk_copy "oci:$SRC:web" "docker://$P/local/web:v1"
assert_eq "$(sk_digest "docker://$P/local/web:v1")" "$WEB" "and reads back"

# ------------------------------------------------------ wrong password ---
start=$SECONDS
status=$(curl -sS -o "$E2E_DIR/bad.json" -w '%{http_code}' "http://$P/v2/bad/team/app/manifests/v1")
assert_eq "$status" 503 "a wrong upstream password: 503"
assert_match "$(cat "$E2E_DIR/bad.json")" 'refused' "with a message that says the upstream refused the credentials"
((SECONDS - start < 10)) || fail "the wrong-password answer took $((SECONDS - start)) s"
ok "and no hang"

status=$(curl -sS -o "$E2E_DIR/untrusted.json" -w '%{http_code}' "http://$P/v2/untrusted/team/web/manifests/v1")
assert_eq "$status" 503 "an upstream whose certificate the proxy does not trust: 503"
assert_match "$(cat "$E2E_DIR/untrusted.json")" 'TLS handshake' "with a message naming the TLS failure"

# ------------------------------------------------------- revalidation ---
heads_before=$(count_matches "$A_LOG" '"HEAD /v2/team/app/manifests/v1 ')
sleep 4  # past dist/'s tag_ttl (3s)
assert_eq "$(sk_digest "docker://$P/dist/team/app:v1")" "$APP" "after tag_ttl the tag is revalidated: same digest"
heads_after=$(count_matches "$A_LOG" '"HEAD /v2/team/app/manifests/v1 ')
((heads_after > heads_before)) || fail "no HEAD of the tag reached the upstream"
ok "with a HEAD to the upstream"
NEW_APP=$(desc_digest web)
sk_copy --dest-creds "dist:$DIST_PW" "oci:$SRC:web" "docker://$A/team/app:v1"
sleep 4
assert_eq "$(sk_digest "docker://$P/dist/team/app:v1")" "$NEW_APP" "a tag moved on the upstream: the new digest after tag_ttl"
sk_copy "docker://$P/dist/team/app:v1" "oci:$OUT:dist-app-new"
sk_copy --dest-creds "dist:$DIST_PW" "oci:$SRC:app" "docker://$A/team/app:v1"
sleep 4
assert_eq "$(sk_digest "docker://$P/dist/team/app:v1")" "$APP" "and back"

# --------------------------------------------------------------- gc ---
# Cached layers arrived after their manifest (a cold pull): gc must keep them.
sleep 2  # past the grace (storage.gc.delay: 1s)
out=$("$BERTH_BIN" gc --config "$P_CFG" 2>&1) || fail "berth gc failed: $out"
ok "berth gc next to the proxy: $(tail -n 1 <<<"$out")"
for d in $(jq -r '.config.digest, .layers[].digest' "$(blob_path "$SRC" "$APP")"); do
  [[ -f "$P_DATA/docker/registry/v2/blobs/sha256/${d:7:2}/${d#sha256:}/data" ]] || fail "gc removed the cached blob $d"
  [[ -f "$P_DATA/docker/registry/v2/repositories/dist/team/app/_layers/sha256/${d#sha256:}/link" ]] ||
    fail "gc removed the cached link of $d"
done
ok "the cached layers of dist/team/app stay after gc"

# ------------------------------------------------------- upstream down ---
stop_registry "$A_PID"
sk_copy "docker://$P/dist/team/app:v1" "oci:$OUT:dist-app-2"
ok "docker-registry stopped: pull by tag from the cache"
sk_copy "docker://$P/dist/team/app@$APP" "oci:$OUT:dist-app-3"
ok "docker-registry stopped: pull by digest from the cache"
sleep 4  # past dist/'s tag_ttl: the tag is stale now
assert_eq "$(sk_digest "docker://$P/dist/team/app:v1")" "$APP" "a stale tag is served while the upstream is down"
wait_until 5 grep -q 'serving a stale tag' "$P_LOG" || fail "no warning about the stale tag in the log"
ok "with a warning in the log"
assert_eq "$(http_status GET "http://$P/v2/dist/team/late/manifests/v1")" 503 "an uncached manifest of a down upstream: 503"

# --------------------------------------------------------------- metrics ---
metrics=$(curl -fsS "http://$P/metrics")
assert_match "$metrics" 'berth_proxy_requests_total\{upstream="dist/",result="hit"\} [1-9]' "metrics: hits"
assert_match "$metrics" 'berth_proxy_requests_total\{upstream="dist/",result="miss"\} [1-9]' "metrics: misses"
assert_match "$metrics" 'berth_proxy_requests_total\{upstream="dist/",result="stale"\} [1-9]' "metrics: stale"
assert_match "$metrics" 'berth_proxy_requests_total\{upstream="dist/",result="revalidated"\} [1-9]' "metrics: revalidations"
assert_match "$metrics" 'berth_proxy_upstream_errors_total\{upstream="bad/"\} [1-9]' "metrics: upstream errors"
assert_match "$metrics" 'berth_proxy_upstream_bytes_total\{upstream="dist/"\} [1-9][0-9]{6}' "metrics: bytes"

# ------------------------------------------------------------------ ACL ---
# A proxy with token auth: proxied repositories obey the ACL like local ones.
stop_registry "$P_PID"
ALICE_PW='alice-Pa55-proxy'
PROXY_AUTH="auth:
  token: {service: proxy}
users:
  alice: {password: \"$(berth_hash "$ALICE_PW")\"}
acl:
  - {account: alice, name: \"up/team/web\", actions: [pull]}"
_e2e_launch berth write_proxy_config "$P_DATA" any
P=$REG
assert_eq "$(sk_digest "docker://$P/up/team/web:v1" 2>/dev/null || true)" "" "anonymous: no pull through the cache"
sk_alice() { sk inspect --raw --tls-verify=false --creds "alice:$ALICE_PW" "$1"; }
raw=$(sk_alice "docker://$P/up/team/web:v1" | sha256sum)
assert_eq "sha256:${raw%% *}" "$WEB" "alice pulls up/team/web (her ACL entry)"
assert_fails "alice cannot pull up/team/multi (no ACL entry)" sk_alice "docker://$P/up/team/multi:v1"

# ----------------------------------------------------------- max_fills ---
# up/ with max_fills 1 and its fills held at a test hook: a second uncached
# blob is refused with 503 and Retry-After; a client of the fill in flight joins it.
stop_registry "$REG_PID"
PROXY_AUTH="auth: {mode: none}"
UP_MAX_FILLS=1
HOLD=$E2E_DIR/fill.hold
touch "$HOLD"
BERTH_TEST_HOOKS="proxy.fill.started:hold=$HOLD" _e2e_launch berth write_proxy_config "$E2E_DIR/p2-data"
P=$REG
LATE_LAYER=$(jq -r '.layers | max_by(.size) | .digest' "$(blob_path "$SRC" "$(desc_digest late)")")
curl -fsS -o "$E2E_DIR/held.1" "http://$P/v2/up/team/late/blobs/$LATE_LAYER" &
held1=$!
wait_until 20 grep -q 'berth test hook: proxy.fill.started reached' "$REG_LOG" || fail "the fill did not start"
curl -fsS -o "$E2E_DIR/held.2" "http://$P/v2/up/team/late/blobs/$LATE_LAYER" &
held2=$!
status=$(curl -sS -D "$E2E_DIR/refused.h" -o "$E2E_DIR/refused.json" -w '%{http_code}' \
  "http://$P/v2/up/team/late/blobs/$LATE_CONFIG")
assert_eq "$status" 503 "max_fills 1: another uncached blob while one is fetched is 503"
assert_match "$(cat "$E2E_DIR/refused.h")" 'Retry-After: [0-9]' "with Retry-After"
assert_match "$(cat "$E2E_DIR/refused.json")" 'UNAVAILABLE.*max_fills' "and a message naming max_fills"
rm -f "$HOLD"
wait "$held1" || fail "the client of the held fill failed"
wait "$held2" || fail "the client that joined the held fill failed"
assert_eq "$(sha256_file "$E2E_DIR/held.1")" "$LATE_LAYER" "the held fill's client gets the layer"
assert_eq "$(sha256_file "$E2E_DIR/held.2")" "$LATE_LAYER" "a client joining it (not refused) too"
wait_until 20 grep -q "blob cached .*digest=$LATE_LAYER" "$REG_LOG" || fail "the held fill did not end"
curl -fsS -o "$E2E_DIR/config.out" "http://$P/v2/up/team/late/blobs/$LATE_CONFIG"
assert_eq "$(sha256_file "$E2E_DIR/config.out")" "$LATE_CONFIG" "once it ended, the other blob is fetched"
