#!/usr/bin/env bash
# Regenerates libs/gen: the TypeScript derived from proto/ (ts-proto), the catalog
# of every service's config options, and the descriptor sets served by gRPC reflection.
# Generated files are never edited by hand; CI fails if running this changes anything.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF=./node_modules/.bin/buf
HEALTH_PROTO=node_modules/grpc-health-check/proto

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The catalog of every service's config options (see libs/config/schema.ts),
# made before `buf generate` empties libs/gen: the services' config modules it
# imports import the catalog in place.
node --import tsx scripts/gen-config-catalog.ts > "$tmp/config-catalog.ts"

$BUF lint
$BUF generate
mv "$tmp/config-catalog.ts" libs/gen/config-catalog.ts
$BUF build --as-file-descriptor-set -o "$tmp/ratemesh.binpb"
$BUF build "$HEALTH_PROTO" --as-file-descriptor-set -o "$tmp/health.binpb"
node scripts/embed-descriptors.mjs "$tmp/ratemesh.binpb" "$tmp/health.binpb" > libs/gen/descriptors.ts
