#!/usr/bin/env bash
# `berth gc` (docs/gc.md) next to a running Berth: two images sharing layers in
# one repository, one deleted; a dry run changes nothing; gc frees exactly the
# deleted image's own blobs (`berth du` before/after), the other image still
# pulls byte for byte, `berth verify` (with the database check) is clean, and
# a second run finds nothing. Interchange: docker-registry serves the collected
# store, and its `garbage-collect --dry-run` marks nothing the kept image needs.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

DATA=$E2E_DIR/data
export E2E_BERTH_STORAGE_EXTRA='  gc: {delay: 1s}'
start_registry "$DATA"

LAYOUT=$E2E_DIR/layout
make_image "$LAYOUT" a 300000
# b = a plus one layer of its own: they share a's layers.
umoci tag --image "$LAYOUT:a" b
work=$(mktemp -d "$E2E_DIR/extra.XXXXXX")
mkdir -p "$work/extra"
head -c 200000 /dev/urandom >"$work/extra/own.bin"
umoci insert --rootless --image "$LAYOUT:b" "$work/extra" /extra
sk_copy "oci:$LAYOUT:a" "docker://$REG/team/app:a"
sk_copy "oci:$LAYOUT:b" "docker://$REG/team/app:b"

a_digest=$(jq -r .digest <<<"$(oci_manifest_desc "$LAYOUT" a)")
b_digest=$(jq -r .digest <<<"$(oci_manifest_desc "$LAYOUT" b)")
mapfile -t a_blobs < <(manifest_blobs "$LAYOUT" "$a_digest")
mapfile -t b_blobs < <(manifest_blobs "$LAYOUT" "$b_digest")
# What deleting b frees: its manifest, and its blobs that a does not reference.
expected=$(stat -c %s "$(blob_path "$LAYOUT" "$b_digest")")
for d in "${b_blobs[@]}"; do
  printf '%s\n' "${a_blobs[@]}" | grep -qx "$d" || expected=$((expected + $(stat -c %s "$(blob_path "$LAYOUT" "$d")")))
done
note "b's own bytes: $expected"

before=$("$BERTH_BIN" du --config "$REG_CFG" --json | jq .store.bytes)
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "http://$REG/v2/team/app/manifests/$b_digest")" 202 \
  "delete image b"
sleep 2  # past the 1 s grace

dry=$("$BERTH_BIN" gc --config "$REG_CFG" --dry-run --json)
assert_eq "$(jq .bytes <<<"$dry")" "$expected" "dry run: would free exactly b's own bytes"
assert_eq "$("$BERTH_BIN" du --config "$REG_CFG" --json | jq .store.bytes)" "$before" "dry run: nothing removed"

out=$("$BERTH_BIN" gc --config "$REG_CFG") || fail "gc failed: $out"
note "$out"
assert_match "$out" "removed [0-9]+ blobs \\($expected bytes\\)" "gc frees b's own bytes"
after=$("$BERTH_BIN" du --config "$REG_CFG" --json | jq .store.bytes)
assert_eq "$((before - after))" "$expected" "du drops by exactly b's own bytes"

COPY=$E2E_DIR/copy
sk_copy "docker://$REG/team/app:a" "oci:$COPY:a"
check_layout_blobs "image a after gc" "$LAYOUT" "$COPY" "$a_digest"
out=$("$BERTH_BIN" verify --config "$REG_CFG") || fail "verify after gc: $out"
assert_match "$out" "OK: no problems" "verify clean after gc"
again=$("$BERTH_BIN" gc --config "$REG_CFG" --json)
assert_eq "$(jq '.blobs + .manifests + .links' <<<"$again")" 0 "a second run finds nothing"
kill -0 "$REG_PID" || fail "berth died while gc ran next to it"
stop_registry

# Interchange: distribution serves the store Berth collected, and its own
# offline GC finds nothing of image a to delete.
start_distribution "$DATA"
COPY2=$E2E_DIR/copy2
sk_copy "docker://$REG/team/app:a" "oci:$COPY2:a"
check_layout_blobs "image a served by distribution" "$LAYOUT" "$COPY2" "$a_digest"
stop_registry
# (docker-registry reads REGISTRY_* variables as config overrides: none of the test's may leak in.)
marked=$(
  while read -r v; do unset "$v"; done < <(compgen -e | grep '^REGISTRY_')
  "$DISTRIBUTION_BIN" garbage-collect --dry-run "$REG_CFG" 2>&1
) || fail "garbage-collect: $marked"
grep -q "marking manifest" <<<"$marked" || fail "garbage-collect did not mark anything (wrong store?): $marked"
for d in "$a_digest" "${a_blobs[@]}"; do
  if grep -q "blob eligible for deletion: $d" <<<"$marked"; then fail "distribution's gc would delete $d, which a needs"; fi
done
ok "distribution's garbage-collect --dry-run marks nothing image a needs"
