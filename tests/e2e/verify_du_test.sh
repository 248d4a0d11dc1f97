#!/usr/bin/env bash
# `berth verify` and `berth du` on a store written by a running Berth (they run
# next to it, read-only): exit codes 0 / 1 / 2, problem lines, du numbers.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

DATA=$E2E_DIR/data
start_registry "$DATA"

digest_of() { printf 'sha256:%s' "$(sha256sum "$1" | cut -d' ' -f1)"; }
push_blob() {  # REPO FILE
  local loc
  loc=$(curl -sS -D - -o /dev/null -X POST "http://$REG/v2/$1/blobs/uploads/" |
    tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
  assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$2" \
    "http://$REG$loc?digest=$(digest_of "$2")")" 201 "push $(basename "$2") to $1"
}

head -c 300000 /dev/urandom >"$E2E_DIR/shared"
head -c 1000 /dev/urandom >"$E2E_DIR/own"
push_blob team/a "$E2E_DIR/shared"
push_blob team/a "$E2E_DIR/own"
push_blob team/b "$E2E_DIR/shared"

out=$("$BERTH_BIN" verify --config "$REG_CFG") || fail "verify on a clean store: $out"
assert_match "$out" "blobs checked: 2 \\(301000 bytes hashed\\)" "verify checked both blobs"
assert_match "$out" "OK: no problems" "verify: clean store"

json=$("$BERTH_BIN" du --config "$REG_CFG" --json)
assert_eq "$(jq -r '.repositories[0].name + " " + (.repositories[0].bytes|tostring)' <<<"$json")" "team/a 301000" "du: team/a"
assert_eq "$(jq -r '.repositories[1].bytes' <<<"$json")" 300000 "du: team/b"
assert_eq "$(jq -r '.linked.bytes' <<<"$json")" 301000 "du: the shared blob counts once in the total"
assert_match "$("$BERTH_BIN" du --config "$REG_CFG")" "team/a +2 +301000" "du table"

# Corrupt the shared blob on disk (a flipped byte).
d=$(digest_of "$E2E_DIR/shared")
hex=${d#sha256:}
printf 'X' | dd of="$DATA/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data" bs=1 seek=1000 conv=notrunc status=none
set +e
out=$("$BERTH_BIN" verify --config "$REG_CFG")
rc=$?
set -e
assert_eq "$rc" 1 "verify exits 1 on a corrupt blob"
assert_match "$out" "corrupt-blob /docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data: " "the problem line names the blob"
assert_match "$out" "problems: 1" "one problem"

set +e
"$BERTH_BIN" verify --config "$E2E_DIR/missing.yml" 2>/dev/null
rc_missing=$?
"$BERTH_BIN" verify --no-such-flag 2>/dev/null
rc_flag=$?
set -e
assert_eq "$rc_missing" 2 "verify exits 2 on a missing config file"
assert_eq "$rc_flag" 2 "verify exits 2 on a usage error"

kill -0 "$REG_PID" || fail "berth died while verify and du ran next to it"
stop_registry
