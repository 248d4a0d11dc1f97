# shellcheck shell=bash
# Shared helpers for the Berth end-to-end tests.  Source it from a test script
# that runs with `set -euo pipefail`:
#
#   . "$(dirname "$0")/lib.sh"
#
# Environment knobs:
#   E2E_IMPL            berth (default) or distribution (Debian's docker-registry)
#   BERTH_BIN           path to the berth binary (default: <repo>/build/berth)
#   DISTRIBUTION_BIN    path to docker-registry (default: docker-registry in PATH)
#   E2E_BIG_LAYER_MB    size of the big incompressible layer (default 500)
#   E2E_KEEP_TMP=1      keep the temp dir (and print where it is) at exit
#   E2E_DIST_LOG_LEVEL  docker-registry log level (default warn)
#   E2E_DIST_ACCESSLOG=1  enable docker-registry's access log
#   E2E_CMD_TIMEOUT     seconds one client command may take (default 300)
#   E2E_TRACE=1         log all client<->registry traffic with socat (see below)
#   E2E_TMP_BASE        where the per-script temp dir is created (default /tmp;
#                       keep it short, podman limits its runroot to 50 chars)
#   BERTH_TEST_S3_ENV_FILE  a file of BERTH_TEST_S3_* assignments to load (ctest's
#                       RGW fixture writes it; named but missing is a failure)
#
# Exit status: 0 passed, 77 skipped (ctest's SKIP_RETURN_CODE; `skip` below),
# anything else failed. A skip says why on its last line.
# Everything a test creates lives in its own `mktemp -d` ($E2E_DIR): registry
# data, configs, logs, container storage, HOME, XDG dirs, auth file, policy.
# Servers listen on 127.0.0.1 only and are always stopped by the EXIT trap.

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO_ROOT=$(cd "$E2E_LIB_DIR/../.." && pwd)
E2E_IMPL=${E2E_IMPL:-berth}
BERTH_BIN=${BERTH_BIN:-$E2E_REPO_ROOT/build/berth}
DISTRIBUTION_BIN=${DISTRIBUTION_BIN:-docker-registry}
if [[ -n ${BERTH_TEST_S3_ENV_FILE:-} ]]; then
  [[ -r $BERTH_TEST_S3_ENV_FILE ]] || {
    printf 'not ok - BERTH_TEST_S3_ENV_FILE=%s is missing (did the rgw fixture start?)\n' "$BERTH_TEST_S3_ENV_FILE" >&2
    exit 1
  }
  set -a
  # shellcheck disable=SC1090 # written by tests/tools/ceph_rgw.sh
  . "$BERTH_TEST_S3_ENV_FILE"
  set +a
fi

# Short base path on purpose: podman refuses a runroot longer than 50 chars.
E2E_DIR=$(mktemp -d "${E2E_TMP_BASE:-/tmp}/berth-e2e.XXXXXX")
E2E_PIDS=()      # every server started by this script
E2E_LOGS=()      # their log files (printed on failure)
E2E_SERVER_SEQ=0
REG=""           # host:port of the most recently started registry
REG_PID=""       # pid of the most recently started registry
REG_LOG=""       # log file of the most recently started registry
REG_PORT=""      # its real port (REG may point at a trace proxy)
REG_CFG=""       # its config file
declare -A E2E_PROXY_OF=()  # registry pid -> socat trace proxy pid

# ---------------------------------------------------------------- output ---

ok() { printf 'ok - %s\n' "$*"; }

note() { printf '# %s\n' "$*"; }

fail() {
  printf 'not ok - %s\n' "$*" >&2
  exit 1
}

# skip REASON: the script cannot test anything here; exit 77 (a skip, not a pass).
skip() {
  printf 'SKIP %s: %s\n' "$(basename "$0")" "$*"
  exit 77
}

# skip_part REASON: a part of the script cannot run here; the rest goes on,
# and a script that otherwise passes ends as a skip (77) that names the part.
E2E_SKIPPED_PARTS=()
skip_part() {
  printf '# SKIP part: %s\n' "$*"
  E2E_SKIPPED_PARTS+=("$*")
}

# assert_eq ACTUAL EXPECTED MESSAGE
assert_eq() {
  if [[ "$1" == "$2" ]]; then
    ok "$3"
  else
    fail "$3: expected '$2', got '$1'"
  fi
}

# assert_ne ACTUAL UNEXPECTED MESSAGE
assert_ne() {
  if [[ "$1" != "$2" ]]; then
    ok "$3"
  else
    fail "$3: did not expect '$2'"
  fi
}

# assert_match ACTUAL EXTENDED_REGEX MESSAGE
assert_match() {
  if [[ "$1" =~ $2 ]]; then
    ok "$3"
  else
    fail "$3: '$1' does not match /$2/"
  fi
}

# assert_fails MESSAGE CMD [ARGS...]   (the command must exit non-zero)
assert_fails() {
  local msg=$1
  shift
  local out=$E2E_DIR/assert_fails.out
  if "$@" >"$out" 2>&1; then
    fail "$msg: command unexpectedly succeeded: $*"
  fi
  # an expected failure must not come from a dead server
  if [[ -n $REG_PID ]] && ! kill -0 "$REG_PID" 2>/dev/null; then
    fail "$msg: the registry (pid $REG_PID) died during this check (crash?)"
  fi
  ok "$msg"
}

# assert_succeeds MESSAGE CMD [ARGS...]   (prints the command output on failure)
assert_succeeds() {
  local msg=$1
  shift
  local out=$E2E_DIR/assert_succeeds.out
  if ! "$@" >"$out" 2>&1; then
    sed 's/^/#   /' "$out" >&2
    fail "$msg: command failed: $*"
  fi
  ok "$msg"
}

# ------------------------------------------------------------- lifecycle ---

_e2e_stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    printf '# server pid %s ignored SIGTERM for 10s, sending SIGKILL\n' "$pid" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

_e2e_cleanup() {
  local rc=$? pid log
  set +e
  trap - EXIT
  for pid in "${E2E_PIDS[@]}"; do
    _e2e_stop_pid "$pid"
  done
  if ((rc != 0)); then
    for log in "${E2E_LOGS[@]}"; do
      [[ -s $log ]] || continue
      printf '# ---- last lines of %s ----\n' "$(basename "$log")" >&2
      # docker-registry logs every 404 of a blob HEAD at level error: skip those
      grep -v 'err.code="blob unknown"' "$log" | tail -n 25 | cut -c1-400 | sed 's/^/#   /' >&2
    done
  fi
  if [[ ${E2E_KEEP_TMP:-0} == 1 ]]; then
    printf '# kept temp dir %s\n' "$E2E_DIR" >&2
  else
    rm -rf "$E2E_DIR"
  fi
  if ((rc == 0 && ${#E2E_SKIPPED_PARTS[@]} > 0)); then
    printf 'SKIP %s (partly, the rest passed): %s\n' "$(basename "$0")" "${E2E_SKIPPED_PARTS[*]}"
    rc=77
  fi
  exit "$rc"
}
trap _e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Private environment for skopeo/podman/buildah: nothing global is read or
# written (no /etc/containers policy, no ~/.config, no /var/lib/containers).
export HOME=$E2E_DIR/home
export XDG_RUNTIME_DIR=$E2E_DIR/xdg-run
export XDG_CONFIG_HOME=$E2E_DIR/xdg-config
export XDG_DATA_HOME=$E2E_DIR/xdg-data
export XDG_CACHE_HOME=$E2E_DIR/xdg-cache
export TMPDIR=$E2E_DIR/tmp
export REGISTRY_AUTH_FILE=$E2E_DIR/auth.json
export CONTAINERS_REGISTRIES_CONF=$E2E_DIR/registries.conf
E2E_POLICY=$E2E_DIR/policy.json
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$TMPDIR"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' >"$E2E_POLICY"
# containers/image falls back to $HOME/.config/containers/policy.json before
# /etc/containers/policy.json: covers commands without --signature-policy
# (e.g. podman manifest push).
mkdir -p "$HOME/.config/containers"
cp "$E2E_POLICY" "$HOME/.config/containers/policy.json"
printf '{"auths":{}}\n' >"$REGISTRY_AUTH_FILE"
# every curl call (they all run with this HOME) is bounded in time
printf 'connect-timeout = 10\nmax-time = %s\n' "${E2E_CMD_TIMEOUT:-300}" >"$HOME/.curlrc"
printf 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n' >"$CONTAINERS_REGISTRIES_CONF"

# ---------------------------------------------------------------- network ---

# free_port: print a TCP port that nothing on this machine is using.  Picks
# from 20000-31999 (below the kernel's ephemeral range) and skips every port
# that appears in /proc/net/tcp{,6}.
free_port() {
  local -A used=()
  local f local_addr port i
  for f in /proc/net/tcp /proc/net/tcp6; do
    [[ -r $f ]] || continue
    while read -r _ local_addr _; do
      [[ $local_addr == *:* ]] || continue
      used[$((16#${local_addr##*:}))]=1
    done <"$f"
  done
  for ((i = 0; i < 200; i++)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    if [[ -z ${used[$port]:-} ]]; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  fail "free_port: no free port found"
}

# http_status METHOD URL [CURL_ARGS...]: print the HTTP status code only.
http_status() {
  local method=$1 url=$2
  shift 2
  curl -sS -o /dev/null -w '%{http_code}' -X "$method" "$@" "$url"
}

# ------------------------------------------------------------- registries ---

# _e2e_answers READY PORT: does 127.0.0.1:PORT answer GET /v2/ (see _e2e_launch)?
_e2e_answers() {
  if [[ $1 == any ]]; then
    [[ $(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$2/v2/" 2>/dev/null) != 000 ]]
  else
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$2/v2/" 2>/dev/null
  fi
}

# _e2e_launch KIND CONFIG_WRITER DATADIR [READY]: start a server, wait for /v2/.
# Retries with another port when the log says the address is in use.
# READY (optional): "ok" (default) waits for a 2xx answer to GET /v2/, "any"
# for any HTTP answer (a registry with auth answers 401).
_e2e_launch() {
  local kind=$1 writer=$2 datadir=$3 ready=${4:-ok}
  local attempt port cfg log pid i
  mkdir -p "$datadir"
  for ((attempt = 1; attempt <= 3; attempt++)); do
    E2E_SERVER_SEQ=$((E2E_SERVER_SEQ + 1))
    port=$(free_port)
    cfg=$E2E_DIR/$kind-$E2E_SERVER_SEQ.yml
    log=$E2E_DIR/$kind-$E2E_SERVER_SEQ.log
    "$writer" "$cfg" "$datadir" "$port"
    case $kind in
      berth) "$BERTH_BIN" serve --config "$cfg" >"$log" 2>&1 </dev/null & ;;
      distribution)
        # docker-registry reads REGISTRY_* variables as config overrides
        # (REGISTRY_AUTH_FILE would become "auth: <path>"): drop them.
        (
          while read -r v; do unset "$v"; done < <(compgen -e | grep '^REGISTRY_')
          exec "$DISTRIBUTION_BIN" serve "$cfg"
        ) >"$log" 2>&1 </dev/null &
        ;;
      *) fail "unknown server kind $kind" ;;
    esac
    pid=$!
    E2E_PIDS+=("$pid")
    E2E_LOGS+=("$log")
    for ((i = 0; i < 100; i++)); do
      if ! kill -0 "$pid" 2>/dev/null; then
        break
      fi
      if _e2e_answers "$ready" "$port"; then
        REG=127.0.0.1:$port
        REG_PID=$pid
        # shellcheck disable=SC2034 # REG_PORT and REG_CFG are for the test scripts
        REG_PORT=$port REG_CFG=$cfg
        # shellcheck disable=SC2034 # REG_LOG is for the test scripts
        REG_LOG=$log
        note "$kind listening on $REG (pid $pid, data $datadir)"
        [[ ${E2E_TRACE:-0} == 1 ]] && _e2e_trace_proxy "$kind"
        return 0
      fi
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      _e2e_stop_pid "$pid"
      sed 's/^/#   /' "$log" >&2
      fail "$kind did not answer GET http://127.0.0.1:$port/v2/ within 10s"
    fi
    wait "$pid" 2>/dev/null || true
    if grep -qi 'in use' "$log"; then
      note "port $port was taken, retrying"
      continue
    fi
    sed 's/^/#   /' "$log" >&2
    fail "$kind exited during startup (config $cfg)"
  done
  fail "$kind: could not find a free port after 3 attempts"
}

# E2E_BERTH_STORAGE_EXTRA: more lines for its storage: section (indented two spaces).
_e2e_write_berth_config() {
  local cfg=$1 datadir=$2 port=$3
  cat >"$cfg" <<EOF
server:
  addr: "127.0.0.1:$port"
storage:
  filesystem: {rootdirectory: "$datadir"}
  delete: {enabled: true}
${E2E_BERTH_STORAGE_EXTRA:-}
auth: {mode: none}
EOF
}

# _e2e_write_distribution_config CFG DATADIR PORT [EXTRA]: docker-registry's
# config; EXTRA: more top-level YAML (an auth: section). E2E_DIST_ACCESSLOG=1
# turns its access log on.
_e2e_write_distribution_config() {
  local cfg=$1 datadir=$2 port=$3 extra=${4:-} accesslog_disabled=true
  [[ ${E2E_DIST_ACCESSLOG:-0} == 1 ]] && accesslog_disabled=false
  cat >"$cfg" <<EOF
version: 0.1
log:
  accesslog:
    disabled: $accesslog_disabled
  level: ${E2E_DIST_LOG_LEVEL:-warn}
storage:
  filesystem:
    rootdirectory: "$datadir"
  delete:
    enabled: true
http:
  addr: "127.0.0.1:$port"
$extra
EOF
}

# start_berth DATADIR: sets REG, REG_PID, REG_LOG.
start_berth() {
  [[ -x $BERTH_BIN ]] || fail "BERTH_BIN=$BERTH_BIN is not an executable (build berth or set BERTH_BIN; E2E_IMPL=distribution runs against docker-registry)"
  _e2e_launch berth _e2e_write_berth_config "$1"
}

# start_distribution DATADIR: sets REG, REG_PID, REG_LOG.
start_distribution() {
  command -v "$DISTRIBUTION_BIN" >/dev/null || fail "$DISTRIBUTION_BIN not found"
  _e2e_launch distribution _e2e_write_distribution_config "$1"
}

# start_registry DATADIR: the implementation under test (E2E_IMPL).
start_registry() {
  case $E2E_IMPL in
    berth) start_berth "$1" ;;
    distribution) start_distribution "$1" ;;
    *) fail "E2E_IMPL must be berth or distribution, not '$E2E_IMPL'" ;;
  esac
}

# E2E_TRACE=1: put `socat -v` between the clients and the registry; every
# byte exchanged goes to $E2E_DIR/trace-<kind>-<n>.log (use with E2E_KEEP_TMP=1
# and a small E2E_BIG_LAYER_MB).  For looking at what clients really send.
_e2e_trace_proxy() {
  local kind=$1 port trace pid i
  command -v socat >/dev/null || fail "E2E_TRACE=1 needs socat"
  port=$(free_port)
  trace=$E2E_DIR/trace-$kind-$E2E_SERVER_SEQ.log
  socat -v "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "TCP:$REG" 2>"$trace" &
  pid=$!
  E2E_PIDS+=("$pid")
  E2E_PROXY_OF[$REG_PID]=$pid
  for ((i = 0; i < 50; i++)); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null && break
    sleep 0.1
  done
  note "tracing $REG through 127.0.0.1:$port into $trace"
  REG=127.0.0.1:$port
}

# stop_registry [PID]: stop a server (default: the last one started).  Fails
# if the server already died on its own (i.e. it crashed during the test).
# shellcheck disable=SC2120 # the argument is optional
stop_registry() {
  local pid=${1:-$REG_PID} p rest=()
  [[ -n $pid ]] || fail "stop_registry: no server running"
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    fail "registry pid $pid died before it was stopped (crash?)"
  fi
  _e2e_stop_pid "$pid"
  local proxy=${E2E_PROXY_OF[$pid]:-}
  [[ -z $proxy ]] || _e2e_stop_pid "$proxy"
  for p in "${E2E_PIDS[@]}"; do
    [[ $p == "$pid" || $p == "$proxy" ]] || rest+=("$p")
  done
  E2E_PIDS=("${rest[@]}")
  if [[ $pid == "$REG_PID" ]]; then
    REG_PID=""
  fi
}

# --------------------------------------------------------------- clients ---

# skopeo with the private policy.  _CONTAINERS_ROOTLESS_UID makes
# containers/image keep its blob-info cache under $XDG_DATA_HOME instead of
# /var/lib/containers/cache (the cache would otherwise leak between runs).
sk() {
  _CONTAINERS_ROOTLESS_UID=1 skopeo --policy "$E2E_POLICY" --tmpdir "$TMPDIR" \
    --command-timeout "${E2E_CMD_TIMEOUT:-300}s" "$@"
}

# sk_copy [COPY_OPTS...] SRC DST
sk_copy() {
  sk copy --quiet --src-tls-verify=false --dest-tls-verify=false "$@"
}

# sk_raw REF: raw manifest (or index) bytes
sk_raw() {
  sk inspect --raw --tls-verify=false "$1"
}

# sk_digest REF: sha256 of the raw manifest, as sha256:HEX
sk_digest() {
  local raw
  raw=$(sk_raw "$1" | sha256sum) || return 1
  printf 'sha256:%s\n' "${raw%% *}"
}

# sk_tags docker://REG/REPO: sorted tags, one per line
sk_tags() {
  sk list-tags --tls-verify=false "$1" | jq -r '.Tags[]' | sort
}

# Accept header covering all manifest types a modern client sends.
E2E_ACCEPT_ALL="application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"

# head_manifest REPO REF: HEAD /v2/REPO/manifests/REF; prints the response
# headers (lower-cased names, CR stripped).
head_manifest() {
  curl -fsS -I -H "Accept: $E2E_ACCEPT_ALL" "http://$REG/v2/$1/manifests/$2" | tr -d '\r' |
    awk -F': ' 'NF >= 2 { printf "%s: %s\n", tolower($1), substr($0, length($1) + 3) }'
}

# header NAME <headers: print the value of a header from head_manifest output
header() {
  awk -F': ' -v n="$1" 'tolower($1) == n { print substr($0, length($1) + 3); exit }'
}

# registry_digest REPO REF: Docker-Content-Digest of a manifest (via HEAD)
registry_digest() {
  head_manifest "$1" "$2" | header docker-content-digest
}

# sha256_file FILE -> sha256:HEX
sha256_file() {
  local s
  s=$(sha256sum "$1")
  printf 'sha256:%s\n' "${s%% *}"
}

# blob_path LAYOUT DIGEST
blob_path() {
  printf '%s/blobs/%s/%s\n' "$1" "${2%%:*}" "${2#*:}"
}

# ---------------------------------------------------------------- images ---

# make_image OCI_LAYOUT_DIR TAG [LAYER_SIZE_BYTES] [ARCH]
# Builds a two-layer image with umoci (no network): layer 1 holds
# LAYER_SIZE_BYTES (default 4096) of /dev/urandom data, layer 2 a small file
# unique to this image.  Result: oci:OCI_LAYOUT_DIR:TAG.
make_image() {
  local layout=$1 tag=$2 size=${3:-4096} arch=${4:-amd64} work
  work=$(mktemp -d "$E2E_DIR/mkimg.XXXXXX")
  [[ -f $layout/index.json ]] || umoci init --layout "$layout"
  umoci new --image "$layout:$tag"
  mkdir -p "$work/payload" "$work/meta"
  head -c "$size" /dev/urandom >"$work/payload/data.bin"
  umoci insert --rootless --image "$layout:$tag" "$work/payload" /payload
  printf 'image %s arch %s nonce %s-%s\n' "$tag" "$arch" "$RANDOM" "$(date +%s%N)" >"$work/meta/id.txt"
  umoci insert --rootless --image "$layout:$tag" "$work/meta" /meta
  umoci config --image "$layout:$tag" --architecture "$arch" --os linux \
    --config.cmd /bin/true --config.env E2E_TAG="$tag" --config.label org.berth.e2e="$tag"
  rm -rf "$work"
}

# oci_manifest_desc LAYOUT TAG: the descriptor of TAG in LAYOUT/index.json
oci_manifest_desc() {
  jq -ce --arg t "$2" '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t)] | first' \
    "$1/index.json"
}

# make_index LAYOUT INDEX_TAG TAG... : writes an OCI image index referencing
# the manifests of TAG... (platform taken from each image config) and tags it
# INDEX_TAG in LAYOUT/index.json.
make_index() {
  local layout=$1 itag=$2 tag desc mdigest cdigest platform descs=() idx digest
  shift 2
  for tag in "$@"; do
    desc=$(oci_manifest_desc "$layout" "$tag")
    mdigest=$(jq -r .digest <<<"$desc")
    cdigest=$(jq -r .config.digest "$(blob_path "$layout" "$mdigest")")
    platform=$(jq -c '{architecture, os}' "$(blob_path "$layout" "$cdigest")")
    descs+=("$(jq -c --argjson p "$platform" '{mediaType, digest, size, platform: $p}' <<<"$desc")")
  done
  idx=$E2E_DIR/index.$$.json
  printf '%s\n' "${descs[@]}" | jq -cs '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: .}' |
    tr -d '\n' >"$idx"
  digest=$(sha256_file "$idx")
  mv "$idx" "$(blob_path "$layout" "$digest")"
  jq --arg d "$digest" --argjson s "$(stat -c %s "$(blob_path "$layout" "$digest")")" --arg t "$itag" \
    '.manifests += [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s,
                     annotations: {"org.opencontainers.image.ref.name": $t}}]' \
    "$layout/index.json" >"$layout/index.json.new"
  mv "$layout/index.json.new" "$layout/index.json"
}

# manifest_blobs LAYOUT MANIFEST_DIGEST: config + layer digests, one a line
manifest_blobs() {
  jq -r '.config.digest, .layers[].digest' "$(blob_path "$1" "$2")"
}

# check_layout_blobs MSG ORIG_LAYOUT COPY_LAYOUT MANIFEST_DIGEST: every blob
# of the manifest exists in the copy, hashes to its name and equals the
# original byte for byte.
check_layout_blobs() {
  local msg=$1 a=$2 b=$3 m=$4 d n=0
  while read -r d; do
    [[ -f $(blob_path "$b" "$d") ]] || fail "$msg: blob $d missing from $b"
    assert_quiet_eq "$(sha256_file "$(blob_path "$b" "$d")")" "$d" "$msg: blob $d content hash"
    cmp -s "$(blob_path "$a" "$d")" "$(blob_path "$b" "$d")" || fail "$msg: blob $d differs"
    n=$((n + 1))
  done < <(manifest_blobs "$b" "$m")
  ((n >= 2)) || fail "$msg: manifest $m lists only $n blobs"
  ok "$msg ($n blobs identical)"
}

# assert_quiet_eq: like assert_eq but prints nothing on success
assert_quiet_eq() {
  [[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"
}

# ------------------------------------------------------ podman / buildah ---
# Both run with vfs storage under $E2E_DIR, cgroupfs, file events, and inside
# a private mount namespace whose /var/lib is $E2E_DIR/varlib: buildah commit
# otherwise writes /var/lib/containers/cache/blob-info-cache-v1.boltdb.
export CONTAINERS_STORAGE_CONF=$E2E_DIR/storage.conf
export CONTAINERS_CONF=$E2E_DIR/containers.conf
cat >"$CONTAINERS_STORAGE_CONF" <<EOC
[storage]
driver = "vfs"
graphroot = "$E2E_DIR/containers/root"
runroot = "$E2E_DIR/containers/runroot"
EOC
cat >"$CONTAINERS_CONF" <<EOC
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$E2E_DIR/containers/events.log"
tmp_dir = "$E2E_DIR/containers/tmp"
EOC
mkdir -p "$E2E_DIR/varlib"
if unshare --mount -- mount --bind "$E2E_DIR/varlib" /var/lib 2>/dev/null; then
  E2E_UNSHARE=1
else
  E2E_UNSHARE=0
  note "unshare --mount not permitted: buildah will write /var/lib/containers/cache" >&2
fi

# in_private_ns CMD [ARGS...]: run CMD (time-bounded) with a private /var/lib.
in_private_ns() {
  local t=${E2E_CMD_TIMEOUT:-300}
  if [[ $E2E_UNSHARE == 1 ]]; then
    # shellcheck disable=SC2016 # $1/$@ belong to the inner shell
    timeout "$t" unshare --mount -- bash -c 'mount --bind "$1" /var/lib && shift && exec "$@"' _ "$E2E_DIR/varlib" "$@"
  else
    timeout "$t" "$@"
  fi
}

# bh ARGS...: buildah with its own store
bh() {
  in_private_ns buildah --root "$E2E_DIR/buildah/root" --runroot "$E2E_DIR/buildah/runroot" \
    --storage-driver vfs "$@"
}

# pm STORE ARGS...: podman with the private store named STORE
pm() {
  local s=$E2E_DIR/p-$1
  shift
  mkdir -p "$s/tmp"
  in_private_ns podman --root "$s/root" --runroot "$s/run" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file --tmpdir "$s/tmp" "$@"
}

# ------------------------------------------------------------ token auth ---
# For the tests of Berth's built-in token auth (auth_test.sh,
# token_interop_test.sh).

# E2E_BERTH_AUTH: YAML appended to the server/storage part of the config
# written by start_berth_auth (auth:, users:, acl:); empty = no users or ACL,
# i.e. Berth's secure default (a generated admin password).
E2E_BERTH_AUTH=${E2E_BERTH_AUTH:-}

# write_berth_auth_config CFG DATADIR PORT: server + storage + $E2E_BERTH_AUTH
write_berth_auth_config() {
  local cfg=$1 datadir=$2 port=$3
  {
    cat <<EOF2
server:
  addr: "127.0.0.1:$port"
storage:
  filesystem: {rootdirectory: "$datadir"}
  delete: {enabled: true}
EOF2
    [[ -z $E2E_BERTH_AUTH ]] || printf '%s\n' "$E2E_BERTH_AUTH"
  } >"$cfg.tmp"
  mv "$cfg.tmp" "$cfg"
}

# start_berth_auth DATADIR: Berth with the config of write_berth_auth_config;
# ready as soon as /v2/ answers at all (401 without credentials).
# Sets REG, REG_PID, REG_LOG, REG_PORT, REG_CFG.
start_berth_auth() {
  [[ -x $BERTH_BIN ]] || fail "BERTH_BIN=$BERTH_BIN is not an executable (build berth or set BERTH_BIN)"
  _e2e_launch berth write_berth_auth_config "$1" any
}

# start_distribution_with WRITER DATADIR: docker-registry with the config
# written by WRITER CFG DATADIR PORT; ready on any answer (401 with auth).
start_distribution_with() {
  command -v "$DISTRIBUTION_BIN" >/dev/null || fail "$DISTRIBUTION_BIN not found"
  _e2e_launch distribution "$1" "$2" any
}

# require_berth_impl: for scripts that test a Berth feature (token auth, S3,
# verify, ...); under E2E_IMPL=distribution there is nothing to test: a skip.
require_berth_impl() {
  if [[ $E2E_IMPL != berth ]]; then
    skip "tests a Berth feature, not part of E2E_IMPL=$E2E_IMPL"
  fi
}

# berth_hash PASSWORD: a bcrypt hash (cost 5: fast, still a real bcrypt)
berth_hash() {
  printf '%s\n' "$1" | "$BERTH_BIN" hash-password --cost 5
}

# team_policy_yaml ADMIN_HASH DEVELOPER_HASH [EXTRA_ACL_YAML]: users admin
# and developer and the ACL: admin everything; developer pull+push on
# myorg/backend-*, pull on myorg/frontend; then EXTRA_ACL_YAML (list items).
team_policy_yaml() {
  cat <<EOF2
users:
  admin:     {password: "$1"}
  developer: {password: "$2"}
acl:
  - account: "admin"
    name: "*"
    actions: ["*"]
  - account: "developer"
    name: "myorg/backend-*"
    actions: ["pull", "push"]
  - account: "developer"
    name: "myorg/frontend"
    actions: ["pull"]
EOF2
  [[ -z ${3:-} ]] || printf '%s\n' "$3"
}

# b64url_decode <DATA: base64url (no padding) to bytes
b64url_decode() {
  local s
  s=$(tr -d '\n' | tr '_-' '/+')
  case $((${#s} % 4)) in
    2) s+='==' ;;
    3) s+='=' ;;
  esac
  printf '%s' "$s" | base64 -d
}

# jwt_header TOKEN / jwt_payload TOKEN: the decoded JSON of a JWT part
jwt_header() {
  cut -d. -f1 <<<"$1" | b64url_decode
}
jwt_payload() {
  cut -d. -f2 <<<"$1" | b64url_decode
}

# response_header NAME <HEADERS: a header's value from `curl -D -` output
# (name case-insensitive, CR stripped; first occurrence)
response_header() {
  tr -d '\r' | awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$1")" '
    index(tolower($0), n ":") == 1 { v = substr($0, length(n) + 2); sub(/^[ \t]+/, "", v); print v; exit }'
}

# wait_until SECONDS CMD [ARGS...]: retry CMD (quietly) every 0.25 s until it
# succeeds; non-zero if it never did within SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  while true; do
    "$@" >/dev/null 2>&1 && return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.25
  done
}

# count_matches FILE EXTENDED_REGEX: number of matching lines (0 if none)
count_matches() {
  grep -cE -- "$2" "$1" 2>/dev/null || true
}

# assert_fails_with MESSAGE EXTENDED_REGEX CMD [ARGS...]: CMD must exit
# non-zero and its output (stdout+stderr) must match the regex.
assert_fails_with() {
  local msg=$1 re=$2
  shift 2
  local out=$E2E_DIR/assert_fails.out
  if "$@" >"$out" 2>&1; then
    fail "$msg: command unexpectedly succeeded: $*"
  fi
  if [[ -n $REG_PID ]] && ! kill -0 "$REG_PID" 2>/dev/null; then
    fail "$msg: the registry (pid $REG_PID) died during this check (crash?)"
  fi
  if ! grep -qE -- "$re" "$out"; then
    sed 's/^/#   /' "$out" >&2
    fail "$msg: output does not match /$re/"
  fi
  ok "$msg"
}

# Soft checks: a mismatch is reported (not ok) and counted, the script goes
# on; end the script with soft_checks_done, which fails if any mismatched.
# For checks of known bugs whose failure must not hide the rest of the test.
E2E_SOFT_FAILURES=0
expect_eq() {
  if [[ "$1" == "$2" ]]; then
    ok "$3"
  else
    printf 'not ok - %s: expected '\''%s'\'', got '\''%s'\'' (continuing)\n' "$3" "$2" "$1" >&2
    E2E_SOFT_FAILURES=$((E2E_SOFT_FAILURES + 1))
  fi
}
soft_checks_done() {
  ((E2E_SOFT_FAILURES == 0)) || fail "$E2E_SOFT_FAILURES check(s) failed above (marked 'continuing')"
}

# form_encode KEY=VALUE...: an application/x-www-form-urlencoded body encoded
# the way Go's url.Values.Encode does it (what containerd and docker send):
# space as '+', everything but [A-Za-z0-9._~-] percent-encoded.
form_encode() {
  local kv parts=() k v
  for kv in "$@"; do
    k=${kv%%=*}
    v=${kv#*=}
    parts+=("$(jq -rn --arg k "$k" --arg v "$v" '"\($k|@uri)=\($v|@uri)"' | sed 's/%20/+/g')")
  done
  local IFS='&'
  printf '%s' "${parts[*]}"
}
