#!/usr/bin/env bash
# On-disk interchange with CNCF distribution (docker-registry):
#  (a) docker-registry writes D1; the registry under test serves D1.
#  (b) the registry under test writes D2; docker-registry serves D2.
#  (c) the registry under test adds a tag to D1; docker-registry serves it.
# With E2E_IMPL=distribution both sides are docker-registry.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SRC=$E2E_DIR/src
D1=$E2E_DIR/d1
D2=$E2E_DIR/d2
MEDIUM_MB=${E2E_MEDIUM_LAYER_MB:-16}

make_image "$SRC" small 65536
make_image "$SRC" gone 4096
make_image "$SRC" amd64 8192 amd64
make_image "$SRC" arm64 8192 arm64
make_index "$SRC" multi amd64 arm64
make_image "$SRC" medium $((MEDIUM_MB * 1024 * 1024))
make_image "$SRC" extra 4096
desc_digest() { jq -r .digest <<<"$(oci_manifest_desc "$SRC" "$1")"; }
SMALL=$(desc_digest small)
GONE=$(desc_digest gone)
MULTI=$(desc_digest multi)
AMD=$(desc_digest amd64)
ARM=$(desc_digest arm64)
MEDIUM=$(desc_digest medium)
EXTRA=$(desc_digest extra)

# push_set LABEL: the same content on every side
push_set() {
  local label=$1
  sk_copy "oci:$SRC:small" "docker://$REG/e2e/small:v1" || fail "$label: push e2e/small:v1"
  sk_copy "oci:$SRC:small" "docker://$REG/e2e/small:v2" || fail "$label: push e2e/small:v2"
  sk_copy --format v2s2 "oci:$SRC:small" "docker://$REG/e2e/small-docker:v1" || fail "$label: push e2e/small-docker:v1"
  sk_copy --all "oci:$SRC:multi" "docker://$REG/e2e/multi:v1" || fail "$label: push e2e/multi:v1"
  sk_copy "oci:$SRC:medium" "docker://$REG/e2e/medium:v1" || fail "$label: push e2e/medium:v1"
  sk_copy "oci:$SRC:gone" "docker://$REG/e2e/small:gone" || fail "$label: push e2e/small:gone"
  sk delete --tls-verify=false "docker://$REG/e2e/small:gone" || fail "$label: delete e2e/small:gone"
  ok "$label: pushed small (2 tags), v2s2, multi-arch index, ${MEDIUM_MB} MB image; deleted one manifest"
}

# snapshot: what a client sees (digests of every ref, tag lists)
snapshot() {
  local ref
  for ref in e2e/small:v1 e2e/small:v2 e2e/small-docker:v1 e2e/multi:v1 "e2e/multi@$ARM" "e2e/multi@$AMD" e2e/medium:v1; do
    printf '%s %s\n' "$ref" "$(sk_digest "docker://$REG/$ref")"
  done
  for ref in e2e/small e2e/small-docker e2e/multi e2e/medium; do
    printf '%s tags: %s\n' "$ref" "$(sk_tags "docker://$REG/$ref" | paste -sd' ')"
  done
}

# verify_set LABEL EXPECTED_SNAPSHOT_FILE: pull everything and compare
verify_set() {
  local label=$1 expected=$2 out
  out=$(mktemp -d "$E2E_DIR/pull.XXXXXX")
  snapshot >"$out.snapshot" || fail "$label: could not read refs/tags"
  if ! diff -u "$expected" "$out.snapshot" >&2; then
    fail "$label: digests/tags differ from what was pushed"
  fi
  ok "$label: manifest digests and tag lists identical"
  assert_eq "$(sk_digest "docker://$REG/e2e/small:v1")" "$SMALL" "$label: e2e/small:v1 is the pushed manifest"
  assert_eq "$(sk_digest "docker://$REG/e2e/multi:v1")" "$MULTI" "$label: e2e/multi:v1 is the pushed index"
  assert_eq "$(head_manifest e2e/multi v1 | header content-type)" "application/vnd.oci.image.index.v1+json" "$label: index Content-Type"
  assert_eq "$(head_manifest e2e/small-docker v1 | header content-type)" \
    "application/vnd.docker.distribution.manifest.v2+json" "$label: v2s2 Content-Type"
  assert_fails "$label: deleted manifest stays deleted" sk_raw "docker://$REG/e2e/small@$GONE"
  sk_copy "docker://$REG/e2e/small:v1" "oci:$out/layout:small" || fail "$label: pull e2e/small:v1"
  check_layout_blobs "$label: e2e/small:v1 blobs" "$SRC" "$out/layout" "$SMALL"
  sk_copy --all "docker://$REG/e2e/multi:v1" "oci:$out/layout:multi" || fail "$label: pull e2e/multi:v1 --all"
  assert_eq "$(sk_digest "oci:$out/layout:multi")" "$MULTI" "$label: pulled index digest identical"
  check_layout_blobs "$label: arm64 blobs" "$SRC" "$out/layout" "$ARM"
  check_layout_blobs "$label: amd64 blobs" "$SRC" "$out/layout" "$AMD"
  sk_copy "docker://$REG/e2e/medium:v1" "oci:$out/layout:medium" || fail "$label: pull e2e/medium:v1"
  check_layout_blobs "$label: ${MEDIUM_MB} MB image blobs" "$SRC" "$out/layout" "$MEDIUM"
  sk_copy "docker://$REG/e2e/small-docker:v1" "dir:$out/v2s2" || fail "$label: pull e2e/small-docker:v1"
  assert_eq "$(sha256_file "$out/v2s2/manifest.json")" "$(sk_digest "docker://$REG/e2e/small-docker:v1")" "$label: pulled v2s2 manifest identical"
  rm -rf "$out"
}

# check_layout DIR: the distribution filesystem layout is there
check_layout() {
  local label=$1 dir=$2/docker/registry/v2 d
  while read -r d; do
    [[ -f $dir/blobs/sha256/${d:7:2}/${d:7}/data ]] || fail "$label: missing blobs/sha256/${d:7:2}/${d:7}/data"
    assert_quiet_eq "$(sha256_file "$dir/blobs/sha256/${d:7:2}/${d:7}/data")" "$d" "$label: blob data of $d"
  done < <(manifest_blobs "$SRC" "$SMALL")
  assert_eq "$(cat "$dir/repositories/e2e/small/_manifests/tags/v1/current/link")" "$SMALL" "$label: tags/v1/current/link"
  [[ -f $dir/repositories/e2e/small/_manifests/revisions/sha256/${SMALL:7}/link ]] || fail "$label: revision link of $SMALL missing"
  [[ -f $dir/repositories/e2e/small/_manifests/tags/v1/index/sha256/${SMALL:7}/link ]] || fail "$label: tag index link missing"
  while read -r d; do
    [[ -f $dir/repositories/e2e/small/_layers/sha256/${d:7}/link ]] || fail "$label: _layers link of $d missing"
  done < <(manifest_blobs "$SRC" "$SMALL")
  [[ -f $dir/blobs/sha256/${MULTI:7:2}/${MULTI:7}/data ]] || fail "$label: index blob missing"
  [[ ! -e $dir/repositories/e2e/small/_manifests/tags/gone ]] || fail "$label: tag of the deleted manifest still on disk"
  ok "$label: on-disk layout (blobs/<alg>/<xx>/<hex>/data, _layers, _manifests revisions and tags)"
}

# ------------------------------------- (a) distribution writes, we read ---
start_distribution "$D1"
push_set "(a) distribution"
snapshot >"$E2E_DIR/expected.snapshot"
stop_registry
check_layout "(a) D1 written by distribution" "$D1"

start_registry "$D1"
verify_set "(a) $E2E_IMPL serving D1" "$E2E_DIR/expected.snapshot"

# ------------------- (c) we add a tag to D1, distribution must see it ---
assert_succeeds "(c) $E2E_IMPL pushes e2e/small:v3 and e2e/extra:v1 into D1" \
  sk_copy "oci:$SRC:extra" "docker://$REG/e2e/small:v3"
sk_copy "oci:$SRC:extra" "docker://$REG/e2e/extra:v1" || fail "(c) push e2e/extra:v1"
stop_registry
start_distribution "$D1"
assert_eq "$(sk_digest "docker://$REG/e2e/small:v3")" "$EXTRA" "(c) distribution serves the tag added by $E2E_IMPL"
assert_eq "$(sk_tags "docker://$REG/e2e/small" | paste -sd' ')" "v1 v2 v3" "(c) distribution lists all tags"
assert_succeeds "(c) distribution serves the new repository's blobs" \
  sk_copy "docker://$REG/e2e/extra:v1" "oci:$E2E_DIR/c-out:extra"
check_layout_blobs "(c) e2e/extra:v1 blobs" "$SRC" "$E2E_DIR/c-out" "$EXTRA"
stop_registry

# ------------------------------------- (b) we write, distribution reads ---
start_registry "$D2"
push_set "(b) $E2E_IMPL"
snapshot >"$E2E_DIR/b.snapshot"
if ! diff -u "$E2E_DIR/expected.snapshot" "$E2E_DIR/b.snapshot" >&2; then
  fail "(b) $E2E_IMPL reports other digests/tags than distribution did for the same pushes"
fi
ok "(b) $E2E_IMPL reports the same digests and tags as distribution"
stop_registry
check_layout "(b) D2 written by $E2E_IMPL" "$D2"

start_distribution "$D2"
verify_set "(b) distribution serving D2" "$E2E_DIR/expected.snapshot"
stop_registry
ok "all registries stopped cleanly"

# `berth verify` finds nothing wrong in either layout (D1 includes a manifest
# deleted by docker-registry).
if [[ -x $BERTH_BIN ]]; then
  for d in "$D1" "$D2"; do
    printf 'storage:\n  filesystem: {rootdirectory: "%s"}\n' "$d" >"$E2E_DIR/verify.yml"
    out=$("$BERTH_BIN" verify --config "$E2E_DIR/verify.yml") || fail "berth verify on $(basename "$d"): $out"
    ok "berth verify clean on $(basename "$d"): $(grep 'blobs checked' <<<"$out")"
  done
fi
