#!/usr/bin/env bash
# Soak: online GC every second (1 s grace) while four clients push images that
# share layers -- some skip a layer's upload after a HEAD says it exists (as
# docker and containerd do), some mount it from another repository -- and
# delete some of them. A manifest PUT refused with MANIFEST_BLOB_UNKNOWN is
# retried once with every blob uploaded again (what a client does). Afterwards
# every image that was acknowledged and not deleted pulls byte for byte and
# `berth verify` is clean.
#   CI (ctest e2e.gc_soak_test): 20 s.  The full soak of docs/gc.md:
#   GC_SOAK_SECONDS=120 BERTH_BIN=build/berth bash tests/e2e/gc_soak_test.sh
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

SECONDS_TO_RUN=${GC_SOAK_SECONDS:-20}
DATA=$E2E_DIR/data
export E2E_BERTH_STORAGE_EXTRA='  gc: {enabled: true, interval: 1s, delay: 1s, delete_untagged: true}'
start_registry "$DATA"

digest_of() { printf 'sha256:%s' "$(sha256sum "$1" | cut -d' ' -f1)"; }
for s in 0 1 2; do head -c $((20000 + s * 1000)) /dev/urandom >"$E2E_DIR/shared$s"; done

upload() {  # REPO FILE -> 0 when 201
  [[ $(curl -sS -o /dev/null -w '%{http_code}' -X POST --data-binary @"$2" \
    "http://$REG/v2/$1/blobs/uploads/?digest=$(digest_of "$2")") == 201 ]]
}
exists() {  # REPO DIGEST
  [[ $(curl -sS -o /dev/null -w '%{http_code}' -I "http://$REG/v2/$1/blobs/$2") == 200 ]]
}
mount() {  # REPO DIGEST FROM -> 0 when mounted (201)
  [[ $(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://$REG/v2/$1/blobs/uploads/?mount=$2&from=$3") == 201 ]]
}

client() {  # ID: pushes until the deadline; writes "repo tag digest" of acknowledged images to acked.ID, deleted ones to deleted.ID
  local id=$1 n=0 repo=team/c$1 dir=$E2E_DIR/c$1 deadline=$((SECONDS + SECONDS_TO_RUN))
  mkdir -p "$dir"
  while ((SECONDS < deadline)); do
    n=$((n + 1))
    local shared=$E2E_DIR/shared$((RANDOM % 3)) own=$dir/own$n cfg=$dir/cfg$n m=$dir/m$n attempt code
    head -c $((1000 + RANDOM % 5000)) /dev/urandom >"$own"
    printf '{"client":%d,"n":%d}' "$id" "$n" >"$cfg"
    jq -cn --arg c "$(digest_of "$cfg")" --argjson cs "$(stat -c %s "$cfg")" \
      --arg s "$(digest_of "$shared")" --argjson ss "$(stat -c %s "$shared")" \
      --arg o "$(digest_of "$own")" --argjson os "$(stat -c %s "$own")" \
      '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
        layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $s, size: $ss},
                 {mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $o, size: $os}]}' | tr -d '\n' >"$m"
    for attempt in 1 2; do
      # The shared layer: HEAD and skip (client 0, 1), mount from client 0 (client 2), else upload.
      if ((attempt == 1 && id < 2)) && exists "$repo" "$(digest_of "$shared")"; then
        :
      elif ((attempt == 1 && id == 2)) && mount "$repo" "$(digest_of "$shared")" team/c0; then
        :
      else
        upload "$repo" "$shared" || continue
      fi
      upload "$repo" "$own" && upload "$repo" "$cfg" || continue
      code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
        --data-binary @"$m" "http://$REG/v2/$repo/manifests/t$n")
      [[ $code == 201 ]] && break
    done
    [[ $code == 201 ]] || { echo "$repo t$n $code" >>"$E2E_DIR/refused.$id"; continue; }
    if ((RANDOM % 3 == 0)); then
      [[ $(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "http://$REG/v2/$repo/manifests/$(digest_of "$m")") == 202 ]] &&
        { echo "$repo t$n $(digest_of "$m")" >>"$E2E_DIR/deleted.$id"; continue; }
    fi
    echo "$repo t$n $(digest_of "$m") $m" >>"$E2E_DIR/acked.$id"
  done
}

touch "$E2E_DIR/acked.none" "$E2E_DIR/deleted.none" "$E2E_DIR/refused.none"  # the globs below always match
pids=()
for id in 0 1 2 3; do
  client "$id" &
  pids+=("$!")
done
for p in "${pids[@]}"; do wait "$p" || fail "a client failed"; done
acked=$(cat "$E2E_DIR"/acked.* | wc -l)
deleted=$(cat "$E2E_DIR"/deleted.* | wc -l)
refused=$(cat "$E2E_DIR"/refused.* | wc -l)
runs=$(grep -c 'gc: finished' "$REG_LOG" || true)
removed=$(grep -c 'gc: removed kind=blob' "$REG_LOG" || true)
note "$acked images kept, $deleted deleted, $refused refused twice; $runs gc runs removed $removed blobs"
((removed > 0)) || fail "online gc removed nothing during the soak (nothing was tested)"
((acked > 0)) || fail "no image was acknowledged"
((runs > 0)) || fail "online gc never ran"

while read -r repo tag digest mfile; do
  got=$(curl -sS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/$repo/manifests/$tag")
  [[ $got == "$(cat "$mfile")" ]] || fail "$repo:$tag: the manifest changed or is gone"
  for d in $(jq -r '.config.digest, .layers[].digest' "$mfile"); do
    curl -fsS -o "$E2E_DIR/pulled" "http://$REG/v2/$repo/blobs/$d" || fail "$repo:$tag: blob $d is gone"
    [[ $(digest_of "$E2E_DIR/pulled") == "$d" ]] || fail "$repo:$tag: blob $d does not hash to its digest"
  done
done < <(cat "$E2E_DIR"/acked.*)
ok "all $acked acknowledged and kept images pull byte for byte after $SECONDS_TO_RUN s with online gc ($runs runs)"
out=$("$BERTH_BIN" verify --config "$REG_CFG") || fail "verify after the soak: $out"
assert_match "$out" "OK: no problems" "verify clean after the soak"
kill -0 "$REG_PID" || fail "berth died"
stop_registry
