#!/usr/bin/env bash
# Checks that every C++ file in the tree is formatted by .clang-format (clang-format 14).
#   tests/lint/check_format.sh          list unformatted files, exit 1 if any
#   tests/lint/check_format.sh --fix    format them in place
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
CLANG_FORMAT=${CLANG_FORMAT:-$(command -v clang-format-14 || command -v clang-format)}
mapfile -t files < <(git ls-files -co --exclude-standard '*.h' '*.cc' '*.hpp' '*.cpp' |
  grep -v '^tests/node/' | while read -r f; do [[ -f $f ]] && echo "$f"; done)

if [[ ${1:-} == --fix ]]; then
  "$CLANG_FORMAT" -i "${files[@]}"
  echo "format: formatted ${#files[@]} files"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  "$CLANG_FORMAT" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]} > 0)); then
  printf 'format: not formatted by .clang-format: %s\n' "${bad[@]}"
  echo "format: FAILED (${#bad[@]} files; run tests/lint/check_format.sh --fix)"
  exit 1
fi
echo "format: ok (${#files[@]} files)"
