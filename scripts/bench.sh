#!/bin/sh
# `npm run bench`: every benchmark, each printing its figures.
set -e
cd "$(dirname "$0")/.."
sh scripts/ensure-deps.sh
npm run --silent build
for b in $(find dist -name "*.bench.js" | sort); do
  echo "== $b"
  node --enable-source-maps "$b"
done
