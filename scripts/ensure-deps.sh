#!/bin/sh
# Installs the npm packages when node_modules is missing or older than the
# lockfile, so that `npm start` and `npm test` work on a fresh clone.
set -e
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm packages (npm ci)..." >&2
  npm ci --no-audit --no-fund >&2
fi
