#!/usr/bin/env bash
# CLI start-up against a running local cluster: `axon get -o json` (DESIGN target: < 150 ms),
# paired with a bare `node -e 0` on the same Node 24, with farm-bench (median of 15 pairs); fails
# when the median wall-time ratio is above 3x (issue 17).
#   npm run bench:cli   (after `npm run setup`)
set -euo pipefail
cd "$(dirname "$0")/.."
NODE="$(pwd)/node_modules/.bin/node"
export AXON_HOME="$(mktemp -d /tmp/axon-bench-cli-XXXXXX)"
export AXON_GATEWAY_PORT="${AXON_GATEWAY_PORT:-18997}"
export AXON_PYTHON="${AXON_PYTHON:-/usr/bin/python3}"
trap '"$NODE" packages/cli/dist/main.js cluster down >/dev/null 2>&1 || true; rm -rf "$AXON_HOME"' EXIT
"$NODE" packages/cli/dist/main.js deploy examples/iris-sklearn --wait >/dev/null
OUT="$AXON_HOME/bench.txt"
farm-bench -n 15 --vs "$NODE -e 0" -- "$NODE" packages/cli/dist/main.js get -o json | tee "$OUT"
# Issue 17's bound: the median wall-time ratio stays within 3x of a bare node in the same run.
RATIO="$(awk '$1 == "A/B" && $2 == "wall" { print $4 }' "$OUT")"
if awk -v r="$RATIO" 'BEGIN { exit !(r > 3) }'; then
  echo "FAIL: axon get -o json takes ${RATIO}x a bare node -e 0 (bound: 3x)" >&2
  exit 1
fi
echo "ok: axon get -o json takes ${RATIO}x a bare node -e 0 (bound: 3x)"
