#!/bin/sh
# Breaking-change check of proto/ with buf (FILE rules: no field number
# reused, no field or RPC removed or retyped):
#  - on a branch other than main: against main;
#  - on main itself (CI clones main): against every earlier version of the
#    contracts in the last 20 commits that changed them, so that a breaking
#    change cannot slip in between two CI runs.
set -e
cd "$(dirname "$0")/.."
BUF=./node_modules/.bin/buf
branch=$(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo "")
if [ "$branch" != "main" ] && git rev-parse -q --verify main >/dev/null; then
  refs=$(git rev-parse main)
else
  refs=$(git log --format=%H -n 20 HEAD~1 -- proto 2>/dev/null || true)
fi
if [ -z "$refs" ]; then
  echo "buf breaking: no earlier contracts to compare with" >&2
  exit 0
fi
for ref in $refs; do
  if [ -n "$(git ls-tree -r --name-only "$ref" -- proto)" ]; then
    $BUF breaking --against ".git#ref=$ref"
  fi
done
echo "buf breaking: compatible with $(echo "$refs" | wc -w) earlier version(s)" >&2
