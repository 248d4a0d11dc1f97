#!/usr/bin/env bash
# Runs a GoogleTest binary for a ctest entry that must test something: fails
# when no test ran or any test skipped (GoogleTest 1.12, Debian 12's, has no
# --gtest_fail_if_no_test, and a run of skips exits 0). The s3.* entries use
# it: without the RGW fixture's environment their tests would skip and pass.
#
#   gtest_must_run.sh [--env-file FILE] BINARY [GTEST_ARGS...]
#
# --env-file FILE: load BERTH_TEST_S3_*-style assignments from FILE first
# (tests/tools/ceph_rgw.sh writes it); a missing file is a failure.
set -euo pipefail
env_file=""
if [[ ${1:-} == --env-file ]]; then
  env_file=$2
  shift 2
fi
[[ $# -ge 1 ]] || { echo "usage: $0 [--env-file FILE] BINARY [GTEST_ARGS...]" >&2; exit 2; }
if [[ -n $env_file ]]; then
  [[ -r $env_file ]] || { echo "gtest_must_run: $env_file is missing (did the rgw fixture start?)" >&2; exit 1; }
  set -a
  # shellcheck disable=SC1090
  . "$env_file"
  set +a
fi
report=$(mktemp "${TMPDIR:-/tmp}/gtest-report.XXXXXX.json")
trap 'rm -f "$report"' EXIT
rc=0
"$@" --gtest_output="json:$report" || rc=$?
[[ $rc -eq 0 ]] || exit "$rc"
ran=$(jq '[.testsuites[].testsuite[] | select(.result == "COMPLETED")] | length' "$report")
skipped=$(jq -r '[.testsuites[].testsuite[] | select(.result == "SKIPPED") | "\(.classname).\(.name)"] | join(" ")' "$report")
if [[ -n $skipped ]]; then
  echo "gtest_must_run: FAILED: tests skipped where they must run: $skipped" >&2
  exit 1
fi
if [[ $ran -eq 0 ]]; then
  echo "gtest_must_run: FAILED: no test ran (a filter that matches nothing?): $*" >&2
  exit 1
fi
echo "gtest_must_run: $ran tests ran, none skipped"
