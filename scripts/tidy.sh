#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy at the root) over every source file of src/ that
# the build compiles, using the compile commands the build exports. Generated
# sources (build/) and everything outside src/ are left out.
#   scripts/tidy.sh [BUILD_DIR] [FILE_REGEX]    e.g. scripts/tidy.sh build 'src/store/'
# Prints the findings and a count per check; exits 1 when there are findings.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
filter=${2:-}
jobs=${TIDY_JOBS:-$(nproc)}
tidy=$(command -v clang-tidy || command -v clang-tidy-14 || true)
if [ -z "$tidy" ]; then
  echo "tidy.sh: clang-tidy is not installed (apt-get install clang-tidy)" >&2
  exit 2
fi
if [ ! -f "$build/compile_commands.json" ]; then
  echo "tidy.sh: $build/compile_commands.json is missing; configure the build first (scripts/build.sh)" >&2
  exit 2
fi
root=$(pwd)
mapfile -t files < <(python3 - "$build/compile_commands.json" "$root" "$filter" <<'PY'
import json, re, sys
db, root, pattern = sys.argv[1], sys.argv[2].rstrip("/") + "/", sys.argv[3]
seen = set()
for entry in json.load(open(db)):
    f = entry["file"]
    if not f.startswith(root + "src/") or f in seen:
        continue
    if pattern and not re.search(pattern, f):
        continue
    seen.add(f)
    print(f)
PY
)
if [ ${#files[@]} -eq 0 ]; then
  echo "tidy.sh: no files match" >&2
  exit 2
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Only the project's own headers are checked, never system ones.
printf '%s\n' "${files[@]}" |
  xargs -P "$jobs" -n 1 "$tidy" -p "$build" --quiet --header-filter="^$root/src/" 2>/dev/null >"$out" || true
# The same header finding reached through several files is one finding.
findings=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' "$out" | sort -u || true)
if [ -z "$findings" ]; then
  echo "tidy.sh: ${#files[@]} files, no findings"
  exit 0
fi
cat "$out"
echo
echo "tidy.sh: ${#files[@]} files, $(wc -l <<<"$findings") findings:"
grep -oE '\[[a-z0-9.,-]+\]$' <<<"$findings" | sort | uniq -c | sort -rn
exit 1
