#!/usr/bin/env bash
# The races of docs/gc.md made deterministic: `berth gc` is held (test hook
# gc.blob.claimed) after it claimed blob X and before it deletes X's bytes,
# while a running Berth serves: a manifest PUT referencing X is refused with
# MANIFEST_BLOB_UNKNOWN (never acknowledged over bytes about to go); an
# upload of X waits for GC to finish and then stores X afresh (201, and X's
# bytes are there afterwards); the manifest then pushes, pulls back and
# `berth verify` is clean. Then:
#  - held at gc.link.row_deleted (GC deleted a garbage link's row and holds the
#    repository's lock before its storage link): an upload of the same blob
#    into that repository waits for the lock, then links it afresh, so storage
#    and database agree (the "open window" of docs/gc.md, closed);
#  - held at gc.blob.claimed on blob M while the source repository's storage
#    still links M (storage ahead of the database, as after a crash): a
#    cross-repository mount of M falls back to an upload session (202), the
#    client uploads M, and M is intact and pullable after GC resumes;
#  - two collectors: the server's online GC holding the lease (gc.lease.acquired)
#    makes `berth gc` exit 1 naming the lease; `berth gc` holding it makes the
#    online runs skip (log, berth_gc_runs_total{result="skipped"}); afterwards
#    `berth verify` and `berth db check` are clean.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

DATA=$E2E_DIR/data
export E2E_BERTH_STORAGE_EXTRA='  gc: {delay: 1s}'
start_registry "$DATA"

digest_of() { printf 'sha256:%s' "$(sha256sum "$1" | cut -d' ' -f1)"; }
upload() {  # REPO FILE: prints the status of a monolithic upload
  curl -sS -o /dev/null -w '%{http_code}' -X POST --data-binary @"$2" \
    -H 'Content-Type: application/octet-stream' "http://$REG/v2/$1/blobs/uploads/?digest=$(digest_of "$2")"
}
head -c 100000 /dev/urandom >"$E2E_DIR/blob1"
head -c 100000 /dev/urandom >"$E2E_DIR/blob2"
assert_eq "$(upload team/x "$E2E_DIR/blob1")" 201 "upload blob1"
assert_eq "$(upload team/x "$E2E_DIR/blob2")" 201 "upload blob2"
# X: the blob GC claims first (blobs go in digest order); Y: the other one, used as the config.
if [[ $(digest_of "$E2E_DIR/blob1") < $(digest_of "$E2E_DIR/blob2") ]]; then X=blob1 Y=blob2; else X=blob2 Y=blob1; fi
x=$(digest_of "$E2E_DIR/$X")
sleep 2  # both past the 1 s grace, referenced by nothing

HOLD=$E2E_DIR/hold
touch "$HOLD"
BERTH_TEST_HOOKS="gc.blob.claimed:hold=$HOLD" "$BERTH_BIN" gc --config "$REG_CFG" >"$E2E_DIR/gc.out" 2>"$E2E_DIR/gc.err" &
GC_PID=$!
wait_until 30 grep -q 'gc.blob.claimed reached' "$E2E_DIR/gc.err" || fail "gc never reached its claim: $(cat "$E2E_DIR/gc.err")"
ok "gc holds after claiming $x"

# A manifest referencing X (the client skipped its upload after an earlier HEAD): refused.
assert_eq "$(upload team/x "$E2E_DIR/$Y")" 201 "upload the config again (not claimed yet)"
manifest=$(jq -cn --arg c "$(digest_of "$E2E_DIR/$Y")" --arg l "$x" \
  '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: 100000},
    layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: 100000}]}')
code=$(curl -sS -o "$E2E_DIR/put.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "$manifest" "http://$REG/v2/team/x/manifests/v1")
assert_eq "$code" 400 "manifest PUT referencing the claimed blob is refused"
assert_eq "$(jq -r '.errors[0].code' "$E2E_DIR/put.json")" MANIFEST_BLOB_UNKNOWN "with MANIFEST_BLOB_UNKNOWN"

# An upload of X while GC holds: it waits for GC to finish (released after 0.5 s), then stores X afresh.
upload team/x "$E2E_DIR/$X" >"$E2E_DIR/upload.code" &
UP_PID=$!
sleep 0.5
rm -f "$HOLD"
wait "$UP_PID"
wait "$GC_PID" || fail "gc failed: $(cat "$E2E_DIR/gc.err")"
assert_eq "$(cat "$E2E_DIR/upload.code")" 201 "the upload during GC's sweep is acknowledged"
assert_match "$(cat "$E2E_DIR/gc.out")" "removed blob $x" "gc removed the claimed bytes before the upload stored them again"
curl -sS -o "$E2E_DIR/x.back" "http://$REG/v2/team/x/blobs/$x"
cmp -s "$E2E_DIR/x.back" "$E2E_DIR/$X" || fail "blob X after the race differs from what was uploaded"
ok "blob X is served byte for byte after the race"

code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "$manifest" "http://$REG/v2/team/x/manifests/v1")
assert_eq "$code" 201 "the manifest pushes once X is uploaded again"
out=$("$BERTH_BIN" verify --config "$REG_CFG") || fail "verify after the race: $out"
assert_match "$out" "OK: no problems" "verify clean after the race"

push_manifest() {  # REPO TAG CONFIG_DIGEST LAYER_DIGEST: prints the status
  local m
  m=$(jq -cn --arg c "$3" --arg l "$4" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: 100000},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: 100000}]}')
  curl -sS -o "$E2E_DIR/put.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "$m" "http://$REG/v2/$1/manifests/$2"
}
db_check_clean() {  # WHAT
  local out
  out=$("$BERTH_BIN" db check --config "$REG_CFG" 2>&1) || fail "db check after $1: $out"
  assert_match "$out" ": OK" "db check clean after $1"
}

# ---- a re-upload into a repository whose stale link GC is removing ----
head -c 100000 /dev/urandom >"$E2E_DIR/blobz"
z=$(digest_of "$E2E_DIR/blobz")
assert_eq "$(upload team/w "$E2E_DIR/blobz")" 201 "upload blob Z into team/w (no manifest: a stale link)"
sleep 2  # the link and Z past the 1 s grace
HOLD=$E2E_DIR/hold-link
touch "$HOLD"
BERTH_TEST_HOOKS="gc.link.row_deleted:hold=$HOLD" "$BERTH_BIN" gc --config "$REG_CFG" >"$E2E_DIR/gc2.out" 2>"$E2E_DIR/gc2.err" &
GC_PID=$!
wait_until 30 grep -q 'gc.link.row_deleted reached' "$E2E_DIR/gc2.err" ||
  fail "gc never reached the link's storage half: $(cat "$E2E_DIR/gc2.err")"
ok "gc holds between team/w's link row and its storage link"
upload team/w "$E2E_DIR/blobz" >"$E2E_DIR/upload2.code" &
UP_PID=$!
sleep 1
[[ ! -s $E2E_DIR/upload2.code ]] ||
  fail "the upload linked Z while GC held team/w's lock (answered $(cat "$E2E_DIR/upload2.code") at once)"
ok "the upload's link step waits for the repository's lock"
rm -f "$HOLD"
wait "$UP_PID"
wait "$GC_PID" || fail "gc failed: $(cat "$E2E_DIR/gc2.err")"
assert_eq "$(cat "$E2E_DIR/upload2.code")" 201 "the re-upload is acknowledged"
assert_match "$(cat "$E2E_DIR/gc2.out")" "removed link team/w $z" "gc removed the stale link before the upload wrote it again"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -I "http://$REG/v2/team/w/blobs/$z")" 200 "Z is linked in team/w after the race"
db_check_clean "the link race"
assert_eq "$(push_manifest team/w v1 "$z" "$z")" 201 "a manifest referencing Z pushes into team/w"

# ---- a mount of a blob GC has claimed ----
head -c 100000 /dev/urandom >"$E2E_DIR/blobm"
mb=$(digest_of "$E2E_DIR/blobm")
assert_eq "$(upload team/src "$E2E_DIR/blobm")" 201 "upload blob M into team/src"
LINK=$DATA/docker/registry/v2/repositories/team/src/_layers/sha256/${mb#sha256:}/link
[[ -f $LINK ]] || fail "no storage link at $LINK"
cp "$LINK" "$E2E_DIR/m.link"
sleep 2
HOLD=$E2E_DIR/hold-claim
touch "$HOLD"
BERTH_TEST_HOOKS="gc.blob.claimed:hold=$HOLD" "$BERTH_BIN" gc --config "$REG_CFG" >"$E2E_DIR/gc3.out" 2>"$E2E_DIR/gc3.err" &
GC_PID=$!
wait_until 30 grep -q 'gc.blob.claimed reached' "$E2E_DIR/gc3.err" || fail "gc never claimed M: $(cat "$E2E_DIR/gc3.err")"
# GC removed team/src's link (row and storage) before claiming M; put the storage
# link back, so the mount finds M linked in its source and meets the claim.
mkdir -p "$(dirname "$LINK")"
cp "$E2E_DIR/m.link" "$LINK"
code=$(curl -sS -o /dev/null -D "$E2E_DIR/mount.h" -w '%{http_code}' -X POST \
  "http://$REG/v2/team/dst/blobs/uploads/?mount=$mb&from=team/src")
assert_eq "$code" 202 "a mount of the claimed blob falls back to an upload session"
location=$(tr -d '\r' <"$E2E_DIR/mount.h" | sed -n 's/^[Ll]ocation: //p')
rm -f "$HOLD"
rm -rf "$(dirname "$LINK")"  # the restored link again (the database never knew it)
wait "$GC_PID" || fail "gc failed: $(cat "$E2E_DIR/gc3.err")"
assert_match "$(cat "$E2E_DIR/gc3.out")" "removed blob $mb" "gc removed M's bytes"
sep='?'
[[ $location != *\?* ]] || sep='&'
[[ $location == http* ]] || location=http://$REG$location
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
  --data-binary @"$E2E_DIR/blobm" "$location${sep}digest=$mb")
assert_eq "$code" 201 "the client uploads M into the session the mount opened"
curl -sS -o "$E2E_DIR/m.back" "http://$REG/v2/team/dst/blobs/$mb"
cmp -s "$E2E_DIR/m.back" "$E2E_DIR/blobm" || fail "blob M after the mount race differs from what was uploaded"
ok "blob M is served byte for byte from team/dst after GC resumed"
assert_eq "$(push_manifest team/dst v1 "$mb" "$mb")" 201 "a manifest referencing M pushes into team/dst"
db_check_clean "the mount race"
kill -0 "$REG_PID" || fail "berth died"
stop_registry

# ---- two collectors: online GC in the server and berth gc ----
export E2E_BERTH_STORAGE_EXTRA='  gc: {enabled: true, interval: 1s, delay: 1s}'
SRV_HOLD=$E2E_DIR/hold-server
touch "$SRV_HOLD"
BERTH_TEST_HOOKS="gc.lease.acquired:hold=$SRV_HOLD" start_registry "$DATA"
wait_until 30 grep -q 'gc.lease.acquired reached' "$REG_LOG" || fail "the online gc never took the lease"
set +e
out=$("$BERTH_BIN" gc --config "$REG_CFG" 2>&1)
rc=$?
set -e
assert_eq "$rc" 1 "berth gc exits 1 while the online gc holds the lease"
assert_match "$out" "another garbage collection is running" "and names the lease: $out"
rm -f "$SRV_HOLD"
wait_until 30 grep -q 'gc: finished' "$REG_LOG" || fail "the online gc did not finish: $(grep gc "$REG_LOG" | tail -5)"
ok "the online gc finished its run"

CLI_HOLD=$E2E_DIR/hold-cli
touch "$CLI_HOLD"
skipped_before=$(count_matches "$REG_LOG" "gc: skipped")
# An online run (every second, a few ms long) may hold the lease the moment
# berth gc starts: then berth gc exits 1 and is started again.
cli_holds_or_exited() { grep -q 'gc.lease.acquired reached' "$E2E_DIR/gc4.err" || ! kill -0 "$GC_PID" 2>/dev/null; }
for attempt in 1 2 3 4 5; do
  BERTH_TEST_HOOKS="gc.lease.acquired:hold=$CLI_HOLD" "$BERTH_BIN" gc --config "$REG_CFG" >"$E2E_DIR/gc4.out" 2>"$E2E_DIR/gc4.err" &
  GC_PID=$!
  wait_until 30 cli_holds_or_exited || fail "berth gc neither took the lease nor exited"
  grep -q 'gc.lease.acquired reached' "$E2E_DIR/gc4.err" && break
  wait "$GC_PID" || true
  assert_match "$(cat "$E2E_DIR/gc4.err")" "another garbage collection is running" "berth gc attempt $attempt met the online run"
done
grep -q 'gc.lease.acquired reached' "$E2E_DIR/gc4.err" || fail "berth gc never took the lease: $(cat "$E2E_DIR/gc4.err")"
skipped_more() { [[ $(count_matches "$REG_LOG" "gc: skipped") -gt $skipped_before ]]; }
wait_until 30 skipped_more || fail "the online gc did not skip while berth gc held the lease"
ok "the online gc skips while berth gc holds the lease"
assert_match "$(curl -fsS "http://$REG/metrics")" 'berth_gc_runs_total\{result="skipped"\} [1-9]' \
  'berth_gc_runs_total{result="skipped"} counts it'
rm -f "$CLI_HOLD"
wait "$GC_PID" || fail "berth gc failed: $(cat "$E2E_DIR/gc4.err")"
out=$("$BERTH_BIN" verify --config "$REG_CFG") || fail "verify after two collectors: $out"
assert_match "$out" "OK: no problems" "verify clean after two collectors"
db_check_clean "two collectors"
kill -0 "$REG_PID" || fail "berth died"
stop_registry
