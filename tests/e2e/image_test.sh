#!/usr/bin/env bash
# The container image. Builds the final stage (packaging/Dockerfile.local:
# FROM scratch + COPY, no network) from $BERTH_BIN with buildah, then checks
#   - the image config: entrypoint, non-root user, exposed port, CONFIG_PATH,
#     the data volume; and that ../../Dockerfile's final stage says the same;
#   - the image filesystem (mounted in a private mount namespace and copied
#     out): exactly /berth (static), etc/passwd, etc/group, etc/hosts,
#     etc/berth/config.yaml and /data/registry owned by the user; no shell;
#   - that the binary runs from that filesystem alone: chrooted into it as
#     65532:65532 with the image's environment, Berth serves on 127.0.0.1,
#     applies the secure default (admin password, files in the volume) and
#     stores a blob in /data/registry; SIGTERM stops it with status 0.
# Skips (exit 77) only when buildah is not installed (scripts/test installs it).
set -euo pipefail

if ! command -v buildah >/dev/null 2>&1; then
  printf 'SKIP image_test.sh: buildah is not installed, the image build is not tested\n'
  exit 77
fi

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

REPO=$E2E_REPO_ROOT
IMAGE=localhost/berth-e2e:test
[[ -x $BERTH_BIN ]] || fail "BERTH_BIN=$BERTH_BIN is not an executable (build berth or set BERTH_BIN)"

# is_static FILE: `ldd` says "not a dynamic executable" (or "statically
# linked" for a static PIE), and so does `file` when it is installed
is_static() {
  local out
  out=$(ldd "$1" 2>&1 || true)
  [[ $out == *"not a dynamic executable"* || $out == *"statically linked"* ]] || return 1
  if command -v file >/dev/null 2>&1; then
    out=$(file -bL "$1")
    [[ $out == *"statically linked"* || $out == *"static-pie linked"* ]] || return 1
  fi
}
is_static "$BERTH_BIN" ||
  fail "BERTH_BIN=$BERTH_BIN is not a static executable; the scratch image needs the static release build (BERTH_STATIC=ON, no sanitizers)"
ok "BERTH_BIN is a static executable"

# ------------------------------------------------------ the Dockerfiles ---
# The release Dockerfile cannot be built here (it needs debian:bookworm and
# apt), so check it says what it must, and that its final stage matches
# Dockerfile.local's.
DF=$REPO/Dockerfile
DFL=$REPO/packaging/Dockerfile.local
[[ -f $DF && -f $DFL ]] || fail "Dockerfile or packaging/Dockerfile.local missing"
grep -qE '^FROM debian:bookworm AS builder$' "$DF" || fail "Dockerfile: no 'FROM debian:bookworm AS builder' stage"
[[ $(grep -E '^FROM ' "$DF" | tail -n 1) == "FROM scratch" ]] || fail "Dockerfile: the final stage is not FROM scratch"
# every package of BUILD_PACKAGES (scripts/lib.sh) is installed by the builder
mapfile -t PKGS < <(bash -c '. "$1/scripts/lib.sh" && printf "%s\n" "${BUILD_PACKAGES[@]}"' _ "$REPO")
((${#PKGS[@]} > 5)) || fail "could not read BUILD_PACKAGES from scripts/lib.sh"
DF_WORDS=$(awk '{ for (i = 1; i <= NF; i++) print $i }' "$DF")
for p in "${PKGS[@]}" ca-certificates; do
  grep -qxF -- "$p" <<<"$DF_WORDS" || fail "Dockerfile: build package $p is not installed"
done
ok "Dockerfile: debian:bookworm builder installs all ${#PKGS[@]} BUILD_PACKAGES and ca-certificates"
for f in -DCMAKE_BUILD_TYPE=Release -DBERTH_TESTS=OFF -DBERTH_BENCH=OFF; do
  grep -qF -- "$f" "$DF" || fail "Dockerfile: cmake is not run with $f"
done
ok "Dockerfile: cmake Release build without tests and benchmarks"
# final_stage_config FILE: ENV/USER/EXPOSE/VOLUME/ENTRYPOINT/CMD of the last stage
final_stage_config() {
  awk '/^FROM / { buf = "" } /^(ENV|USER|EXPOSE|VOLUME|ENTRYPOINT|CMD|STOPSIGNAL) / { buf = buf $0 "\n" } END { printf "%s", buf }' "$1" | sort
}
assert_eq "$(final_stage_config "$DF")" "$(final_stage_config "$DFL")" \
  "Dockerfile and packaging/Dockerfile.local final stages set the same ENV/USER/EXPOSE/VOLUME/ENTRYPOINT"
grep -qE '^COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt$' "$DF" ||
  fail "Dockerfile: the final stage does not copy the CA bundle"
ok "Dockerfile: the final stage carries the CA bundle (Dockerfile.local documents that it does not)"

# ---------------------------------------------------------------- build ---
# Build context: what Dockerfile.local expects at the repository root, with
# $BERTH_BIN as build/berth (so the test does not depend on build/'s path).
CTX=$E2E_DIR/ctx
mkdir -p "$CTX/build/image-data" "$CTX/packaging"
cp -L "$BERTH_BIN" "$CTX/build/berth"
chmod 0755 "$CTX/build/berth"
cp -a "$REPO/packaging/rootfs" "$CTX/packaging/rootfs"

build_start=$SECONDS
assert_succeeds "buildah build -f packaging/Dockerfile.local (FROM scratch + COPY, isolation chroot, vfs)" \
  bh build --isolation chroot --pull=never -f "$DFL" -t "$IMAGE" "$CTX"
note "image built in $((SECONDS - build_start))s"

# ---------------------------------------------------------- image config ---
bh inspect --type image "$IMAGE" >"$E2E_DIR/inspect.json" || fail "buildah inspect $IMAGE failed"
CFG=$(jq -c '.OCIv1.config' "$E2E_DIR/inspect.json")
assert_eq "$(jq -c '.Entrypoint' <<<"$CFG")" '["/berth","serve"]' "Entrypoint is [\"/berth\",\"serve\"]"
assert_eq "$(jq -c '.Cmd // [] | length' <<<"$CFG")" "0" "no Cmd (arguments go to 'berth serve')"
IMG_USER=$(jq -r '.User // ""' <<<"$CFG")
assert_eq "$IMG_USER" "65532:65532" "User is 65532:65532"
[[ ${IMG_USER%%:*} != 0 && ${IMG_USER%%:*} != root && -n $IMG_USER ]] || fail "the image runs as root"
ok "the image does not run as root"
assert_eq "$(jq -r '.ExposedPorts // {} | keys | join(",")' <<<"$CFG")" "5000/tcp" "ExposedPorts is 5000/tcp"
assert_eq "$(jq -r '.Env // [] | map(select(startswith("CONFIG_PATH="))) | join(",")' <<<"$CFG")" \
  "CONFIG_PATH=/etc/berth/config.yaml" "Env has CONFIG_PATH=/etc/berth/config.yaml"
assert_eq "$(jq -r '.Volumes // {} | keys | join(",")' <<<"$CFG")" "/data/registry" "Volumes is /data/registry"
assert_eq "$(jq -r '.OCIv1.os' "$E2E_DIR/inspect.json")" "linux" "image OS is linux"
# the Docker-format view (what `docker inspect` shows) says the same
assert_eq "$(jq -c '[.Docker.config.Entrypoint, .Docker.config.User]' "$E2E_DIR/inspect.json")" \
  '[["/berth","serve"],"65532:65532"]' "Docker v2s2 config: same Entrypoint and User"

# ------------------------------------------------------ image filesystem ---
# `buildah mount` only lasts as long as the mount namespace it ran in, so
# from + mount + copy-out run in one private namespace (like bh's).
ROOTFS=$E2E_DIR/rootfs
mkdir -p "$ROOTFS"
# shellcheck disable=SC2016 # $1.. belong to the inner shell
in_private_ns bash -c '
  set -euo pipefail
  b=(buildah --root "$1" --runroot "$2" --storage-driver vfs)
  ctr=$("${b[@]}" from --pull=never --quiet "$3")
  mnt=$("${b[@]}" mount "$ctr")
  cp -a "$mnt/." "$4/"
  "${b[@]}" umount "$ctr" >/dev/null
  "${b[@]}" rm "$ctr" >/dev/null
' _ "$E2E_DIR/buildah/root" "$E2E_DIR/buildah/runroot" "$IMAGE" "$ROOTFS" ||
  fail "buildah from/mount of $IMAGE failed"
[[ -f $ROOTFS/berth ]] || fail "the mounted image has no /berth (mount or copy failed)"
ok "buildah from + mount: image filesystem copied out"

# Exactly these paths, nothing else: no shell, no /bin, no /usr, no /tmp.
EXPECTED_PATHS='berth
data
data/registry
etc
etc/berth
etc/berth/config.yaml
etc/group
etc/hosts
etc/passwd'
assert_eq "$(cd "$ROOTFS" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort)" "$EXPECTED_PATHS" \
  "image filesystem is exactly /berth, /data/registry and etc/{passwd,group,hosts,berth/config.yaml}"
for sh in bin/sh bin/bash bin/busybox usr/bin/sh usr/bin/env; do
  [[ ! -e $ROOTFS/$sh && ! -L $ROOTFS/$sh ]] || fail "the image contains /$sh"
done
ok "no shell in the image (/bin/sh, /bin/bash, busybox absent)"
[[ ! -e $ROOTFS/etc/ssl/certs/ca-certificates.crt ]] || fail "Dockerfile.local image unexpectedly has a CA bundle"
grep -q 'no CA bundle' "$DFL" || fail "packaging/Dockerfile.local does not document the missing CA bundle"
ok "no CA bundle in the local image, as Dockerfile.local documents (the release Dockerfile adds one)"

is_static "$ROOTFS/berth" || fail "/berth in the image is not a static executable"
ok "/berth is a static executable"
cmp -s "$ROOTFS/berth" "$BERTH_BIN" || fail "/berth differs from BERTH_BIN"
ok "/berth is BERTH_BIN byte for byte"
assert_eq "$(stat -c '%u:%g %a' "$ROOTFS/berth")" "0:0 755" "/berth is root-owned, 0755 (the user cannot replace it)"
assert_eq "$(stat -c '%u:%g %A' "$ROOTFS/data/registry")" "65532:65532 drwxr-xr-x" "/data/registry is owned by 65532:65532"
assert_eq "$(stat -c '%u:%g' "$ROOTFS/etc" "$ROOTFS/etc/passwd" "$ROOTFS/etc/berth/config.yaml" | sort -u)" "0:0" \
  "/etc and its files are root-owned"
assert_match "$(grep -E '^berth:' "$ROOTFS/etc/passwd")" '^berth:x:65532:65532:[^:]*:/nonexistent:/sbin/nologin$' \
  "etc/passwd has the non-root user berth (65532:65532, no login shell)"
assert_match "$(grep -E '^berth:' "$ROOTFS/etc/group")" '^berth:x:65532:' "etc/group has the group berth (65532)"
assert_eq "$(awk -F: '$3 == 0' "$ROOTFS/etc/passwd" | cut -d: -f1)" "root" "only root has uid 0 in etc/passwd"
assert_match "$(cat "$ROOTFS/etc/hosts")" '127\.0\.0\.1[[:space:]]+localhost' "etc/hosts maps localhost"

# the binary runs from the image filesystem alone
assert_eq "$("$ROOTFS/berth" version)" "$("$BERTH_BIN" version)" "<rootfs>/berth version runs: $("$BERTH_BIN" version)"
assert_match "$("$ROOTFS/berth" check-config "$ROOTFS/etc/berth/config.yaml" 2>&1)" ': OK \(0 users, 0 acl entries\)$' \
  "the image's /etc/berth/config.yaml is valid and has no users/acl (secure default)"
assert_match "$(grep -E 'rootdirectory' "$ROOTFS/etc/berth/config.yaml")" '"/data/registry"' \
  "the image's config stores under the volume /data/registry"
assert_match "$("$ROOTFS/berth" check-config "$REPO/packaging/config.yaml" 2>&1)" ': OK \(' \
  "packaging/config.yaml (the compose config) passes check-config"

# --------------------------------------------- run as the image would ---
# chroot into the image filesystem as 65532:65532 with only the image's Env:
# nothing from the host is reachable, so this is what the container does
# (minus namespaces). Needs root for chroot.
CHROOT=$(command -v chroot || true)
if [[ $(id -u) != 0 || -z $CHROOT ]]; then
  skip_part "not root or no chroot: the image's filesystem was not run as 65532:65532"
else
  # the image's own config, only listening on 127.0.0.1:<free port>
  start_in_rootfs() {
    local attempt i
    for ((attempt = 1; attempt <= 3; attempt++)); do
      PORT=$(free_port)
      sed "s/^  addr: \":5000\"\$/  addr: \"127.0.0.1:$PORT\"/" "$ROOTFS/etc/berth/config.yaml" >"$ROOTFS/etc/berth/e2e.yaml"
      grep -q "127.0.0.1:$PORT" "$ROOTFS/etc/berth/e2e.yaml" || fail "could not rewrite addr in the image's config"
      RUN_LOG=$E2E_DIR/rootfs-berth-$attempt.log
      env -i CONFIG_PATH=/etc/berth/e2e.yaml "$CHROOT" --userspec=65532:65532 --groups=65532 "$ROOTFS" /berth serve \
        >"$RUN_LOG" 2>&1 </dev/null &
      RUN_PID=$!
      E2E_PIDS+=("$RUN_PID")
      E2E_LOGS+=("$RUN_LOG")
      for ((i = 0; i < 100; i++)); do
        kill -0 "$RUN_PID" 2>/dev/null || break
        if [[ $(http_status GET "http://127.0.0.1:$PORT/v2/" --max-time 2 2>/dev/null) != 000 ]]; then
          return 0
        fi
        sleep 0.1
      done
      if kill -0 "$RUN_PID" 2>/dev/null; then
        fail "berth in the image filesystem did not answer on 127.0.0.1:$PORT within 10s"
      fi
      wait "$RUN_PID" 2>/dev/null || true
      grep -qi 'in use' "$RUN_LOG" || { sed 's/^/#   /' "$RUN_LOG" >&2; fail "berth in the image filesystem exited at start"; }
      note "port $PORT was taken, retrying"
    done
    fail "no free port after 3 attempts"
  }
  start_in_rootfs
  R=127.0.0.1:$PORT
  note "berth running chrooted in the image filesystem on $R (pid $RUN_PID)"
  assert_eq "$(awk '/^Uid:/ { print $2 ":" $3 }' "/proc/$RUN_PID/status")" "65532:65532" "the server runs as uid 65532"

  # secure default: the admin password is printed once, state lands in the volume
  wait_until 10 grep -q 'Its password' "$RUN_LOG" || fail "no generated admin password in the log"
  PW=$(awk 'found && NF { print $1; exit } /Its password/ { found = 1 }' "$RUN_LOG")
  [[ -n $PW ]] || fail "could not read the generated admin password"
  ok "first start printed a generated admin password"
  D=$ROOTFS/data/registry
  assert_eq "$(stat -c '%u:%g %a' "$D/berth-admin.htpasswd")" "65532:65532 600" \
    "berth-admin.htpasswd created in /data/registry (65532, 0600)"
  assert_eq "$(stat -c '%u:%g %a' "$D/token-key.pem")" "65532:65532 600" "token-key.pem created in /data/registry (65532, 0600)"

  HDRS=$(curl -sS -D - -o /dev/null "http://$R/v2/")
  assert_match "$(head -n 1 <<<"$HDRS")" ' 401' "GET /v2/ without credentials -> 401"
  assert_match "$(response_header www-authenticate <<<"$HDRS")" "^Bearer realm=\"http://$R/v2/token\"" \
    "WWW-Authenticate points at the built-in token server"
  TOKEN=$(curl -fsS -u "admin:$PW" "http://$R/v2/token?service=berth&scope=repository:e2e/image:pull,push" | jq -r .token)
  assert_match "$TOKEN" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "admin gets a token with the generated password"
  assert_eq "$(http_status GET "http://$R/v2/" -H "Authorization: Bearer $TOKEN")" "200" "GET /v2/ with the token -> 200"

  # a blob upload lands in the volume, written by the unprivileged user
  BLOB=$E2E_DIR/blob.bin
  head -c 100000 /dev/urandom >"$BLOB"
  DIG=$(sha256_file "$BLOB")
  assert_eq "$(http_status POST "http://$R/v2/e2e/image/blobs/uploads/?digest=$DIG" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$BLOB")" "201" "monolithic blob upload -> 201"
  STORED=$D/docker/registry/v2/blobs/sha256/${DIG:7:2}/${DIG#sha256:}/data
  cmp -s "$STORED" "$BLOB" || fail "the blob is not in /data/registry/docker/registry/v2/blobs"
  assert_eq "$(stat -c '%u:%g' "$STORED")" "65532:65532" "the blob is stored in the volume, owned by 65532"

  kill -TERM "$RUN_PID"
  rc=0
  for ((i = 0; i < 150; i++)); do
    kill -0 "$RUN_PID" 2>/dev/null || break
    sleep 0.1
  done
  ! kill -0 "$RUN_PID" 2>/dev/null || fail "berth did not stop within 15s of SIGTERM"
  wait "$RUN_PID" || rc=$?
  E2E_PIDS=()
  assert_eq "$rc" "0" "SIGTERM stops berth with status 0"
fi
