#!/bin/sh
# `npm start`: install, build, and run the local all-in-one demo.
set -e
cd "$(dirname "$0")/.."
sh scripts/ensure-deps.sh
npm run --silent build
exec node --enable-source-maps dist/deploy/local/demo.js "$@"
