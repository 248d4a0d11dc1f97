#!/usr/bin/env bash
# Runs every end-to-end test script, prints PASS/SKIP/FAIL per script and ends
# with "N passed, S skipped, M failed" (a script skips with exit 77).  Exits
# non-zero if any script failed.
#
#   BERTH_BIN=build/berth tests/e2e/run_all.sh
#   E2E_IMPL=distribution tests/e2e/run_all.sh      # against docker-registry
#   tests/e2e/run_all.sh skopeo_test.sh              # a subset
# Knobs (E2E_BIG_LAYER_MB, E2E_KEEP_TMP, E2E_TRACE, ...) are listed in lib.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if (($# > 0)); then
  tests=("$@")
else
  tests=(skopeo_test.sh podman_buildah_test.sh interchange_test.sh)
fi

passed=0
skipped=0
failed=0
summary=()
for t in "${tests[@]}"; do
  t=$(basename "$t")
  printf '=== %s (E2E_IMPL=%s)\n' "$t" "${E2E_IMPL:-berth}"
  start=$(date +%s)
  rc=0
  bash "$here/$t" </dev/null || rc=$?
  secs=$(($(date +%s) - start))
  if ((rc == 0)); then
    passed=$((passed + 1))
    summary+=("PASS $t (${secs}s)")
  elif ((rc == 77)); then
    skipped=$((skipped + 1))
    summary+=("SKIP $t (${secs}s)")
  else
    failed=$((failed + 1))
    summary+=("FAIL $t (exit $rc, ${secs}s)")
  fi
  printf '%s\n' "${summary[-1]}"
done

printf '\n'
printf '%s\n' "${summary[@]}"
printf '%d passed, %d skipped, %d failed\n' "$passed" "$skipped" "$failed"
((failed == 0))
