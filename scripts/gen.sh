#!/usr/bin/env bash
# Regenerates everything derived from proto/: the TypeScript in libs/gen (ts-proto)
# and the descriptor sets served by gRPC reflection. Generated files are never
# edited by hand; CI fails if running this changes anything.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF=./node_modules/.bin/buf
HEALTH_PROTO=node_modules/grpc-health-check/proto

$BUF lint
$BUF generate

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$BUF build --as-file-descriptor-set -o "$tmp/ratemesh.binpb"
$BUF build "$HEALTH_PROTO" --as-file-descriptor-set -o "$tmp/health.binpb"
node scripts/embed-descriptors.mjs "$tmp/ratemesh.binpb" "$tmp/health.binpb" > libs/gen/descriptors.ts
