#!/usr/bin/env bash
# Scale-out: two Berth replicas with the same config (same bucket on a real
# Ceph RADOS Gateway, same token key) behind a round-robin front (nginx):
#  - a token issued by one replica is accepted by the other;
#  - skopeo pushes through replica A and pulls through replica B, and pushes
#    through the front (every request may land on either replica);
#  - a chunked upload started on A is continued on B, then A, finished on B;
#  - concurrent pushes of one tag through both replicas leave a consistent state;
#  - a replica killed (SIGKILL) mid-push loses nothing acknowledged, and the
#    client's retry through the other replica succeeds;
#  - with their one PostgreSQL metadata database (tests/tools/postgres.sh, started
#    here): a tag pushed through A is listed at once through B, and the
#    cross-replica race of a tag PUT on A with a DELETE of its manifest on B
#    (held by test hooks, util/test_hooks.h) leaves no tag without its manifest.
# The S3 endpoint comes from BERTH_TEST_S3_* (set by ctest's RGW fixture);
# without it the test starts its own cluster with tests/tools/ceph_rgw.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

NGINX_BIN=${NGINX_BIN:-nginx}
command -v "$NGINX_BIN" >/dev/null || PATH=$PATH:/usr/sbin
command -v "$NGINX_BIN" >/dev/null || fail "nginx not found (scripts/test installs Debian's nginx)"

# ------------------------------------------------------------- S3 (RGW) ---
if [[ -z ${BERTH_TEST_S3_ENDPOINT:-} ]]; then
  RGW_DIR=$E2E_DIR/ceph
  note "no BERTH_TEST_S3_ENDPOINT: starting a Ceph RGW"
  "$E2E_REPO_ROOT/tests/tools/ceph_rgw.sh" start "$RGW_DIR" auto >"$E2E_DIR/ceph.log" 2>&1 ||
    { tail -20 "$E2E_DIR/ceph.log" >&2; fail "cannot start Ceph RGW"; }
  _scale_stop_rgw() { "$E2E_REPO_ROOT/tests/tools/ceph_rgw.sh" stop "$RGW_DIR" >/dev/null 2>&1 || true; }
  trap 'rc=$?; _scale_stop_rgw; (exit $rc); _e2e_cleanup' EXIT  # (keeps the script's exit status)
  BERTH_TEST_S3_ENDPOINT=$(sed -n 's/^BERTH_TEST_S3_ENDPOINT=//p' "$RGW_DIR/env")
  BERTH_TEST_S3_ACCESS_KEY=TESTACCESS
  BERTH_TEST_S3_SECRET_KEY=TESTSECRET
  BERTH_TEST_S3_BUCKET=berth-scale
fi
S3_ENDPOINT=$BERTH_TEST_S3_ENDPOINT
S3_ACCESS=${BERTH_TEST_S3_ACCESS_KEY:-TESTACCESS}
S3_SECRET=${BERTH_TEST_S3_SECRET_KEY:-TESTSECRET}
S3_REGION=${BERTH_TEST_S3_REGION:-us-east-1}
S3_BUCKET=${BERTH_TEST_S3_BUCKET:-berth-scale}
# The bucket may exist already (shared fixture): 200 or 409 are both fine.
code=$(curl -sS -o /dev/null -w "%{http_code}" -X PUT --aws-sigv4 "aws:amz:$S3_REGION:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
  --user "$S3_ACCESS:$S3_SECRET" "$S3_ENDPOINT/$S3_BUCKET")
[[ $code == 200 || $code == 409 ]] || fail "cannot create bucket $S3_BUCKET (HTTP $code)"
# A fresh root per run, so reruns and other tests sharing the bucket never interfere.
S3_ROOT=/scale-out-$$-$RANDOM

# ------------------------------------------------------------ PostgreSQL ---
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || fail "PostgreSQL not found (scripts/test installs Debian's postgresql)"
chmod 711 "$E2E_DIR"  # the postgres user reaches its directory below
PG_DIR=$E2E_DIR/pg
PG_PORT=$(free_port)
"$E2E_REPO_ROOT/tests/tools/postgres.sh" start "$PG_DIR" "$PG_PORT" >"$E2E_DIR/pg-start.log" 2>&1 ||
  { cat "$E2E_DIR/pg-start.log" >&2; fail "cannot start PostgreSQL"; }
_scale_stop_pg() { "$E2E_REPO_ROOT/tests/tools/postgres.sh" stop "$PG_DIR" >/dev/null 2>&1 || true; }
if [[ -n ${RGW_DIR:-} ]]; then
  trap 'rc=$?; _scale_stop_pg; _scale_stop_rgw; (exit $rc); _e2e_cleanup' EXIT
else
  trap 'rc=$?; _scale_stop_pg; (exit $rc); _e2e_cleanup' EXIT  # (keeps the script's exit status)
fi
note "PostgreSQL on 127.0.0.1:$PG_PORT"

# -------------------------------------------------------------- replicas ---
ADMIN_PW=scale-admin-$RANDOM$RANDOM
ADMIN_HASH=$(berth_hash "$ADMIN_PW")
CREDS=admin:$ADMIN_PW
FRONT_PORT=$(free_port)
TOKEN_KEY=$E2E_DIR/shared/token-key.pem
mkdir -p "$E2E_DIR/shared"

# write_replica_config CFG DATADIR PORT: everything but the port is shared.
write_replica_config() {
  cat >"$1" <<EOF
server:
  addr: "127.0.0.1:$3"
  public_url: "http://127.0.0.1:$FRONT_PORT"
storage:
  s3:
    endpoint: "$S3_ENDPOINT"
    region: "$S3_REGION"
    bucket: "$S3_BUCKET"
    rootdirectory: "$S3_ROOT"
    accesskey: "$S3_ACCESS"
    secretkey: "$S3_SECRET"
    forcepathstyle: true
    chunksize: 5242880
  delete: {enabled: true}
  metadata: {driver: postgres, host: "127.0.0.1", port: $PG_PORT, dbname: berth, user: berth, password: berth, sslmode: require}
log: {accesslog: true}
auth:
  token: {service: "registry.test", key: "$TOKEN_KEY"}
users:
  admin: {password: "$ADMIN_HASH"}
acl:
  - {account: "admin", actions: ["*"]}
EOF
}
# A creates the token key; B starts after it and loads the same key.
# Test hooks for the race below: A marks where a manifest write waits for its
# repository's lock; B can be held inside a manifest DELETE while $HOLD exists.
HOLD=$E2E_DIR/hold-delete
BERTH_TEST_HOOKS="metadata.repository.locking" _e2e_launch berth write_replica_config "$E2E_DIR/a" any
A=$REG A_PID=$REG_PID A_LOG=$REG_LOG
BERTH_TEST_HOOKS="manifest.delete.tags_removed:hold=$HOLD" _e2e_launch berth write_replica_config "$E2E_DIR/b" any
B=$REG B_LOG=$REG_LOG
assert_eq "$(stat -c %a "$TOKEN_KEY")" 600 "the shared token key is private (0600)"

# ----------------------------------------------------------------- front ---
NG=$E2E_DIR/nginx
mkdir -p "$NG/tmp"
cat >"$NG/nginx.conf" <<EOF
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 256; }
http {
  access_log $NG/access.log;
  client_body_temp_path $NG/tmp/body;
  proxy_temp_path $NG/tmp/proxy;
  fastcgi_temp_path $NG/tmp/fastcgi;
  uwsgi_temp_path $NG/tmp/uwsgi;
  scgi_temp_path $NG/tmp/scgi;
  # Plain round robin: no sticky sessions.
  upstream berth { server $A; server $B; }
  server {
    listen 127.0.0.1:$FRONT_PORT;
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_http_version 1.1;
    location / {
      proxy_pass http://berth;
      proxy_set_header Host \$http_host;
      proxy_read_timeout 600s;
      proxy_send_timeout 600s;
    }
  }
}
EOF
"$NGINX_BIN" -c "$NG/nginx.conf" -g 'daemon off;' >"$NG/stdout.log" 2>&1 &
NGINX_PID=$!
E2E_PIDS+=("$NGINX_PID")
E2E_LOGS+=("$NG/error.log")
FRONT=127.0.0.1:$FRONT_PORT
wait_until 10 curl -s -o /dev/null "http://$FRONT/v2/" || fail "nginx did not start ($(cat "$NG/error.log"))"

# ------------------------------------------------------------------ tokens ---
token_from() {  # token_from HOST SCOPE
  curl -fsS -u "$CREDS" --get --data-urlencode service=registry.test --data-urlencode "scope=$2" \
    "http://$1/v2/token" | jq -er .token
}
TOKEN_A=$(token_from "$A" "repository:team/app:pull,push")
assert_eq "$(http_status GET "http://$B/v2/" -H "Authorization: Bearer $TOKEN_A")" 200 \
  "a token issued by replica A is accepted by replica B"
assert_eq "$(http_status GET "http://$B/v2/team/app/tags/list" -H "Authorization: Bearer $TOKEN_A")" 404 \
  "... and authorises its repository there (404 NAME_UNKNOWN: nothing pushed yet)"

# ------------------------------------------------------------------- skopeo ---
SRC=$E2E_DIR/src
make_image "$SRC" v1 $((7 * 1024 * 1024))  # one layer larger than the 5 MiB part size
make_image "$SRC" v2 4096
assert_succeeds "skopeo pushes v1 through replica A" \
  sk copy --dest-tls-verify=false --dest-creds "$CREDS" "oci:$SRC:v1" "docker://$A/team/app:v1"
assert_eq "$(curl -fsS -u "$CREDS" "http://$B/v2/team/app/tags/list" | jq -c .tags)" '["v1"]' \
  "a tag pushed through replica A is listed at once through replica B (one metadata database)"
D1_A=$(sk inspect --raw --tls-verify=false --creds "$CREDS" "docker://$A/team/app:v1" | sha256sum | cut -d' ' -f1)
D1_B=$(sk inspect --raw --tls-verify=false --creds "$CREDS" "docker://$B/team/app:v1" | sha256sum | cut -d' ' -f1)
assert_eq "$D1_B" "$D1_A" "replica B serves the manifest pushed through A"
assert_succeeds "skopeo pulls v1 through replica B" \
  sk copy --src-tls-verify=false --src-creds "$CREDS" "docker://$B/team/app:v1" "oci:$E2E_DIR/out:v1"
for blob in $(jq -r '.layers[].digest' < <(sk inspect --raw --tls-verify=false --creds "$CREDS" "docker://$B/team/app:v1")); do
  cmp -s "$SRC/blobs/sha256/${blob#sha256:}" "$E2E_DIR/out/blobs/sha256/${blob#sha256:}" ||
    fail "layer $blob pulled through B differs from the pushed one"
done
ok "every layer pulled through B is byte-identical"

assert_succeeds "skopeo pushes v2 through the round-robin front" \
  sk copy --dest-tls-verify=false --dest-creds "$CREDS" "oci:$SRC:v2" "docker://$FRONT/team/app:v2"
assert_succeeds "skopeo pulls v2 through the front" \
  sk copy --src-tls-verify=false --src-creds "$CREDS" "docker://$FRONT/team/app:v2" "oci:$E2E_DIR/out2:v2"
upstreams=$(grep -c 'team/app' "$NG/access.log" || true)
[[ $upstreams -gt 4 ]] || fail "the front saw too few requests ($upstreams)"
ok "the front carried $upstreams registry requests"

# ------------------------------------------- chunked upload across replicas ---
auth_b=(-H "Authorization: Bearer $(token_from "$B" "repository:team/chunks:pull,push")")
auth_a=(-H "Authorization: Bearer $(token_from "$A" "repository:team/chunks:pull,push")")
head -c $((6 * 1024 * 1024)) /dev/urandom >"$E2E_DIR/c1"
head -c $((1024 * 1024 + 17)) /dev/urandom >"$E2E_DIR/c2"
head -c 4099 /dev/urandom >"$E2E_DIR/c3"
cat "$E2E_DIR/c1" "$E2E_DIR/c2" "$E2E_DIR/c3" >"$E2E_DIR/chunked"
CDIGEST=sha256:$(sha256sum "$E2E_DIR/chunked" | cut -d' ' -f1)
s1=$((6 * 1024 * 1024)) s2=$((1024 * 1024 + 17))
loc=$(curl -fsS -X POST -D - -o /dev/null "${auth_a[@]}" "http://$A/v2/team/chunks/blobs/uploads/" |
  tr -d '\r' | awk 'tolower($1)=="location:" {print $2}')
[[ -n $loc ]] || fail "POST on A gave no Location"
ok "upload started on replica A"
patch() {  # patch HOST FILE START AUTH...: PATCH a chunk, print the status and the new location
  local host=$1 file=$2 start=$3 size
  shift 3
  size=$(stat -c %s "$file")
  curl -sS -X PATCH -D "$E2E_DIR/patch.h" -o "$E2E_DIR/patch.body" -w '%{http_code}' "$@" \
    -H "Content-Type: application/octet-stream" -H "Content-Range: $start-$((start + size - 1))" \
    --data-binary "@$file" "http://$host$loc"
}
assert_eq "$(patch "$B" "$E2E_DIR/c1" 0 "${auth_b[@]}")" 202 "PATCH chunk 1 (6 MiB) on replica B -> 202"
loc=$(tr -d '\r' <"$E2E_DIR/patch.h" | awk 'tolower($1)=="location:" {print $2}')
assert_eq "$(patch "$A" "$E2E_DIR/c2" "$s1" "${auth_a[@]}")" 202 "PATCH chunk 2 on replica A -> 202"
loc=$(tr -d '\r' <"$E2E_DIR/patch.h" | awk 'tolower($1)=="location:" {print $2}')
range=$(curl -fsS -D - -o /dev/null "${auth_b[@]}" "http://$B$loc" | tr -d '\r' | awk 'tolower($1)=="range:" {print $2}')
assert_eq "$range" "0-$((s1 + s2 - 1))" "replica B reports the offset the upload reached on A"
sep='?'
[[ $loc == *'?'* ]] && sep='&'
code=$(curl -sS -o "$E2E_DIR/put.body" -w '%{http_code}' -X PUT "${auth_b[@]}" \
  -H "Content-Type: application/octet-stream" --data-binary "@$E2E_DIR/c3" "http://$B$loc${sep}digest=$CDIGEST")
assert_eq "$code" 201 "PUT with the last chunk on replica B -> 201"
curl -fsS "${auth_a[@]}" -o "$E2E_DIR/chunked.back" "http://$A/v2/team/chunks/blobs/$CDIGEST"
cmp -s "$E2E_DIR/chunked" "$E2E_DIR/chunked.back" || fail "blob read back through A differs"
ok "the blob assembled on three requests over two replicas reads back byte-identical through A"

# -------------------------------------------- concurrent pushes of one tag ---
make_image "$SRC" race-a 2048
make_image "$SRC" race-b 2048
for i in 1 2 3; do
  sk copy --dest-tls-verify=false --dest-creds "$CREDS" "oci:$SRC:race-a" "docker://$A/team/race:latest" \
    >"$E2E_DIR/race-a.$i.log" 2>&1 &
  pa=$!
  sk copy --dest-tls-verify=false --dest-creds "$CREDS" "oci:$SRC:race-b" "docker://$B/team/race:latest" \
    >"$E2E_DIR/race-b.$i.log" 2>&1 &
  pb=$!
  wait "$pa" || { cat "$E2E_DIR/race-a.$i.log" >&2; fail "concurrent push through A failed (round $i)"; }
  wait "$pb" || { cat "$E2E_DIR/race-b.$i.log" >&2; fail "concurrent push through B failed (round $i)"; }
done
ok "3 rounds of concurrent pushes of team/race:latest through A and B all succeeded"
RA=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="race-a") | .digest' "$SRC/index.json")
RB=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="race-b") | .digest' "$SRC/index.json")
TA=$(sk inspect --raw --tls-verify=false --creds "$CREDS" "docker://$A/team/race:latest" | sha256sum | cut -d' ' -f1)
TB=$(sk inspect --raw --tls-verify=false --creds "$CREDS" "docker://$B/team/race:latest" | sha256sum | cut -d' ' -f1)
assert_eq "sha256:$TA" "sha256:$TB" "both replicas resolve the raced tag to the same manifest"
[[ sha256:$TA == "$RA" || sha256:$TA == "$RB" ]] || fail "the raced tag points at neither pushed manifest"
ok "the raced tag points at one of the two pushed manifests"
for d in "$RA" "$RB"; do
  assert_eq "$(http_status GET "http://$A/v2/team/race/manifests/$d" -u "$CREDS")" 200 "manifest $d is stored"
done
tags=$(curl -fsS -u "$CREDS" "http://$B/v2/team/race/tags/list" | jq -c .tags)
assert_eq "$tags" '["latest"]' "the tag list holds the raced tag once"

# ---------------------------- tag PUT on A vs DELETE of its manifest on B ---
# docs/scale-out.md: B's DELETE is held after it removed the manifest's tags and
# before its revision; A then PUTs the same manifest with a new tag. The
# repository's lock (in PostgreSQL) makes the PUT wait for the DELETE, so the
# new tag never points at a removed revision.
auth_race_a=(-H "Authorization: Bearer $(token_from "$A" "repository:team/race:pull,push,delete")")
auth_race_b=(-H "Authorization: Bearer $(token_from "$B" "repository:team/race:pull,push,delete")")
: >"$HOLD"
curl -sS -o "$E2E_DIR/delete.body" -w '%{http_code}' -X DELETE "${auth_race_b[@]}" \
  "http://$B/v2/team/race/manifests/$RA" >"$E2E_DIR/delete.code" &
delete_pid=$!
wait_until 30 grep -q "manifest.delete.tags_removed reached" "$B_LOG" || fail "B's DELETE did not reach its hook"
locks_reached_past() { [[ $(count_matches "$A_LOG" "metadata.repository.locking reached") -gt $1 ]]; }
locks=$(count_matches "$A_LOG" "metadata.repository.locking reached")
curl -sS -o "$E2E_DIR/put.body" -w '%{http_code}' -X PUT "${auth_race_a[@]}" \
  -H "Content-Type: application/vnd.oci.image.manifest.v1+json" --data-binary "@$SRC/blobs/sha256/${RA#sha256:}" \
  "http://$A/v2/team/race/manifests/new" >"$E2E_DIR/put.code" &
put_pid=$!
wait_until 30 locks_reached_past "$locks" || fail "A's PUT did not reach the repository lock"
sleep 2  # (the lock is taken right after the hook: time for the PUT to finish if nothing held it)
put_waited=0
kill -0 "$put_pid" 2>/dev/null && put_waited=1
rm -f "$HOLD"
wait "$delete_pid" || true
wait "$put_pid" || true
assert_eq "$(cat "$E2E_DIR/delete.code")" 202 "DELETE of the manifest through B (held mid-way) -> 202"
assert_eq "$(cat "$E2E_DIR/put.code")" 201 "PUT of that manifest with a new tag through A -> 201"
assert_eq "$put_waited" 1 "the PUT on A waited for the DELETE on B (the repository's lock spans replicas)"
for host in "$A" "$B"; do
  for tag in $(curl -fsS -u "$CREDS" "http://$host/v2/team/race/tags/list" | jq -r '.tags[]'); do
    code=$(http_status GET "http://$host/v2/team/race/manifests/$tag" -u "$CREDS" \
      -H "Accept: application/vnd.oci.image.manifest.v1+json")
    [[ $code == 200 ]] || fail "tag $tag is listed through $host but its manifest answers $code (the race is open)"
  done
done
assert_eq "$(http_status GET "http://$B/v2/team/race/manifests/new" -u "$CREDS" \
  -H "Accept: application/vnd.oci.image.manifest.v1+json")" 200 "the new tag resolves through B"
ok "no tag is left pointing at a deleted manifest"
TA=$(sk inspect --raw --tls-verify=false --creds "$CREDS" "docker://$A/team/race:new" | sha256sum | cut -d' ' -f1)

# ------------------------------------------------- a replica dies mid-push ---
head -c $((24 * 1024 * 1024)) /dev/urandom >"$E2E_DIR/big"
BIG=sha256:$(sha256sum "$E2E_DIR/big" | cut -d' ' -f1)
loc=$(curl -fsS -X POST -D - -o /dev/null "${auth_a[@]}" "http://$A/v2/team/chunks/blobs/uploads/" |
  tr -d '\r' | awk 'tolower($1)=="location:" {print $2}')
# -T streams the file (--data-binary would read it all first), so the bytes
# curl has read from it (rchar) follow the bytes it has sent.
curl -sS -o /dev/null -X PATCH "${auth_a[@]}" -H "Content-Type: application/octet-stream" \
  --limit-rate 4M -T "$E2E_DIR/big" "http://$A$loc" >/dev/null 2>&1 &
slow=$!
# Kill A once a third of the body is on its way, not after a guessed delay.
patch_under_way() {
  local read
  read=$(awk '/^rchar:/ { print $2 }' "/proc/$slow/io" 2>/dev/null) || return 1
  ((${read:-0} >= 8 * 1024 * 1024))
}
wait_until 30 patch_under_way || fail "the 24 MiB PATCH did not get 8 MiB out within 30 s"
kill -KILL "$A_PID"
wait "$slow" 2>/dev/null || true
ok "replica A killed with SIGKILL in the middle of a 24 MiB PATCH"
# Everything acknowledged before is still there, through B.
assert_eq "$(sk inspect --raw --tls-verify=false --creds "$CREDS" "docker://$B/team/app:v1" | sha256sum | cut -d' ' -f1)" \
  "$D1_A" "team/app:v1 (acknowledged before the kill) is intact on B"
curl -fsS "${auth_b[@]}" -o "$E2E_DIR/chunked.back2" "http://$B/v2/team/chunks/blobs/$CDIGEST"
cmp -s "$E2E_DIR/chunked" "$E2E_DIR/chunked.back2" || fail "an acknowledged blob changed after the kill"
ok "acknowledged blobs are byte-identical after the kill"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -I "${auth_b[@]}" "http://$B/v2/team/chunks/blobs/$BIG")" 404 \
  "the interrupted blob is not visible"
# The interrupted upload is resumable or cleanly gone, never a 500.
st=$(http_status GET "http://$B$loc" "${auth_b[@]}")
[[ $st == 204 || $st == 404 ]] || fail "status of the interrupted upload through B: $st (want 204 or 404)"
ok "the interrupted upload answers $st through B"
# The client retries the whole blob through B.
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "${auth_b[@]}" -H "Content-Type: application/octet-stream" \
  --data-binary "@$E2E_DIR/big" "http://$B/v2/team/chunks/blobs/uploads/?digest=$BIG")
assert_eq "$code" 201 "the retried push through replica B -> 201"
curl -fsS "${auth_b[@]}" -o "$E2E_DIR/big.back" "http://$B/v2/team/chunks/blobs/$BIG"
cmp -s "$E2E_DIR/big" "$E2E_DIR/big.back" || fail "retried blob differs"
ok "the retried 24 MiB blob reads back byte-identical"

# A comes back and sees everything.
_e2e_launch berth write_replica_config "$E2E_DIR/a" any
A=$REG
assert_eq "$(sk inspect --raw --tls-verify=false --creds "$CREDS" "docker://$A/team/race:new" | sha256sum | cut -d' ' -f1)" \
  "$TA" "the restarted replica A serves the same state"
