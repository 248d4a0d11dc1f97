#!/usr/bin/env bash
# Checks the lock contracts of src/ (GUARDED_BY, REQUIRES, EXCLUDES... from
# src/util/thread_annotations.h) with clang's thread-safety analysis: every
# src/ translation unit in BUILD_DIR/compile_commands.json is compiled again by
# clang++ with -fsyntax-only -Wthread-safety -Werror=thread-safety (its other
# warnings off: the g++ build owns those). Headers are checked through the
# files that include them. Exits non-zero on any finding (or a file clang
# cannot compile); prints the findings.
#
#   tests/tools/thread_safety_check.sh [BUILD_DIR]   (default: build/)
# Knobs: CLANGXX (clang++-14), BERTH_TEST_JOBS (parallel compiles; default: the number of cores).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
clang="${CLANGXX:-clang++-14}"
jobs="${BERTH_TEST_JOBS:-$(nproc)}"
db="$build/compile_commands.json"
[[ -f $db ]] || { echo "thread_safety_check: no $db (configure the build first)" >&2; exit 2; }
command -v "$clang" >/dev/null || { echo "thread_safety_check: $clang not found (apt-get install clang-14)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-tsa.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One shell command per src/ translation unit, NUL-separated: the build's
# command with clang instead of the compiler (and its launcher), no output
# file, no warnings but the analysis.
python3 - "$db" "$root/src/" "$clang" "$work/out" >"$work/commands" <<'PY'
import json, shlex, sys
db, src, clang, out = sys.argv[1:]
seen = set()
for i, e in enumerate(json.load(open(db))):
    f = e["file"]
    if not f.startswith(src) or f in seen:
        continue
    seen.add(f)
    args = e.get("arguments") or shlex.split(e["command"])
    while args and (args[0].endswith("ccache") or args[0].endswith("sccache")):
        args = args[1:]
    kept, skip = [], False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
            continue
        if a in ("-c", "-MD", "-MMD") or (a.startswith("-W") and not a.startswith("-Wl,")):
            continue
        kept.append(a)
    cmd = [clang, "-fsyntax-only", "-Wno-everything", "-Wthread-safety", "-Werror=thread-safety"] + kept
    log = "%s/%d.log" % (out, i)
    sys.stdout.write("cd %s && %s >%s 2>&1 || { echo %s >>%s/failed; exit 1; }\0"
                     % (shlex.quote(e["directory"]), shlex.join(cmd), log, shlex.quote(f), out))
PY
mkdir -p "$work/out"
count=$(tr -cd '\0' <"$work/commands" | wc -c)
start=$SECONDS
rc=0
xargs -0 -n1 -P "$jobs" bash -c <"$work/commands" || rc=$?
if [[ $rc -ne 0 || -s $work/out/failed ]]; then
  cat "$work"/out/*.log >&2
  echo "thread_safety_check: FAILED in: $(sort "$work/out/failed" | tr '\n' ' ')" >&2
  exit 1
fi
echo "thread_safety_check: $count files clean ($((SECONDS - start)) s, $jobs jobs)"
