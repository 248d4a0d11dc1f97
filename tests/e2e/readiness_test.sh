#!/usr/bin/env bash
# /readyz answers 503 while the data directory takes no writes (a read-only
# bind mount, in a private mount namespace: root ignores file permissions) and
# 200 again once it does; /healthz stays 200 throughout.
set -euo pipefail
if [[ -z ${E2E_IN_MOUNT_NS:-} ]]; then
  if ! command -v unshare >/dev/null || ! unshare --mount true 2>/dev/null; then
    echo "SKIP readiness_test.sh: cannot create a private mount namespace here (needs root or CAP_SYS_ADMIN)"
    exit 77
  fi
  E2E_IN_MOUNT_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DATA=$E2E_DIR/data
mkdir -p "$DATA"
mount --bind "$DATA" "$DATA"
# The metadata database outside the mount: its open, writable file would make
# the read-only remount fail ("mount point is busy").
E2E_BERTH_STORAGE_EXTRA="  metadata: {path: \"$E2E_DIR/metadata.db\"}" start_registry "$DATA"

status_of() { curl -s -o /dev/null -w '%{http_code}' "http://$REG/$1"; }

[[ $(status_of readyz) == 200 ]] || fail "/readyz is not 200 on a writable data directory"
ok "/readyz 200 while the data directory is writable"

mount -o remount,bind,ro "$DATA"
[[ $(status_of readyz) == 503 ]] || fail "/readyz is not 503 on a read-only data directory"
ok "/readyz 503 while the data directory is read-only"
[[ $(status_of healthz) == 200 ]] || fail "/healthz is not 200 while storage is read-only"
ok "/healthz stays 200"
body=$(curl -s "http://$REG/readyz")
[[ $body == *"storage not writable"* ]] || fail "/readyz gives no reason: $body"
ok "/readyz says why: ${body%%$'\n'*}"

mount -o remount,bind,rw "$DATA"
[[ $(status_of readyz) == 200 ]] || fail "/readyz did not recover after the data directory became writable"
ok "/readyz 200 again once writable"

stop_registry
umount "$DATA"  # (on failure the namespace's end removes the mount; the empty directory may stay)
