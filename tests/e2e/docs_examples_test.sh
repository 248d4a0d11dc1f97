#!/usr/bin/env bash
# Config examples in the documentation are real: every fenced block that
# follows a line "<!-- check-config ... -->" in README.md or docs/*.md must
# pass `berth check-config`. (The worked example of
# docs/migrate-from-registry2.md is checked, with its ACL decisions, by
# migrate_test.sh.)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_berth_impl

n=0
for doc in "$E2E_REPO_ROOT/README.md" "$E2E_REPO_ROOT"/docs/*.md; do
  # every marked block of this file, one per output file
  rm -f "$E2E_DIR"/block.*
  awk -v out="$E2E_DIR/block." '
    /<!-- check-config/ { want = 1; next }
    want && /^```/ && !inside { inside = 1; k++; next }
    inside && /^```/ { inside = 0; want = 0; next }
    inside { print > (out k ".yaml") }' "$doc"
  for block in "$E2E_DIR"/block.*.yaml; do
    [[ -e $block ]] || continue
    label="${doc#"$E2E_REPO_ROOT"/} example ${block##*/block.}"
    assert_succeeds "$label passes berth check-config" "$BERTH_BIN" check-config "$block"
    n=$((n + 1))
  done
done
((n >= 1)) || fail "no <!-- check-config --> block found in README.md or docs/*.md"
