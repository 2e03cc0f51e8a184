#!/usr/bin/env bash
# CLI start-up against a running local cluster: `axon get -o json` (DESIGN target: < 150 ms),
# paired with a bare `node -e 0` on the same Node 24, with farm-bench (median of 15 pairs).
#   npm run bench:cli   (after `npm run setup`)
set -euo pipefail
cd "$(dirname "$0")/.."
NODE="$(pwd)/node_modules/.bin/node"
export AXON_HOME="$(mktemp -d /tmp/axon-bench-cli-XXXXXX)"
export AXON_GATEWAY_PORT="${AXON_GATEWAY_PORT:-18997}"
export AXON_PYTHON="${AXON_PYTHON:-/usr/bin/python3}"
trap '"$NODE" packages/cli/dist/main.js cluster down >/dev/null 2>&1 || true; rm -rf "$AXON_HOME"' EXIT
"$NODE" packages/cli/dist/main.js deploy examples/iris-sklearn --wait >/dev/null
farm-bench -n 15 --vs "$NODE -e 0" -- "$NODE" packages/cli/dist/main.js get -o json
