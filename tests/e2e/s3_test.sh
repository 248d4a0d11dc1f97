#!/usr/bin/env bash
# Berth on S3 storage against a real Ceph RADOS Gateway: skopeo copies in and
# out, a layer larger than the multipart chunk size, a chunked upload driven by
# curl (Content-Range PATCHes crossing the chunk size), the upload's helper
# objects cleaned up, and the redirect mode (GET blob -> 307 to a presigned URL).
#
# Uses the RGW named by BERTH_TEST_S3_ENDPOINT/_BUCKET/_ACCESS_KEY/_SECRET_KEY
# (ctest's "rgw" fixture provides it); without it, starts its own with
# tests/tools/ceph_rgw.sh (needs ceph-mon ceph-osd radosgw ceph-common uuid-runtime).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl  # S3 storage is a Berth feature

CHUNK=$((5 * 1024 * 1024))
if [[ -z ${BERTH_TEST_S3_ENDPOINT:-} ]]; then
  RGW_DIR=$E2E_DIR/rgw
  _s3_cleanup() {
    local rc=$?
    bash "$E2E_REPO_ROOT/tests/tools/ceph_rgw.sh" stop "$RGW_DIR" >/dev/null 2>&1 || true
    (exit "$rc")
    _e2e_cleanup
  }
  trap _s3_cleanup EXIT
  note "no BERTH_TEST_S3_ENDPOINT: starting a Ceph RGW"
  bash "$E2E_REPO_ROOT/tests/tools/ceph_rgw.sh" start "$RGW_DIR" auto berth-e2e >/dev/null 2>&1 ||
    fail "could not start Ceph RGW (logs in $RGW_DIR/log)"
  # shellcheck disable=SC1091
  set -a && . "$RGW_DIR/env" && set +a
fi
S3=$BERTH_TEST_S3_ENDPOINT
ROOT=/e2e-$RANDOM$RANDOM
REDIRECT=false

_s3_write_config() {
  local cfg=$1 port=$3
  cat >"$cfg" <<YAML
server: {addr: "127.0.0.1:$port"}
storage:
  s3:
    endpoint: "$S3"
    region: "${BERTH_TEST_S3_REGION:-us-east-1}"
    bucket: "$BERTH_TEST_S3_BUCKET"
    rootdirectory: "$ROOT"
    forcepathstyle: true
    chunksize: $CHUNK
  redirect: {enabled: $REDIRECT}
auth: {mode: none}
YAML
}
export AWS_ACCESS_KEY_ID=$BERTH_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$BERTH_TEST_S3_SECRET_KEY

# s3_multipart_uploads PREFIX: keys with an unfinished multipart upload under PREFIX.
s3_multipart_uploads() {
  curl -fsS --aws-sigv4 "aws:amz:${BERTH_TEST_S3_REGION:-us-east-1}:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "$S3/$BERTH_TEST_S3_BUCKET?prefix=${1//\//%2F}&uploads=" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g' || true
}

# s3_keys PREFIX: the bucket's keys under PREFIX (ListObjectsV2, SigV4 by curl).
s3_keys() {
  curl -fsS --aws-sigv4 "aws:amz:${BERTH_TEST_S3_REGION:-us-east-1}:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "$S3/$BERTH_TEST_S3_BUCKET?list-type=2&prefix=${1//\//%2F}" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g' || true
}

_e2e_launch berth _s3_write_config "$E2E_DIR/unused"
A=$REG
assert_match "$(grep -m1 'berth listening' "$REG_LOG")" "s3 $S3" "berth started on S3 storage"
if grep -q "$AWS_SECRET_ACCESS_KEY" "$REG_LOG"; then fail "the secret key appears in the log"; fi
ok "the secret key is not logged"

SRC=$E2E_DIR/src
OUT=$E2E_DIR/out
make_image "$SRC" small 65536
make_image "$SRC" big $((2 * CHUNK + 12345))
SMALL=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" small)")
BIG=$(jq -r .digest <<<"$(oci_manifest_desc "$SRC" big)")

assert_succeeds "skopeo push small image to berth on S3" sk_copy "oci:$SRC:small" "docker://$A/s3/small:v1"
assert_succeeds "skopeo push image with a layer > chunksize" sk_copy "oci:$SRC:big" "docker://$A/s3/big:v1"
assert_eq "$(sk_digest "docker://$A/s3/big:v1")" "$BIG" "manifest of the big image round-trips"
assert_succeeds "skopeo pull small image" sk_copy "docker://$A/s3/small:v1" "oci:$OUT:small"
assert_succeeds "skopeo pull big image" sk_copy "docker://$A/s3/big:v1" "oci:$OUT:big"
check_layout_blobs "pulled small image blobs" "$SRC" "$OUT" "$SMALL"
check_layout_blobs "pulled big image blobs" "$SRC" "$OUT" "$BIG"
BIGLAYER=$(jq -r '.layers[0].digest' "$(blob_path "$SRC" "$BIG")")
assert_eq "$(curl -fsS -r 1000-1999 "http://$A/v2/s3/big/blobs/$BIGLAYER" | sha256sum | cut -d' ' -f1)" \
  "$(dd if="$(blob_path "$SRC" "$BIGLAYER")" iflag=skip_bytes,count_bytes skip=1000 count=1000 status=none | sha256sum | cut -d' ' -f1)" "ranged GET of the big layer"
assert_eq "$(s3_keys "${ROOT#/}/docker/registry/v2/blobs/sha256/${BIGLAYER:7:2}/${BIGLAYER#sha256:}/")" \
  "${ROOT#/}/docker/registry/v2/blobs/sha256/${BIGLAYER:7:2}/${BIGLAYER#sha256:}/data" "the layer is one object at its layout path"

# ------------------------------------------------ chunked upload via curl ---
# A second replica on the same bucket sees the upload's progress.
_e2e_launch berth _s3_write_config "$E2E_DIR/unused"
A2=$REG
head -c $((CHUNK + 3 * 1024 * 1024 + 77)) /dev/urandom >"$E2E_DIR/chunked.bin"
DIGEST=sha256:$(sha256sum "$E2E_DIR/chunked.bin" | cut -d' ' -f1)
SIZE=$(stat -c %s "$E2E_DIR/chunked.bin")
LOC=$(curl -fsS -X POST -D - -o /dev/null "http://$A/v2/s3/chunked/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
[[ -n $LOC ]] || fail "POST upload gave no Location"
UUID=${LOC##*/}
offset=0
n=0
for piece in $((3 * 1024 * 1024)) $((3 * 1024 * 1024)) $((SIZE - 6 * 1024 * 1024)); do
  dd if="$E2E_DIR/chunked.bin" of="$E2E_DIR/piece" iflag=skip_bytes,count_bytes skip="$offset" count="$piece" status=none
  range=$(curl -fsS -X PATCH -D - -o /dev/null -H "Content-Type: application/octet-stream" \
    -H "Content-Range: $offset-$((offset + piece - 1))" --data-binary @"$E2E_DIR/piece" "http://$A$LOC" |
    tr -d '\r' | awk 'tolower($1)=="range:"{print $2}')
  offset=$((offset + piece))
  n=$((n + 1))
  assert_eq "$range" "0-$((offset - 1))" "PATCH chunk $n acknowledged up to byte $((offset - 1))"
  # After every PATCH the upload is durable in the bucket (state object).
  assert_match "$(s3_keys "${ROOT#/}/docker/registry/v2/repositories/s3/chunked/_uploads/$UUID/")" "data\.s3state" \
    "upload state saved in the bucket after chunk $n"
  assert_eq "$(curl -fsS -D - -o /dev/null "http://$A2$LOC" | tr -d '\r' | awk 'tolower($1)=="range:"{print $2}')" \
    "0-$((offset - 1))" "another replica reports the upload's size after chunk $n"
done
status=$(curl -sS -o /dev/null -w '%{http_code}' "http://$A/v2/s3/chunked/blobs/uploads/$UUID")
assert_eq "$status" "204" "GET upload status"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -X PUT "http://$A$LOC?digest=$DIGEST")" "201" "PUT finishes the chunked upload"
assert_eq "$(curl -fsS "http://$A/v2/s3/chunked/blobs/$DIGEST" | sha256sum | cut -d' ' -f1)" "${DIGEST#sha256:}" \
  "GET of the chunked blob returns its bytes"
assert_eq "$(s3_keys "${ROOT#/}/docker/registry/v2/repositories/s3/chunked/_uploads/")" "" \
  "no upload objects (state, tails) left in the bucket"

# A cancelled upload with a started multipart upload leaves nothing behind.
LOC=$(curl -fsS -X POST -D - -o /dev/null "http://$A/v2/s3/chunked/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
head -c $((CHUNK + 10)) /dev/urandom >"$E2E_DIR/piece"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -X PATCH --data-binary @"$E2E_DIR/piece" "http://$A$LOC")" "202" "PATCH of a cancelled upload"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "http://$A$LOC")" "204" "DELETE cancels the upload"
assert_eq "$(s3_keys "${ROOT#/}/docker/registry/v2/repositories/s3/chunked/_uploads/")" "" "cancelled upload removed from the bucket"
assert_eq "$(s3_multipart_uploads "${ROOT#/}/")" "" "no multipart upload left open (completed or aborted)"

# ------------------------------------------------------------- redirect ---
REDIRECT=true
_e2e_launch berth _s3_write_config "$E2E_DIR/unused"
B=$REG
hdrs=$(curl -sS -D - -o /dev/null "http://$B/v2/s3/big/blobs/$BIGLAYER" | tr -d '\r')
assert_match "$hdrs" "^HTTP/1.1 307" "redirect mode: GET blob answers 307"
location=$(awk 'tolower($1)=="location:"{print $2}' <<<"$hdrs")
assert_match "$location" "^$S3/.*X-Amz-Signature=" "Location is a presigned S3 URL"
assert_eq "$(curl -fsS "$location" | sha256sum | cut -d' ' -f1)" "${BIGLAYER#sha256:}" "the presigned URL serves the layer"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -I "http://$B/v2/s3/big/blobs/$BIGLAYER")" "200" "HEAD blob is still answered directly"
assert_succeeds "skopeo pull through redirects" sk_copy "docker://$B/s3/big:v1" "oci:$OUT:big-redirected"
check_layout_blobs "blobs pulled through redirects" "$SRC" "$OUT" "$BIG"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' "http://$B/v2/s3/big/blobs/sha256:$(printf '%064d' 0)")" "404" \
  "unknown blob is 404, not a redirect"
