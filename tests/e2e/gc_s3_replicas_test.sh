#!/usr/bin/env bash
# Online garbage collection on S3 with two replicas (issue #16, docs/gc.md):
# two `berth serve` on one bucket of a real Ceph RADOS Gateway and one
# PostgreSQL metadata database (started here, as scale_out_test.sh does), both
# with storage.gc on (interval 1 s, grace 1 s), running several times.
# Images sharing layers are pushed through both replicas, some deleted
# through either; then:
#  - one collector at a time: while replica A's run is held holding the lease
#    (test hook gc.lease.acquired; during the pushes), B's runs skip (log,
#    berth_gc_runs_total{result="skipped"}) and finish none; the same the
#    other way round;
#  - the deleted images' own blobs are gone from the bucket, each removed
#    exactly once, by one of the replicas (audit lines), and nothing else;
#  - every kept image pulls byte for byte through both replicas, and
#    `berth verify` and `berth db check` are clean.
# The S3 endpoint comes from BERTH_TEST_S3_* (ctest's rgw fixture); without it
# the test starts its own with tests/tools/ceph_rgw.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

# ------------------------------------------------------------- S3 (RGW) ---
if [[ -z ${BERTH_TEST_S3_ENDPOINT:-} ]]; then
  RGW_DIR=$E2E_DIR/ceph
  note "no BERTH_TEST_S3_ENDPOINT: starting a Ceph RGW"
  "$E2E_REPO_ROOT/tests/tools/ceph_rgw.sh" start "$RGW_DIR" auto >"$E2E_DIR/ceph.log" 2>&1 ||
    { tail -20 "$E2E_DIR/ceph.log" >&2; fail "cannot start Ceph RGW"; }
  _gcs3_stop_rgw() { "$E2E_REPO_ROOT/tests/tools/ceph_rgw.sh" stop "$RGW_DIR" >/dev/null 2>&1 || true; }
  trap 'rc=$?; _gcs3_stop_rgw; (exit $rc); _e2e_cleanup' EXIT  # (keeps the script's exit status)
  # shellcheck disable=SC1091
  set -a && . "$RGW_DIR/env" && set +a
fi
S3_ENDPOINT=$BERTH_TEST_S3_ENDPOINT
S3_ACCESS=${BERTH_TEST_S3_ACCESS_KEY:-TESTACCESS}
S3_SECRET=${BERTH_TEST_S3_SECRET_KEY:-TESTSECRET}
S3_REGION=${BERTH_TEST_S3_REGION:-us-east-1}
S3_BUCKET=${BERTH_TEST_S3_BUCKET:-berth-gc}
# The bucket may exist already (shared fixture): 200 or 409 are both fine.
code=$(curl -sS -o /dev/null -w "%{http_code}" -X PUT --aws-sigv4 "aws:amz:$S3_REGION:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
  --user "$S3_ACCESS:$S3_SECRET" "$S3_ENDPOINT/$S3_BUCKET")
[[ $code == 200 || $code == 409 ]] || fail "cannot create bucket $S3_BUCKET (HTTP $code)"
# A fresh root per run, so reruns and other tests sharing the bucket never interfere.
S3_ROOT=/gc-replicas-$$-$RANDOM

# s3_keys PREFIX: the bucket's keys under PREFIX (ListObjectsV2, SigV4 by curl).
s3_keys() {
  curl -fsS --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS:$S3_SECRET" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "$S3_ENDPOINT/$S3_BUCKET?list-type=2&prefix=${1//\//%2F}" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g' || true
}
# blob_in_bucket DIGEST: its data object exists.
blob_in_bucket() {
  local d=$1
  [[ -n $(s3_keys "${S3_ROOT#/}/docker/registry/v2/blobs/sha256/${d:7:2}/${d:7}/data") ]]
}

# ------------------------------------------------------------ PostgreSQL ---
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || fail "PostgreSQL not found (scripts/test installs Debian's postgresql)"
chmod 711 "$E2E_DIR"  # the postgres user reaches its directory below
PG_DIR=$E2E_DIR/pg
PG_PORT=$(free_port)
"$E2E_REPO_ROOT/tests/tools/postgres.sh" start "$PG_DIR" "$PG_PORT" >"$E2E_DIR/pg-start.log" 2>&1 ||
  { cat "$E2E_DIR/pg-start.log" >&2; fail "cannot start PostgreSQL"; }
_gcs3_stop_pg() { "$E2E_REPO_ROOT/tests/tools/postgres.sh" stop "$PG_DIR" >/dev/null 2>&1 || true; }
if [[ -n ${RGW_DIR:-} ]]; then
  trap 'rc=$?; _gcs3_stop_pg; _gcs3_stop_rgw; (exit $rc); _e2e_cleanup' EXIT
else
  trap 'rc=$?; _gcs3_stop_pg; (exit $rc); _e2e_cleanup' EXIT  # (keeps the script's exit status)
fi
note "PostgreSQL on 127.0.0.1:$PG_PORT"

# -------------------------------------------------------------- replicas ---
# write_replica_config CFG DATADIR PORT: everything but the port is shared.
write_replica_config() {
  cat >"$1" <<EOF
server: {addr: "127.0.0.1:$3"}
storage:
  s3:
    endpoint: "$S3_ENDPOINT"
    region: "$S3_REGION"
    bucket: "$S3_BUCKET"
    rootdirectory: "$S3_ROOT"
    accesskey: "$S3_ACCESS"
    secretkey: "$S3_SECRET"
    forcepathstyle: true
  delete: {enabled: true}
  metadata: {driver: postgres, host: "127.0.0.1", port: $PG_PORT, dbname: berth, user: berth, password: berth, sslmode: require}
  gc: {enabled: true, interval: 1s, delay: 1s}
auth: {mode: none}
EOF
}
# Each replica's runs can be held holding the lease while its hold file exists.
# A's first run (a second after its start) is held: it holds the lease while
# the images are pushed, so B's runs must all skip meanwhile, and nothing is
# collected before its manifest arrives (a push through RGW on a loaded
# machine can take longer than the 1 s grace; gc_soak_test.sh covers pushes
# racing collections).
HOLD_A=$E2E_DIR/hold-a HOLD_B=$E2E_DIR/hold-b
touch "$HOLD_A"
BERTH_TEST_HOOKS="gc.lease.acquired:hold=$HOLD_A" _e2e_launch berth write_replica_config "$E2E_DIR/a"
A=$REG A_PID=$REG_PID A_LOG=$REG_LOG A_CFG=$REG_CFG
wait_until 30 grep -q 'gc.lease.acquired reached' "$A_LOG" || fail "A's online gc did not take the lease"
ok "A's online gc holds the lease"
BERTH_TEST_HOOKS="gc.lease.acquired:hold=$HOLD_B" _e2e_launch berth write_replica_config "$E2E_DIR/b"
B=$REG B_PID=$REG_PID B_LOG=$REG_LOG

# ---------------------------------------------------------------- images ---
# base, and keep1 / drop1 / keep2 = base plus one layer of their own (sharing
# base's layers); drop2 on its own.
LAYOUT=$E2E_DIR/layout
make_image "$LAYOUT" base 300000
for t in keep1 drop1 keep2; do
  umoci tag --image "$LAYOUT:base" "$t"
  work=$(mktemp -d "$E2E_DIR/extra.XXXXXX")
  mkdir -p "$work/extra"
  head -c 150000 /dev/urandom >"$work/extra/$t.bin"
  umoci insert --rootless --image "$LAYOUT:$t" "$work/extra" /extra
done
make_image "$LAYOUT" drop2 200000
digest_of_tag() { jq -r .digest <<<"$(oci_manifest_desc "$LAYOUT" "$1")"; }

push() {  # REPLICA TAG
  sk_copy "oci:$LAYOUT:$2" "docker://$1/team/app:$2" 2>"$E2E_DIR/push.err" ||
    fail "cannot push $2 through $1: $(tail -c 400 "$E2E_DIR/push.err")"
}
push "$A" base
push "$A" keep1
push "$B" drop1
push "$B" keep2
push "$A" drop2
ok "pushed five images sharing layers through both replicas"
skips_seen() { [[ $(count_matches "$B_LOG" "gc: skipped") -gt 0 ]]; }
wait_until 10 skips_seen || fail "B's online gc did not skip while A held the lease"
assert_eq "$(count_matches "$B_LOG" "gc: finished")" 0 "B finished no run while A held the lease"
assert_match "$(curl -fsS "http://$B/metrics")" 'berth_gc_runs_total\{result="skipped"\} [1-9]' \
  'B counts its skipped runs (berth_gc_runs_total{result="skipped"})'
[[ $(count_matches "$A_LOG" "gc.lease.acquired passed") -eq 0 ]] || fail "A's run was let go before the pushes ended (hold timeout?)"
rm -f "$HOLD_A"
wait_until 30 grep -q 'gc: finished' "$A_LOG" || fail "A's held run did not finish"

# What deleting drop1 and drop2 frees: their manifests and the blobs no kept image references.
declare -A kept=()
for t in base keep1 keep2; do
  m=$(digest_of_tag "$t")
  kept[$m]=1
  while read -r d; do kept[$d]=1; done < <(manifest_blobs "$LAYOUT" "$m")
done
freed=()
for t in drop1 drop2; do
  m=$(digest_of_tag "$t")
  freed+=("$m")
  while read -r d; do [[ -n ${kept[$d]:-} ]] || freed+=("$d"); done < <(manifest_blobs "$LAYOUT" "$m")
done
note "${#freed[@]} blobs to be freed, ${#kept[@]} kept"
for d in "${freed[@]}" "${!kept[@]}"; do blob_in_bucket "$d" || fail "blob $d is not in the bucket after the pushes"; done
ok "every pushed blob is in the bucket"

# ------------------------------------------------------- one at a time ---
# hold_and_watch HOLDER_LOG HOLD OTHER_LOG OTHER_NAME OTHER: the holder's next
# run is held with the lease; the other replica's runs skip meanwhile.
hold_and_watch() {
  local holder_log=$1 hold=$2 other_log=$3 other_name=$4 other=$5 reached finished skipped
  reached=$(count_matches "$holder_log" "gc.lease.acquired reached")
  touch "$hold"
  held() { [[ $(count_matches "$holder_log" "gc.lease.acquired reached") -gt $reached ]]; }
  wait_until 30 held || fail "the holder's online gc did not take the lease"
  sleep 0.3  # the other replica's last run, if it just gave the lease up, has logged its end
  finished=$(count_matches "$other_log" "gc: finished")
  skipped=$(count_matches "$other_log" "gc: skipped")
  sleep 3  # about three of the other replica's runs
  assert_eq "$(count_matches "$other_log" "gc: finished")" "$finished" "$other_name finishes no run while the lease is held"
  [[ $(count_matches "$other_log" "gc: skipped") -gt $skipped ]] || fail "$other_name did not skip while the lease was held"
  assert_match "$(curl -fsS "http://$other/metrics")" 'berth_gc_runs_total\{result="skipped"\} [1-9]' \
    "$other_name skips while the other replica holds the lease (berth_gc_runs_total{result=\"skipped\"})"
  rm -f "$hold"
}
hold_and_watch "$B_LOG" "$HOLD_B" "$A_LOG" A "$A"

# ---------------------------------------------------------------- delete ---
for pair in "$A drop1" "$B drop2"; do
  read -r replica t <<<"$pair"
  code=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "http://$replica/v2/team/app/manifests/$(digest_of_tag "$t")")
  assert_eq "$code" 202 "delete $t through $replica"
done
all_freed_gone() {
  local d
  for d in "${freed[@]}"; do ! blob_in_bucket "$d" || return 1; done
}
wait_until 60 all_freed_gone || fail "the deleted images' own blobs are still in the bucket"
ok "the deleted images' own blobs are gone from the bucket"
for d in "${!kept[@]}"; do blob_in_bucket "$d" || fail "gc removed $d, which a kept image needs"; done
ok "every kept image's blob is still in the bucket"
# Nothing was collected before the deletes (A held the lease during the
# pushes), so each freed blob is removed exactly once, by one of the two.
for d in "${freed[@]}"; do
  n=$(($(count_matches "$A_LOG" "gc: removed kind=blob .*digest=$d") + $(count_matches "$B_LOG" "gc: removed kind=blob .*digest=$d")))
  ((n == 1)) || fail "blob $d removed $n times (audit lines of both replicas)"
done
removals=$(($(count_matches "$A_LOG" "gc: removed kind=blob") + $(count_matches "$B_LOG" "gc: removed kind=blob")))
assert_eq "$removals" "${#freed[@]}" "the replicas removed exactly the freed blobs, each once"
note "runs: A $(count_matches "$A_LOG" "gc: finished") finished / $(count_matches "$A_LOG" "gc: skipped") skipped, B $(count_matches "$B_LOG" "gc: finished") / $(count_matches "$B_LOG" "gc: skipped")"

# ------------------------------------------------------------------ pull ---
for replica in "$A" "$B"; do
  for t in base keep1 keep2; do
    COPY=$E2E_DIR/copy-$t-${replica##*:}
    sk_copy "docker://$replica/team/app:$t" "oci:$COPY:$t"
    check_layout_blobs "$t through $replica after gc" "$LAYOUT" "$COPY" "$(digest_of_tag "$t")"
  done
done
for t in drop1 drop2; do
  assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' "http://$A/v2/team/app/manifests/$t")" 404 "$t is gone"
done

out=$("$BERTH_BIN" verify --config "$A_CFG") || fail "verify after gc: $out"
assert_match "$out" "OK: no problems" "verify clean after gc on two replicas"
out=$("$BERTH_BIN" db check --config "$A_CFG" 2>&1) || fail "db check after gc: $out"
assert_match "$out" "blobs: OK" "db check clean after gc on two replicas"
kill -0 "$A_PID" || fail "replica A died"
kill -0 "$B_PID" || fail "replica B died"
stop_registry "$A_PID"
stop_registry "$B_PID"
