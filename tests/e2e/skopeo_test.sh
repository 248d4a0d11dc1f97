#!/usr/bin/env bash
# skopeo against the registry under test: single image round trip, multi-arch
# index, a big (E2E_BIG_LAYER_MB, default 500) incompressible layer, docker
# v2s2 manifests, list-tags, delete, registry->registry copy (blob mount).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

BIG_MB=${E2E_BIG_LAYER_MB:-500}
SRC=$E2E_DIR/src   # OCI layout holding the images we push
OUT=$E2E_DIR/out   # OCI layout receiving the pulls

start_registry "$E2E_DIR/data"

# containers/image with --tls-verify=false first tries HTTPS on the plain
# port and falls back to HTTP when that fails: the server must answer (or
# close) a TLS ClientHello promptly instead of waiting for a request line.
rc=0
curl -sS -k --max-time 10 -o /dev/null "https://$REG/v2/" 2>/dev/null || rc=$?
assert_ne "$rc" "28" "TLS ClientHello on the plain-HTTP port is rejected without hanging (curl exit $rc)"
assert_ne "$rc" "0" "plain-HTTP port does not speak TLS"
assert_eq "$(http_status GET "http://$REG/v2/")" "200" "GET /v2/ still answers 200 after the TLS probe"

# --------------------------------------------------------- small image ---
make_image "$SRC" small 65536
make_image "$SRC" small2 4096
SMALL=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" small)")
SMALL2=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" small2)")

assert_succeeds "push small image oci: -> docker://$REG/e2e/small:v1" \
  sk_copy "oci:$SRC:small" "docker://$REG/e2e/small:v1"
assert_eq "$(sk_digest "docker://$REG/e2e/small:v1")" "$SMALL" "registry serves the pushed manifest bytes (skopeo inspect --raw)"
assert_eq "$(registry_digest e2e/small v1)" "$SMALL" "HEAD manifest Docker-Content-Digest"
assert_eq "$(head_manifest e2e/small v1 | header content-type)" "application/vnd.oci.image.manifest.v1+json" "HEAD manifest Content-Type is the OCI manifest type"
assert_eq "$(sk_digest "docker://$REG/e2e/small@$SMALL")" "$SMALL" "manifest fetchable by digest"

assert_succeeds "pull small image back docker:// -> oci:" \
  sk_copy "docker://$REG/e2e/small:v1" "oci:$OUT:small"
assert_eq "$(sk_digest "oci:$OUT:small")" "$SMALL" "pulled manifest digest identical"
check_layout_blobs "pulled small image blobs" "$SRC" "$OUT" "$SMALL"

LAYER0=$(jq -r '.layers[0].digest' "$(blob_path "$SRC" "$SMALL")")
LAYER0_SIZE=$(stat -c %s "$(blob_path "$SRC" "$LAYER0")")
assert_eq "$(curl -fsS "http://$REG/v2/e2e/small/blobs/$LAYER0" | sha256sum | cut -d' ' -f1)" "${LAYER0#sha256:}" "GET blob returns the layer bytes"
assert_eq "$(curl -fsS -I "http://$REG/v2/e2e/small/blobs/$LAYER0" | tr -d '\r' | awk 'tolower($1) == "content-length:" { print $2 }')" \
  "$LAYER0_SIZE" "HEAD blob Content-Length equals layer size"

# ---------------------------------------------------- docker v2s2 format ---
assert_succeeds "push small image converted to docker v2s2 (--format v2s2)" \
  sk_copy --format v2s2 "oci:$SRC:small" "docker://$REG/e2e/small-docker:v1"
V2S2=$(sk_digest "docker://$REG/e2e/small-docker:v1")
assert_eq "$(sk_raw "docker://$REG/e2e/small-docker:v1" | jq -r .mediaType)" \
  "application/vnd.docker.distribution.manifest.v2+json" "registry keeps the docker v2s2 manifest"
assert_eq "$(head_manifest e2e/small-docker v1 | header content-type)" \
  "application/vnd.docker.distribution.manifest.v2+json" "HEAD v2s2 manifest Content-Type"
assert_eq "$(registry_digest e2e/small-docker v1)" "$V2S2" "HEAD v2s2 Docker-Content-Digest"
assert_succeeds "pull v2s2 image to a dir: layout" sk_copy "docker://$REG/e2e/small-docker:v1" "dir:$E2E_DIR/v2s2dir"
assert_eq "$(sha256_file "$E2E_DIR/v2s2dir/manifest.json")" "$V2S2" "pulled v2s2 manifest digest identical"

# ----------------------------------------------------- multi-arch index ---
make_image "$SRC" amd64 8192 amd64
make_image "$SRC" arm64 8192 arm64
make_index "$SRC" multi amd64 arm64
MULTI=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" multi)")
AMD=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" amd64)")
ARM=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" arm64)")

assert_succeeds "push multi-arch OCI index (copy --all)" \
  sk_copy --all "oci:$SRC:multi" "docker://$REG/e2e/multi:v1"
assert_eq "$(sk_digest "docker://$REG/e2e/multi:v1")" "$MULTI" "registry serves the index bytes unchanged"
assert_eq "$(head_manifest e2e/multi v1 | header content-type)" "application/vnd.oci.image.index.v1+json" "HEAD index Content-Type"
assert_eq "$(registry_digest e2e/multi v1)" "$MULTI" "HEAD index Docker-Content-Digest"
assert_eq "$(sk_digest "docker://$REG/e2e/multi@$ARM")" "$ARM" "arm64 child manifest fetchable by digest"
for arch in amd64 arm64; do
  assert_eq "$(sk inspect --tls-verify=false --override-arch "$arch" --format '{{.Architecture}} {{index .Labels "org.berth.e2e"}}' "docker://$REG/e2e/multi:v1")" \
    "$arch $arch" "index resolves to the $arch image for --override-arch $arch"
done
assert_succeeds "pull multi-arch index back (copy --all)" \
  sk_copy --all "docker://$REG/e2e/multi:v1" "oci:$OUT:multi"
assert_eq "$(sk_digest "oci:$OUT:multi")" "$MULTI" "pulled index digest identical"
check_layout_blobs "pulled amd64 image blobs" "$SRC" "$OUT" "$AMD"
check_layout_blobs "pulled arm64 image blobs" "$SRC" "$OUT" "$ARM"

# ----------------------------------------------------- tags, delete ---
assert_succeeds "push second image as e2e/small:v2" sk_copy "oci:$SRC:small2" "docker://$REG/e2e/small:v2"
assert_succeeds "tag first image again as e2e/small:latest" sk_copy "oci:$SRC:small" "docker://$REG/e2e/small:latest"
assert_eq "$(sk_tags "docker://$REG/e2e/small" | paste -sd' ')" "latest v1 v2" "list-tags returns the pushed tags"
assert_eq "$(curl -fsS "http://$REG/v2/e2e/small/tags/list" | jq -c .)" \
  '{"name":"e2e/small","tags":["latest","v1","v2"]}' "GET /v2/<name>/tags/list (lexical order)"

assert_succeeds "skopeo delete e2e/small:v2" sk delete --tls-verify=false "docker://$REG/e2e/small:v2"
assert_fails "pull of the deleted manifest fails" sk_copy "docker://$REG/e2e/small:v2" "oci:$OUT:deleted"
assert_fails "inspect of the deleted manifest by digest fails" sk_raw "docker://$REG/e2e/small@$SMALL2"
assert_eq "$(http_status HEAD "http://$REG/v2/e2e/small/manifests/$SMALL2" -I -H "Accept: $E2E_ACCEPT_ALL")" "404" "HEAD deleted manifest by digest -> 404"
assert_eq "$(sk_tags "docker://$REG/e2e/small" | paste -sd' ')" "latest v1" "deleted manifest's tag is gone from list-tags"
assert_eq "$(sk_digest "docker://$REG/e2e/small:v1")" "$SMALL" "other tags of the repository still resolve"

# ------------------------------------------- registry -> registry copy ---
assert_succeeds "copy registry -> registry into another repository" \
  sk_copy "docker://$REG/e2e/small:v1" "docker://$REG/e2e/mounted/small:v1"
assert_eq "$(sk_digest "docker://$REG/e2e/mounted/small:v1")" "$SMALL" "copied manifest digest identical"
assert_succeeds "pull the copy back" sk_copy "docker://$REG/e2e/mounted/small:v1" "oci:$OUT:mounted"
check_layout_blobs "copied image blobs" "$SRC" "$OUT" "$SMALL"
# explicit cross-repo mount of a layer into a third repository
MOUNT_HDRS=$(curl -fsS -o /dev/null -D - -X POST \
  "http://$REG/v2/e2e/explicit/blobs/uploads/?mount=$LAYER0&from=e2e/small" | tr -d '\r')
assert_match "$(head -n1 <<<"$MOUNT_HDRS")" '^HTTP/[0-9.]+ 201' "POST ?mount=&from= answers 201 Created"
assert_eq "$(awk 'tolower($1) == "docker-content-digest:" { print $2 }' <<<"$MOUNT_HDRS")" "$LAYER0" "mount response carries Docker-Content-Digest"
assert_eq "$(curl -fsS "http://$REG/v2/e2e/explicit/blobs/$LAYER0" | sha256sum | cut -d' ' -f1)" "${LAYER0#sha256:}" "mounted blob readable in the target repository"

# --------------------------------------------------------- big layer ---
note "generating a ${BIG_MB} MB incompressible layer"
t0=$(date +%s)
make_image "$SRC" big $((BIG_MB * 1024 * 1024))
BIG=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" big)")
BIG_LAYER=$(jq -r '.layers[0].digest' "$(blob_path "$SRC" "$BIG")")
BIG_SIZE=$(stat -c %s "$(blob_path "$SRC" "$BIG_LAYER")")
((BIG_SIZE >= BIG_MB * 1024 * 1024)) || fail "big layer is only $BIG_SIZE bytes (compressible data?)"
note "big layer $BIG_LAYER is $BIG_SIZE bytes (built in $(($(date +%s) - t0))s)"

t0=$(date +%s)
assert_succeeds "push image with ${BIG_MB} MB layer" sk_copy "oci:$SRC:big" "docker://$REG/e2e/big:v1"
note "push took $(($(date +%s) - t0))s"
assert_eq "$(registry_digest e2e/big v1)" "$BIG" "big image manifest digest in registry"
assert_eq "$(curl -fsS -I "http://$REG/v2/e2e/big/blobs/$BIG_LAYER" | tr -d '\r' | awk 'tolower($1) == "content-length:" { print $2 }')" \
  "$BIG_SIZE" "HEAD big blob Content-Length"
t0=$(date +%s)
assert_succeeds "pull image with ${BIG_MB} MB layer back" sk_copy "docker://$REG/e2e/big:v1" "oci:$OUT:big"
note "pull took $(($(date +%s) - t0))s"
assert_eq "$(sk_digest "oci:$OUT:big")" "$BIG" "pulled big manifest digest identical"
check_layout_blobs "pulled big image blobs" "$SRC" "$OUT" "$BIG"

stop_registry
ok "registry stopped cleanly"
