#!/usr/bin/env bash
# Fails when a tracked C file differs from what the tree's .clang-format makes of it
# (`make format` fixes that). Skips (77) where clang-format or git is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v clang-format >/dev/null && command -v git >/dev/null || { echo "lint: SKIPPED: clang-format or git missing"; exit 77; }
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "lint: SKIPPED: not a git checkout"; exit 77; }
bad=$(git ls-files '*.c' '*.h' | xargs clang-format --dry-run 2>&1 | grep -o '^[^:]*:[0-9]*:[0-9]*: warning' | cut -d: -f1 | sort -u || true)
if [ -n "$bad" ]; then
  echo "lint: not formatted (run make format):"
  echo "$bad" | sed 's/^/  /'
  exit 1
fi
echo "lint: $(git ls-files '*.c' '*.h' | wc -l) C files formatted"
