#!/bin/sh
# `npm test`: install what is missing, build, and run every test with node's
# test runner (TAP output; its closing summary counts the tests).
# Extra arguments are test files or name patterns: npm test -- dist/libs/money/decimal.test.js
set -e
cd "$(dirname "$0")/.."
sh scripts/ensure-deps.sh
sh scripts/ensure-system-deps.sh
RATEMESH_TEST_PG_URL=$(sh scripts/ensure-postgres.sh)
export RATEMESH_TEST_PG_URL
npm run --silent build
export TZ=UTC
if [ $# -gt 0 ]; then
  files="$*"
else
  files=$(find dist -name '*.test.js' -not -path '*/node_modules/*' | sort)
fi
exec node --enable-source-maps --test --test-reporter=tap \
  --test-concurrency="${RATEMESH_TEST_CONCURRENCY:-2}" $files
