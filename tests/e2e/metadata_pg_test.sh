#!/usr/bin/env bash
# The metadata database in PostgreSQL, served by two Berth replicas on one
# store (a shared filesystem directory here; tests/e2e/scale_out_test.sh does
# the same on Ceph RGW), against a real server from Debian's postgresql
# (tests/tools/postgres.sh, started and stopped by this script):
#  - a start that cannot use its database stops with a clear error: a corrupt
#    SQLite file (left untouched), a PostgreSQL that cannot be reached;
#  - a tag pushed through replica A is listed at once through replica B;
#  - the cross-replica race (docs/scale-out.md): a DELETE of a manifest on B,
#    held by a test hook after it removed the tags and before the revision, and
#    a PUT of that manifest with a new tag on A. The PUT waits for the DELETE's
#    repository lock, so the new tag points at a manifest that exists;
#  - PostgreSQL stopped: pulls still work, pushes and listings answer 503
#    UNAVAILABLE; started again, pushes work without restarting Berth.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || skip "PostgreSQL is not installed (apt-get install postgresql)"
[[ $(id -u) == 0 ]] || skip "tests/tools/postgres.sh runs the server as the postgres user (needs root)"

# ------------------------------------------------------------ PostgreSQL ---
chmod 711 "$E2E_DIR"  # the postgres user reaches its directory below
PG_DIR=$E2E_DIR/pg
PG_PORT=$(free_port)
"$E2E_REPO_ROOT/tests/tools/postgres.sh" start "$PG_DIR" "$PG_PORT" >"$E2E_DIR/pg-start.log" 2>&1 ||
  { cat "$E2E_DIR/pg-start.log" >&2; fail "cannot start PostgreSQL"; }
_stop_pg() { "$E2E_REPO_ROOT/tests/tools/postgres.sh" stop "$PG_DIR" >/dev/null 2>&1 || true; }
trap 'rc=$?; _stop_pg; (exit $rc); _e2e_cleanup' EXIT  # (keeps the script's exit status)
note "PostgreSQL on 127.0.0.1:$PG_PORT"

pg_metadata() {  # pg_metadata PORT: the storage.metadata lines
  printf '  metadata: {driver: postgres, host: "127.0.0.1", port: %s, dbname: berth, user: berth, password: berth, sslmode: require, connect_timeout: 2s}\n' "$1"
}

# ------------------------------------------------- starts that must fail ---
# start_fails CONFIG_EXTRA DATADIR: berth serve exits non-zero; prints its log.
start_fails() {
  local cfg=$E2E_DIR/fail-$RANDOM.yml log=$E2E_DIR/fail-$RANDOM.log
  E2E_BERTH_STORAGE_EXTRA=$1 _e2e_write_berth_config "$cfg" "$2" "$(free_port)"
  if timeout 30 "$BERTH_BIN" serve --config "$cfg" >"$log" 2>&1 </dev/null; then
    fail "berth serve started with $1"
  fi
  cat "$log"
}
mkdir -p "$E2E_DIR/corrupt"
head -c 8192 /dev/urandom >"$E2E_DIR/corrupt/metadata.db"
cp "$E2E_DIR/corrupt/metadata.db" "$E2E_DIR/corrupt.orig"
out=$(start_fails "" "$E2E_DIR/corrupt")
assert_match "$out" "metadata database .*corrupt or not a SQLite database" \
  "a corrupt SQLite file stops the start with a clear error"
cmp -s "$E2E_DIR/corrupt/metadata.db" "$E2E_DIR/corrupt.orig" || fail "the corrupt file was changed"
ok "... and is left byte-identical"
out=$(start_fails "$(pg_metadata "$(free_port)")" "$E2E_DIR/nopg")
assert_match "$out" "cannot open the metadata database.*postgres" \
  "a PostgreSQL that cannot be reached stops the start with a clear error"

# -------------------------------------------------------------- replicas ---
DATA=$E2E_DIR/data
HOLD=$E2E_DIR/hold-delete
export E2E_BERTH_STORAGE_EXTRA
E2E_BERTH_STORAGE_EXTRA=$(pg_metadata "$PG_PORT")
# A marks where a manifest write waits for the repository's lock; B can be held
# inside a manifest DELETE, between its tags and its revision.
BERTH_TEST_HOOKS="metadata.repository.locking" start_berth "$DATA"
A=$REG A_LOG=$REG_LOG A_PID=$REG_PID
BERTH_TEST_HOOKS="manifest.delete.tags_removed:hold=$HOLD" start_berth "$DATA"
B=$REG B_LOG=$REG_LOG
grep -q "metadata database.*postgres://berth@127.0.0.1:$PG_PORT" "$A_LOG" || fail "A's log does not name its database"
ok "both replicas use the one PostgreSQL (logged at start)"

# ---------------------------------------------------------------- pushes ---
# push_blob HOST REPO FILE: monolithic upload; prints the HTTP status.
push_blob() {
  local digest
  digest=sha256:$(sha256sum "$3" | cut -d' ' -f1)
  curl -sS -o "$E2E_DIR/last.body" -w '%{http_code}' -X POST -H "Content-Type: application/octet-stream" \
    --data-binary "@$3" "http://$1/v2/$2/blobs/uploads/?digest=$digest"
}
# make_manifest NAME SEED: a config and a layer in $E2E_DIR/NAME.{config,layer,json}.
make_manifest() {
  local base=$E2E_DIR/$1
  printf '{"architecture":"amd64","os":"linux","seed":"%s"}' "$2" >"$base.config"
  head -c 2048 /dev/urandom >"$base.layer"
  jq -cn --arg c "sha256:$(sha256sum "$base.config" | cut -d' ' -f1)" --argjson cs "$(stat -c %s "$base.config")" \
    --arg l "sha256:$(sha256sum "$base.layer" | cut -d' ' -f1)" --argjson ls "$(stat -c %s "$base.layer")" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' >"$base.json"
  printf 'sha256:%s\n' "$(sha256sum "$base.json" | cut -d' ' -f1)"
}
# put_manifest HOST REPO REF NAME: prints the HTTP status.
put_manifest() {
  curl -sS -o "$E2E_DIR/last.body" -w '%{http_code}' -X PUT \
    -H "Content-Type: application/vnd.oci.image.manifest.v1+json" \
    --data-binary "@$E2E_DIR/$4.json" "http://$1/v2/$2/manifests/$3"
}
# push HOST REPO TAG NAME: blobs and manifest; fails the test unless all are 201.
push() {
  local code
  for part in config layer; do
    code=$(push_blob "$1" "$2" "$E2E_DIR/$4.$part")
    [[ $code == 201 ]] || fail "push $2:$3 through $1: $part upload answered $code: $(cat "$E2E_DIR/last.body")"
  done
  code=$(put_manifest "$1" "$2" "$3" "$4")
  [[ $code == 201 ]] || fail "push $2:$3 through $1: manifest PUT answered $code: $(cat "$E2E_DIR/last.body")"
}
tags_of() { curl -fsS "http://$1/v2/$2/tags/list" | jq -c .tags; }

IMG1=$(make_manifest img1 one)
push "$A" team/app v1 img1
assert_eq "$(tags_of "$B" team/app)" '["v1"]' "a tag pushed through replica A is listed at once through replica B"
assert_eq "$(curl -fsS "http://$B/v2/_catalog" | jq -c .repositories)" '["team/app"]' \
  "... and its repository is in B's catalog"

# ------------------------------------------------------------------ race ---
IMG2=$(make_manifest img2 two)
push "$A" team/race old img2
: >"$HOLD"
curl -sS -o "$E2E_DIR/delete.body" -w '%{http_code}' -X DELETE "http://$B/v2/team/race/manifests/$IMG2" \
  >"$E2E_DIR/delete.code" &
DELETE_PID=$!
wait_until 20 grep -q "manifest.delete.tags_removed reached" "$B_LOG" ||
  fail "B's DELETE did not reach the hook"
ok "B's DELETE is held after removing the tags, before removing the revision"
locks_before=$(count_matches "$A_LOG" "metadata.repository.locking reached")
put_manifest "$A" team/race new img2 >"$E2E_DIR/put.code" &
PUT_PID=$!
locks_reached_past() { [[ $(count_matches "$A_LOG" "metadata.repository.locking reached") -gt $1 ]]; }
wait_until 20 locks_reached_past "$locks_before" ||
  fail "A's PUT did not reach the repository lock"
# The lock is taken right after the hook: give A's PUT time to finish if nothing holds it.
sleep 2
if kill -0 "$PUT_PID" 2>/dev/null; then
  ok "A's PUT of the same manifest waits while B's DELETE holds the repository's lock"
  put_waited=1
else
  put_waited=0
fi
rm -f "$HOLD"
wait "$DELETE_PID" || true
wait "$PUT_PID" || true
assert_eq "$(cat "$E2E_DIR/delete.code")" 202 "B's DELETE -> 202"
assert_eq "$(cat "$E2E_DIR/put.code")" 201 "A's PUT -> 201"
# Whatever the order, a listed tag must resolve: never a tag left pointing at a deleted manifest.
for host in "$A" "$B"; do
  for tag in $(curl -fsS "http://$host/v2/team/race/tags/list" | jq -r '.tags[]'); do
    code=$(http_status GET "http://$host/v2/team/race/manifests/$tag" \
      -H "Accept: application/vnd.oci.image.manifest.v1+json")
    [[ $code == 200 ]] || fail "tag $tag is listed through $host but its manifest answers $code (the race is open)"
  done
done
assert_eq "$(tags_of "$A" team/race)" '["new"]' "the DELETE ran first, then the PUT: only the new tag, and it resolves"
assert_eq "$(http_status GET "http://$B/v2/team/race/manifests/new")" 200 "... through both replicas"
assert_eq "$put_waited" 1 "the PUT waited for the DELETE (the repository lock serialises replicas)"

# ---------------------------------------------------------------- outage ---
"$E2E_REPO_ROOT/tests/tools/postgres.sh" halt "$PG_DIR"
note "PostgreSQL stopped"
assert_eq "$(http_status GET "http://$B/v2/team/app/manifests/v1")" 200 "PostgreSQL down: a manifest pull still works"
layer=sha256:$(sha256sum "$E2E_DIR/img1.layer" | cut -d' ' -f1)
curl -fsS -o "$E2E_DIR/layer.back" "http://$B/v2/team/app/blobs/$layer" || fail "blob GET failed with PostgreSQL down"
cmp -s "$E2E_DIR/layer.back" "$E2E_DIR/img1.layer" || fail "blob pulled with PostgreSQL down differs"
ok "... and a blob pull too"
IMG3=$(make_manifest img3 three)
assert_eq "$(push_blob "$A" team/app "$E2E_DIR/img3.layer")" 503 "a blob push answers 503"
assert_eq "$(jq -r '.errors[0].code' "$E2E_DIR/last.body")" UNAVAILABLE "... with the spec's error body (UNAVAILABLE)"
assert_match "$(jq -r '.errors[0].message' "$E2E_DIR/last.body")" "metadata database is unavailable" \
  "... and a clear message"
assert_eq "$(http_status GET "http://$B/v2/team/app/tags/list")" 503 "tags/list answers 503"
assert_eq "$(http_status GET "http://$A/v2/_catalog")" 503 "_catalog answers 503"
assert_eq "$(put_manifest "$B" team/app v1 img1)" 503 "a manifest PUT answers 503"
grep -q "metadata database" "$A_LOG" || fail "no log line about the database in A's log"
ok "the failures are logged"

assert_eq "$(push_blob "$A" team/app "$E2E_DIR/img3.config")" 503 \
  "(the config too: neither is stored, a blob is recorded in the database before its bytes are committed, docs/gc.md)"

"$E2E_REPO_ROOT/tests/tools/postgres.sh" resume "$PG_DIR"
note "PostgreSQL started again"
listing_back() { [[ $(http_status GET "http://$B/v2/team/app/tags/list") == 200 ]]; }
wait_until 30 listing_back || fail "listings did not recover after PostgreSQL came back"
ok "PostgreSQL back: listings work again without a restart"
# A blob whose upload got the 503 was not stored: HEAD says so, and the client uploads it again.
assert_eq "$(http_status HEAD "http://$A/v2/team/app/blobs/sha256:$(sha256sum "$E2E_DIR/img3.layer" | cut -d' ' -f1)")" 404 \
  "a blob refused during the outage was not stored (HEAD 404: the client uploads it again)"
assert_eq "$(push_blob "$A" team/app "$E2E_DIR/img3.layer")" 201 "... and its upload works now"
assert_eq "$(push_blob "$A" team/app "$E2E_DIR/img3.config")" 201 "... the config's too"
assert_eq "$(put_manifest "$A" team/app v3 img3)" 201 "... and the manifest naming them is accepted"
IMG4=$(make_manifest img4 four)
push "$A" team/app v4 img4
assert_eq "$(tags_of "$B" team/app)" '["v1","v3","v4"]' "pushes work again without a restart, listed through B"
[[ -n $IMG1 && -n $IMG3 && -n $IMG4 ]]

stop_registry
stop_registry "$A_PID"
ok "both replicas stop cleanly"
