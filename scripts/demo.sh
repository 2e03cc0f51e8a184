#!/usr/bin/env bash
# The main job, end to end: set up, deploy the iris example locally, and query it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Predictors run on the interpreter named here; the iris example needs scikit-learn, which this
# machine has for Debian's python3.
export AXON_PYTHON="${AXON_PYTHON:-/usr/bin/python3}"
# The gateway's port: AXON_GATEWAY_PORT when set (a cluster this starts listens there), else 8888.
port="${AXON_GATEWAY_PORT:-8888}"
npx axon deploy examples/iris-sklearn --wait
echo "+ curl -X POST localhost:$port/iris-classifier -H 'Content-Type: application/json' -d '[5.9,3.0,5.1,1.8]'" >&2
curl -sS --fail-with-body -X POST "localhost:$port/iris-classifier" -H 'Content-Type: application/json' -d '[5.9,3.0,5.1,1.8]'
echo
npx axon get
