#!/usr/bin/env bash
# SIGKILL during `berth gc`, repeatedly, next to a running Berth: half the
# kills land exactly between a blob's claim and its bytes (test hook
# gc.blob.claimed), the others at a random moment of the run. Afterwards one
# complete run finishes what the killed ones left (claimed rows, a stale
# lease, expired here as its TTL would), nothing the kept image needs was touched (it pulls byte for
# byte), every piece of garbage is gone and `berth verify` is clean. A claim
# left by a killed run is a note of `berth db check`, not a difference.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl
command -v sqlite3 >/dev/null || skip "sqlite3 not installed (it expires the killed collectors' leases)"

ROUNDS=${GC_CRASH_ROUNDS:-12}
DATA=$E2E_DIR/data
export E2E_BERTH_STORAGE_EXTRA='  gc: {delay: 1s}'
start_registry "$DATA"

LAYOUT=$E2E_DIR/layout
make_image "$LAYOUT" keep 100000
sk_copy "oci:$LAYOUT:keep" "docker://$REG/team/app:keep"
keep=$(jq -r .digest <<<"$(oci_manifest_desc "$LAYOUT" keep)")

digest_of() { printf 'sha256:%s' "$(sha256sum "$1" | cut -d' ' -f1)"; }
garbage=()
HOLD=$E2E_DIR/hold
for ((i = 1; i <= ROUNDS; i++)); do
  for j in 1 2 3; do
    head -c $((1000 + RANDOM)) /dev/urandom >"$E2E_DIR/junk"
    garbage+=("$(digest_of "$E2E_DIR/junk")")
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST --data-binary @"$E2E_DIR/junk" \
      "http://$REG/v2/team/junk$i/blobs/uploads/?digest=$(digest_of "$E2E_DIR/junk")")
    [[ $code == 201 ]] || fail "round $i: upload answered $code"
  done
  sleep 1.1  # past the grace
  : >"$E2E_DIR/gc.err"
  if ((i % 2)); then
    touch "$HOLD"
    BERTH_TEST_HOOKS="gc.blob.claimed:hold=$HOLD" "$BERTH_BIN" gc --config "$REG_CFG" >/dev/null 2>"$E2E_DIR/gc.err" &
    pid=$!
    wait_until 30 grep -q 'gc.blob.claimed reached' "$E2E_DIR/gc.err" || fail "round $i: gc never claimed"
  else
    "$BERTH_BIN" gc --config "$REG_CFG" >/dev/null 2>"$E2E_DIR/gc.err" &
    pid=$!
    sleep "0.0$((RANDOM % 10))"
  fi
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$HOLD"
  # The killed collector's lease would block the next run for its 60 s TTL: expire it now.
  sqlite3 -cmd '.timeout 5000' "$DATA/metadata.db" 'UPDATE gc_lease SET expires_at = 0' || fail "cannot expire the lease"
done
ok "$ROUNDS runs of berth gc killed with SIGKILL ($((ROUNDS / 2 + ROUNDS % 2)) right after a claim)"

# One more killed right after a claim: `berth db check` reports the pending
# claim as a note, not a difference (exit 0).
head -c 5000 /dev/urandom >"$E2E_DIR/junk"
garbage+=("$(digest_of "$E2E_DIR/junk")")
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST --data-binary @"$E2E_DIR/junk" \
  "http://$REG/v2/team/junk-last/blobs/uploads/?digest=$(digest_of "$E2E_DIR/junk")")
[[ $code == 201 ]] || fail "last round: upload answered $code"
sleep 1.1
: >"$E2E_DIR/gc.err"
touch "$HOLD"
BERTH_TEST_HOOKS="gc.blob.claimed:hold=$HOLD" "$BERTH_BIN" gc --config "$REG_CFG" >/dev/null 2>"$E2E_DIR/gc.err" &
pid=$!
wait_until 30 grep -q 'gc.blob.claimed reached' "$E2E_DIR/gc.err" || fail "last round: gc never claimed"
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
rm -f "$HOLD"
sqlite3 -cmd '.timeout 5000' "$DATA/metadata.db" 'UPDATE gc_lease SET expires_at = 0' || fail "cannot expire the lease"
out=$("$BERTH_BIN" db check --config "$REG_CFG" 2>&1) || fail "db check with a pending claim: $out"
assert_match "$out" "note: gc-claim-pending sha256:" "db check notes the pending claim (and exits 0)"

"$BERTH_BIN" gc --config "$REG_CFG" >"$E2E_DIR/final.out" 2>&1 || fail "no gc run completed after the kills: $(cat "$E2E_DIR/final.out")"
ok "a complete run after the kills"
for d in "${garbage[@]}"; do
  [[ ! -e $DATA/docker/registry/v2/blobs/sha256/${d:7:2}/${d:7}/data ]] || fail "garbage $d survived"
done
ok "all ${#garbage[@]} garbage blobs are gone"
COPY=$E2E_DIR/copy
sk_copy "docker://$REG/team/app:keep" "oci:$COPY:keep"
check_layout_blobs "kept image after the kills" "$LAYOUT" "$COPY" "$keep"
out=$("$BERTH_BIN" verify --config "$REG_CFG") || fail "verify after the kills: $out"
assert_match "$out" "OK: no problems" "verify clean after the kills"
kill -0 "$REG_PID" || fail "berth died"
stop_registry
