#!/usr/bin/env bash
# Disk full (issue #6): the data directory is a small tmpfs (in a private mount
# namespace). Pushes go on until one fails; that failure must be a 5xx with the
# spec's JSON error body, Berth must stay up and keep serving what it had, no
# partial blob may become visible, `berth verify` must be clean; after the
# filesystem grows, pushes (including the one that failed) work again.
# The temp area (_berth_tmp) is inside the data root, so it fills up too.
set -euo pipefail
[[ -n ${E2E_XTRACE:-} ]] && set -x
if [[ -z ${E2E_IN_MOUNT_NS:-} ]]; then
  if ! command -v unshare >/dev/null || ! unshare --mount true 2>/dev/null; then
    echo "SKIP disk_full_test.sh: cannot create a private mount namespace here (needs root or CAP_SYS_ADMIN)"
    exit 77
  fi
  E2E_IN_MOUNT_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl
command -v jq >/dev/null || fail "jq is needed"

DATA=$E2E_DIR/data
mkdir -p "$DATA"
mount -t tmpfs -o size=64m,mode=0755 tmpfs "$DATA" || skip "cannot mount a tmpfs here"
# Detach the tmpfs (lazily: the server may still hold it) before the temp dir is removed.
trap 'rc=$?; umount -l "$DATA" 2>/dev/null; (exit $rc); _e2e_cleanup' EXIT
start_registry "$DATA"
REPO=full/test

# make_blob FILE SIZE_KIB: incompressible content.
make_blob() { head -c "$(($2 * 1024))" /dev/urandom >"$1"; }
digest_of() { printf 'sha256:%s' "$(sha256sum "$1" | cut -d' ' -f1)"; }

# push_blob FILE: POST + PUT (monolithic); prints the PUT's status, body in
# $E2E_DIR/resp, the upload's location in $E2E_DIR/loc.
push_blob() {
  local file=$1 digest loc
  digest=$(digest_of "$file")
  loc=$(curl -sS -D - -o /dev/null -X POST "http://$REG/v2/$REPO/blobs/uploads/" |
    tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
  [[ -n $loc ]] || fail "POST upload gave no Location"
  printf '%s' "$loc" >"$E2E_DIR/loc"
  curl -sS -o "$E2E_DIR/resp" -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary @"$file" "http://$REG$loc?digest=$digest"
}

# check_error_body STATUS WHAT: a 5xx whose body parses as {"errors":[{"code":...}]}
check_error_body() {
  local status=$1 what=$2 code
  [[ $status =~ ^5[0-9][0-9]$ ]] || fail "$what: expected a 5xx, got '$status': $(head -c 300 "$E2E_DIR/resp")"
  code=$(jq -er '.errors[0].code' "$E2E_DIR/resp") || fail "$what: $status without a JSON errors body: $(head -c 300 "$E2E_DIR/resp")"
  ok "$what: $status, code $code, message: $(jq -r '.errors[0].message' "$E2E_DIR/resp")"
}

# --- fill the disk ---------------------------------------------------------
pushed=()
failed_file=""
for ((i = 0; i < 40; i++)); do
  f=$E2E_DIR/blob-$i
  make_blob "$f" 4096
  status=$(push_blob "$f")
  if [[ $status == 201 ]]; then
    pushed+=("$f")
    continue
  fi
  failed_file=$f
  break
done
[[ -n $failed_file ]] || fail "40 pushes of 4 MiB fitted into a 64 MiB tmpfs?"
note "${#pushed[@]} blobs of 4 MiB pushed before the disk filled"
check_error_body "$status" "monolithic PUT on a full disk"
failed_loc=$(cat "$E2E_DIR/loc")

# A chunked upload on the full disk fails the same way.
loc=$(curl -sS -D - -o /dev/null -X POST "http://$REG/v2/$REPO/blobs/uploads/" |
  tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
if [[ -n $loc ]]; then
  status=$(curl -sS -o "$E2E_DIR/resp" -w '%{http_code}' -X PATCH -H 'Content-Type: application/octet-stream' \
    --data-binary @"$failed_file" "http://$REG$loc")
  check_error_body "$status" "PATCH on a full disk"
  curl -sS -o /dev/null -X DELETE "http://$REG$loc" || true
else
  # Even starting an upload needs a file: then POST itself must fail cleanly.
  status=$(curl -sS -o "$E2E_DIR/resp" -w '%{http_code}' -X POST "http://$REG/v2/$REPO/blobs/uploads/")
  check_error_body "$status" "POST upload on a full disk"
fi

# Fill the last blocks with smaller blobs, so that small writes (links,
# manifests, upload starts) hit the full disk too.
for size in 256 16 1; do
  for ((i = 0; i < 300; i++)); do
    f=$E2E_DIR/small-$size-$i
    make_blob "$f" "$size"
    status=$(push_blob "$f" 2>/dev/null) || status=""  # a POST refused for lack of space exits push_blob
    if [[ $status == 201 ]]; then
      pushed+=("$f")
    else
      break
    fi
  done
done
note "${#pushed[@]} blobs pushed in all; the disk is full"
if [[ $status != 201 && $status != 000 && -n $status ]]; then
  check_error_body "$status" "small pushes on a full disk"
fi

# Starting an upload writes a small file: 202, or a JSON 5xx.
status=$(curl -sS -o "$E2E_DIR/resp" -w '%{http_code}' -X POST "http://$REG/v2/$REPO/blobs/uploads/")
if [[ $status == 202 ]]; then ok "POST upload on a full disk: 202"; else check_error_body "$status" "POST upload on a full disk"; fi

# A manifest over earlier blobs: stored completely, or refused with a JSON 5xx and invisible.
cfg=${pushed[0]} layer=${pushed[1]}
manifest=$(jq -cn --arg c "$(digest_of "$cfg")" --argjson cs "$(stat -c %s "$cfg")" \
  --arg l "$(digest_of "$layer")" --argjson ls "$(stat -c %s "$layer")" \
  '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
    layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}],
    annotations: {"org.example.padding": "'"$(head -c 6000 /dev/zero | tr '\0' x)"'"}}')
status=$(curl -sS -o "$E2E_DIR/resp" -w '%{http_code}' -X PUT \
  -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "$manifest" \
  "http://$REG/v2/$REPO/manifests/full")
if [[ $status == 201 ]]; then
  ok "manifest PUT on a full disk still fitted (201)"
  assert_eq "$(curl -sS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/$REPO/manifests/full")" \
    "$manifest" "and it reads back identical"
else
  check_error_body "$status" "manifest PUT on a full disk"
  assert_eq "$(http_status GET "http://$REG/v2/$REPO/manifests/full")" 404 "the refused manifest's tag is not visible"
fi

# Nothing of the failed blob is visible.
assert_eq "$(http_status GET "http://$REG/v2/$REPO/blobs/$(digest_of "$failed_file")")" 404 \
  "the blob whose push failed is not visible"

# --- still up, still serving ------------------------------------------------
assert_eq "$(http_status GET "http://$REG/healthz")" 200 "/healthz 200 on a full disk"
for f in "${pushed[@]}"; do
  got=$(curl -sS "http://$REG/v2/$REPO/blobs/$(digest_of "$f")" | sha256sum | cut -d' ' -f1)
  [[ sha256:$got == "$(digest_of "$f")" ]] || fail "blob $f is not byte-identical on a full disk"
done
ok "all ${#pushed[@]} earlier blobs byte-identical"
kill -0 "$REG_PID" || fail "berth died"

# The store must be clean. The database may lag behind it only for pushes that
# were refused: storage is written first (docs/metadata.md), so a push whose
# database write failed on the full disk leaves its blob and link in storage,
# unacknowledged. Anything else is a failure.
acknowledged=" "
for f in "${pushed[@]}"; do acknowledged+="$(digest_of "$f") "; done
rc=0
out=$("$BERTH_BIN" verify --config "$REG_CFG") || rc=$?
grep -q '^OK: no problems' <<<"$out" || fail "berth verify: the store is not clean on the full disk: $out"
if ((rc != 0)); then
  ((rc == 1)) || fail "berth verify could not run on the full disk: $out"
  # "blob-missing-in-db <digest>: ..." and "link-missing-in-db <repository> <digest>: ..."
  while read -r kind first second _rest; do
    case $kind in
      blob-missing-in-db) digest=$first ;;
      link-missing-in-db) digest=$second ;;
      *) fail "berth verify on the full disk: unexpected difference '$kind': $out" ;;
    esac
    [[ $acknowledged != *" ${digest%:} "* ]] || fail "an acknowledged push is missing from the database: $out"
  done < <(grep -E '^[a-z]+-(missing-in-(db|store)|mismatch) ' <<<"$out")
  ok "berth verify on the full disk: the store is clean; the database lacks only refused pushes"
else
  ok "berth verify clean on the full disk ($(grep -c . <<<"$out") lines)"
fi

# --- space again ---------------------------------------------------------------
curl -sS -o /dev/null -X DELETE "http://$REG$failed_loc" || true
mount -o remount,size=256m "$DATA"
status=$(push_blob "$failed_file")
assert_eq "$status" 201 "the push that failed works once there is space"
got=$(curl -sS "http://$REG/v2/$REPO/blobs/$(digest_of "$failed_file")" | sha256sum | cut -d' ' -f1)
assert_eq "sha256:$got" "$(digest_of "$failed_file")" "and its content is right"
f=$E2E_DIR/blob-after
make_blob "$f" 1024
assert_eq "$(push_blob "$f")" 201 "a new push works"
# What refused pushes left in storage only is added by an import (safe while serving).
"$BERTH_BIN" db import --config "$REG_CFG" >/dev/null 2>&1 || fail "berth db import after recovery"
out=$("$BERTH_BIN" verify --config "$REG_CFG") || fail "berth verify after recovery: $out"
ok "berth verify clean after recovery (store and database)"

stop_registry  # (the EXIT trap detaches the tmpfs)
