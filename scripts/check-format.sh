#!/usr/bin/env bash
# Checks that every C++ file the project tracks is formatted as .clang-format
# says (Debian 12's clang-format 14); CI runs it as the ctest test "format".
# With --fix, formats them instead.
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
mapfile -t files < <(git ls-files -- '*.cc' '*.h' 2>/dev/null || find src tests bench -name '*.cc' -o -name '*.h')
if [[ ${1:-} == --fix ]]; then
  "$CLANG_FORMAT" -i "${files[@]}"
  exit 0
fi
if ! "$CLANG_FORMAT" --dry-run --Werror "${files[@]}"; then
  echo "check-format: the files above differ from .clang-format; run scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted as .clang-format says"
