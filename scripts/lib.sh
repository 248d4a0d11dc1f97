# Shared by scripts/run and scripts/test: install Debian packages idempotently, build.
# shellcheck shell=bash

BERTH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_PACKAGES=(g++ cmake ninja-build pkg-config libboost1.81-dev libboost-url1.81-dev libssl-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libcrypt-dev libsqlite3-dev)

# Installs the packages that are not installed yet; quiet, and a no-op when all are there.
ensure_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "installing: ${missing[*]}" >&2
  # Packages such as docker-registry (:5000), nginx (:80) and ceph would start
  # their system services on install; tests start their own servers, so a
  # temporary policy-rc.d tells invoke-rc.d not to start anything.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    added_policy=1
  fi
  local rc=0
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
      >/dev/null || rc=$?
  [ "$added_policy" -eq 1 ] && "${sudo[@]}" rm -f "$policy"
  return "$rc"
}

# Configures and builds into build/ (release, static).
build_berth() {
  local jobs
  jobs="$(nproc)"
  cmake -S "$BERTH_ROOT" -B "$BERTH_ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$BERTH_ROOT/build" -j "$jobs" 2>&1 | grep -vE "requires at runtime the shared libraries|in function|^\[" >&2 || true
  test -x "$BERTH_ROOT/build/berth" || { echo "build failed" >&2; return 1; }
}
