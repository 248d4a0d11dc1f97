#!/usr/bin/env bash
# Online garbage collection in `berth serve` (storage.gc, docs/gc.md): with a
# 2 s interval and a 1 s grace, a deleted image's own blobs disappear by
# themselves while the kept image pulls byte for byte; one log line per run,
# audit lines per object removed, berth_gc_* metrics; `berth gc` run next to
# it either collects or reports the lease held (never both at once).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

DATA=$E2E_DIR/data
export E2E_BERTH_STORAGE_EXTRA='  gc: {enabled: true, interval: 2s, delay: 1s}'
start_registry "$DATA"

LAYOUT=$E2E_DIR/layout
make_image "$LAYOUT" keep 100000
make_image "$LAYOUT" drop 150000
sk_copy "oci:$LAYOUT:keep" "docker://$REG/team/app:keep"
sk_copy "oci:$LAYOUT:drop" "docker://$REG/team/app:drop"
keep=$(jq -r .digest <<<"$(oci_manifest_desc "$LAYOUT" keep)")
drop=$(jq -r .digest <<<"$(oci_manifest_desc "$LAYOUT" drop)")
mapfile -t keep_blobs < <(manifest_blobs "$LAYOUT" "$keep")
mapfile -t drop_blobs < <(manifest_blobs "$LAYOUT" "$drop")
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "http://$REG/v2/team/app/manifests/$drop")" 202 "delete image drop"

gone() {  # every blob of `drop` (its layers are its own: make_image writes random data) is gone from disk
  local d
  for d in "$drop" "${drop_blobs[@]}"; do
    [[ ! -e $DATA/docker/registry/v2/blobs/sha256/${d:7:2}/${d:7}/data ]] || return 1
  done
}
wait_until 30 gone || fail "online gc did not remove the deleted image's blobs: $(grep 'gc' "$REG_LOG" | tail -5)"
ok "online gc removed the deleted image's blobs"
for d in "$keep" "${keep_blobs[@]}"; do
  [[ -e $DATA/docker/registry/v2/blobs/sha256/${d:7:2}/${d:7}/data ]] || fail "online gc removed $d, which keep needs"
done
ok "the kept image's blobs are all there"
COPY=$E2E_DIR/copy
sk_copy "docker://$REG/team/app:keep" "oci:$COPY:keep"
check_layout_blobs "kept image after online gc" "$LAYOUT" "$COPY" "$keep"

assert_match "$(cat "$REG_LOG")" "gc: finished" "one log line per run"
assert_match "$(cat "$REG_LOG")" "gc: removed kind=blob" "audit lines for what was removed"
metrics=$(curl -fsS "http://$REG/metrics")
assert_match "$metrics" 'berth_gc_runs_total\{result="success"\} [1-9]' "berth_gc_runs_total counts successful runs"
assert_match "$metrics" 'berth_gc_blobs_deleted_total [1-9]' "berth_gc_blobs_deleted_total"
assert_match "$metrics" 'berth_gc_last_success_timestamp_seconds [1-9]' "last success time"

# berth gc next to the online collector: exits 0 (it collected) or 1 naming the lease.
set +e
out=$("$BERTH_BIN" gc --config "$REG_CFG" 2>&1)
rc=$?
set -e
if [[ $rc -ne 0 ]]; then assert_match "$out" "another garbage collection is running" "berth gc defers to the online collector"; fi
out=$("$BERTH_BIN" verify --config "$REG_CFG") || fail "verify after online gc: $out"
assert_match "$out" "OK: no problems" "verify clean after online gc"
stop_registry
