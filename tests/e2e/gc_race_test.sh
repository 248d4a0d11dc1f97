#!/usr/bin/env bash
# The races of docs/gc.md made deterministic: `berth gc` is held (test hook
# gc.blob.claimed) after it claimed blob X and before it deletes X's bytes,
# while a running Berth serves: a manifest PUT referencing X is refused with
# MANIFEST_BLOB_UNKNOWN (never acknowledged over bytes about to go); an
# upload of X waits for GC to finish and then stores X afresh (201, and X's
# bytes are there afterwards); the manifest then pushes, pulls back and
# `berth verify` is clean.
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
kill -0 "$REG_PID" || fail "berth died"
stop_registry
