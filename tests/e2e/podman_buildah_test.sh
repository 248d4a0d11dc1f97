#!/usr/bin/env bash
# buildah builds (from scratch, no RUN, no network) and pushes; podman pulls
# into separate stores, pushes under new tags and pulls back; a podman
# manifest list is pushed and resolved per architecture.  Every digest is
# compared with the registry's Docker-Content-Digest.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_registry "$E2E_DIR/data"
P=$E2E_POLICY

# ------------------------------------------------------------ build ---
CTX=$E2E_DIR/ctx
mkdir -p "$CTX/etc"
printf 'hello from berth e2e %s\n' "$(date +%s%N)" >"$CTX/hello.txt"
head -c 200000 /dev/urandom >"$CTX/etc/random.bin"

# build_image ARCH NAME FORMAT: scratch image with the context files, prints
# the image id
build_image() {
  local arch=$1 name=$2 format=$3 ctr
  ctr=$(bh from --signature-policy "$P" --quiet scratch)
  bh copy --quiet "$ctr" "$CTX/hello.txt" /hello.txt >/dev/null
  bh copy --quiet "$ctr" "$CTX/etc" /etc >/dev/null
  printf '%s\n' "$arch" >"$CTX/arch.txt"
  bh copy --quiet "$ctr" "$CTX/arch.txt" /arch.txt >/dev/null
  bh config --arch "$arch" --os linux --cmd '["/hello.txt"]' --env E2E=1 \
    --label org.berth.e2e="$name" --author berth-e2e "$ctr"
  bh commit --signature-policy "$P" --quiet --format "$format" --rm "$ctr" "localhost/$name:latest"
}

IMG_ID=$(build_image amd64 e2e-built oci) || fail "buildah build of the OCI image failed"
assert_match "$IMG_ID" '^[0-9a-f]{64}$' "buildah from scratch/copy/config/commit built an OCI image"

# ------------------------------------------------------- buildah push ---
assert_succeeds "buildah push to docker://$REG/e2e/built:v1" \
  bh push --signature-policy "$P" --tls-verify=false --quiet --digestfile "$E2E_DIR/push1.digest" \
  localhost/e2e-built:latest "docker://$REG/e2e/built:v1"
PUSH1=$(cat "$E2E_DIR/push1.digest")
assert_match "$PUSH1" '^sha256:[0-9a-f]{64}$' "buildah wrote the pushed digest"
assert_eq "$(registry_digest e2e/built v1)" "$PUSH1" "registry Docker-Content-Digest equals buildah's pushed digest"
assert_eq "$(head_manifest e2e/built v1 | header content-type)" "application/vnd.oci.image.manifest.v1+json" "manifest stored as OCI"
assert_eq "$(curl -fsS -H "Accept: $E2E_ACCEPT_ALL" "http://$REG/v2/e2e/built/manifests/v1" | jq -r .config.digest)" \
  "sha256:$IMG_ID" "manifest config digest is the buildah image id"

# ------------------------------------------------------- podman pull ---
PULL_ID=$(pm a pull --signature-policy "$P" --tls-verify=false --quiet "$REG/e2e/built:v1") || fail "podman pull e2e/built:v1 failed"
assert_eq "$PULL_ID" "$IMG_ID" "podman pull (separate store) yields the same image id"
assert_eq "$(pm a image inspect --format '{{.Digest}}' "$REG/e2e/built:v1")" "$PUSH1" "podman image inspect digest equals the pushed digest"
# the content made it through: mount the image and compare the files
MNT=$(pm a image mount "$REG/e2e/built:v1") || fail "podman image mount failed"
cmp -s "$MNT/hello.txt" "$CTX/hello.txt" || fail "hello.txt in the pulled image differs"
cmp -s "$MNT/etc/random.bin" "$CTX/etc/random.bin" || fail "etc/random.bin in the pulled image differs"
ok "pulled image filesystem content identical"
pm a image unmount "$REG/e2e/built:v1" >/dev/null

# ------------------------------------------------------- podman push ---
assert_succeeds "podman push under a new tag e2e/built:v2" \
  pm a push --signature-policy "$P" --tls-verify=false --quiet --digestfile "$E2E_DIR/push2.digest" \
  "$REG/e2e/built:v1" "docker://$REG/e2e/built:v2"
PUSH2=$(cat "$E2E_DIR/push2.digest")
assert_eq "$(registry_digest e2e/built v2)" "$PUSH2" "registry digest of v2 equals podman's pushed digest"
assert_succeeds "podman push to another repository e2e/podman/copy:v1" \
  pm a push --signature-policy "$P" --tls-verify=false --quiet \
  "$REG/e2e/built:v1" "docker://$REG/e2e/podman/copy:v1"
assert_eq "$(registry_digest e2e/podman/copy v1)" "$PUSH2" "same manifest in the other repository"

# a fresh store pulls v2 back
PULL2_ID=$(pm b pull --signature-policy "$P" --tls-verify=false --quiet "$REG/e2e/built:v2") || fail "podman pull e2e/built:v2 failed"
assert_eq "$PULL2_ID" "$IMG_ID" "podman pull of v2 into a fresh store yields the same image id"
assert_eq "$(pm b image inspect --format '{{.Digest}}' "$REG/e2e/built:v2")" "$(registry_digest e2e/built v2)" \
  "podman image inspect digest equals registry Docker-Content-Digest (v2)"
BYDIG_ID=$(pm b pull --signature-policy "$P" --tls-verify=false --quiet "$REG/e2e/built@$PUSH1") || fail "podman pull by digest failed"
assert_eq "$BYDIG_ID" "$IMG_ID" "podman pull by digest"
assert_eq "$(pm b search --tls-verify=false --list-tags --format json "$REG/e2e/built" | jq -r '.[].Tags[]' | sort | paste -sd' ')" \
  "v1 v2" "podman search --list-tags"

# ---------------------------------------------- docker v2s2 via buildah ---
DOCKER_ID=$(build_image amd64 e2e-built-docker docker) || fail "buildah build of the docker-format image failed"
assert_succeeds "buildah push docker-format image" \
  bh push --signature-policy "$P" --tls-verify=false --quiet --digestfile "$E2E_DIR/push3.digest" \
  localhost/e2e-built-docker:latest "docker://$REG/e2e/built-docker:v1"
assert_eq "$(head_manifest e2e/built-docker v1 | header content-type)" \
  "application/vnd.docker.distribution.manifest.v2+json" "docker-format manifest stored as docker v2s2"
assert_eq "$(registry_digest e2e/built-docker v1)" "$(cat "$E2E_DIR/push3.digest")" "registry digest equals buildah's (v2s2)"
assert_eq "$(pm b pull --signature-policy "$P" --tls-verify=false --quiet "$REG/e2e/built-docker:v1")" "$DOCKER_ID" \
  "podman pull of the v2s2 image yields the same image id"
assert_eq "$(pm b image inspect --format '{{.Digest}}' "$REG/e2e/built-docker:v1")" "$(registry_digest e2e/built-docker v1)" \
  "podman image inspect digest equals registry Docker-Content-Digest (v2s2)"

# --------------------------------------------------- manifest list ---
ARM_ID=$(build_image arm64 e2e-built-arm64 oci) || fail "buildah build of the arm64 image failed"
assert_succeeds "buildah push arm64 image" \
  bh push --signature-policy "$P" --tls-verify=false --quiet localhost/e2e-built-arm64:latest "docker://$REG/e2e/built:arm64"
pm a manifest create e2e-list >/dev/null
assert_succeeds "podman manifest add amd64 image" pm a manifest add --tls-verify=false e2e-list "docker://$REG/e2e/built:v1"
assert_succeeds "podman manifest add arm64 image" pm a manifest add --tls-verify=false e2e-list "docker://$REG/e2e/built:arm64"
assert_succeeds "podman manifest push --all" \
  pm a manifest push --tls-verify=false --quiet --all --digestfile "$E2E_DIR/list.digest" \
  e2e-list "docker://$REG/e2e/list:v1"
LIST=$(cat "$E2E_DIR/list.digest")
assert_eq "$(registry_digest e2e/list v1)" "$LIST" "registry digest of the list equals podman's"
assert_match "$(head_manifest e2e/list v1 | header content-type)" \
  '^application/vnd\.(oci\.image\.index\.v1|docker\.distribution\.manifest\.list\.v2)\+json$' "list stored as an index"
assert_eq "$(curl -fsS -H "Accept: $E2E_ACCEPT_ALL" "http://$REG/v2/e2e/list/manifests/v1" | jq -r '[.manifests[].platform.architecture] | sort | join(" ")')" \
  "amd64 arm64" "index lists amd64 and arm64"
assert_eq "$(pm c pull --signature-policy "$P" --tls-verify=false --quiet --arch arm64 "$REG/e2e/list:v1")" "$ARM_ID" \
  "podman pull --arch arm64 of the list yields the arm64 image"
assert_eq "$(pm c pull --signature-policy "$P" --tls-verify=false --quiet --arch amd64 "$REG/e2e/list:v1")" "$IMG_ID" \
  "podman pull --arch amd64 of the list yields the amd64 image"


stop_registry
ok "registry stopped cleanly"
