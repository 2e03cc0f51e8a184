#!/usr/bin/env bash
# One-time (idempotent) set-up on a fresh Debian machine: the Python packages the examples and
# benchmarks need (from Debian's apt, since PyPI may be unreachable), Node 24 and the other npm
# dependencies (Node 24 is the `node` devDependency), the TypeScript build, and the iris model.
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLE_PYTHON="${AXON_PYTHON:-/usr/bin/python3}"

missing=()
"$EXAMPLE_PYTHON" -c 'import sklearn' 2>/dev/null || missing+=(python3-sklearn)
# What `npm run bench:serving` compares against (Debian's packages, for Debian's python3).
/usr/bin/python3 -c 'import flask' 2>/dev/null || missing+=(python3-flask)
/usr/bin/python3 -c 'import fastapi' 2>/dev/null || missing+=(python3-fastapi)
/usr/bin/python3 -c 'import uvicorn' 2>/dev/null || missing+=(python3-uvicorn)
[ -x /usr/bin/gunicorn ] || missing+=(gunicorn)
[ -x /usr/bin/wrk ] || missing+=(wrk)
# The terminal UI's tests drive the real CLI in a tmux pane.
command -v tmux >/dev/null || missing+=(tmux)
# `axon completion zsh|fish` is tested in the real shells.
command -v zsh >/dev/null || missing+=(zsh)
command -v fish >/dev/null || missing+=(fish)
# Local predictors run sandboxed in bubblewrap (docs/security.md); without it they are trusted code.
[ -x /usr/bin/bwrap ] || missing+=(bubblewrap)
# A root daemon opens each API's project to that API's own system user with an ACL.
[ -x /usr/bin/setfacl ] || missing+=(acl)
# The replica image is built and run with podman from mmdebstrap-made bases (no Docker engine or
# Docker Hub here: scripts/replica-image.sh, test/replica-image.test.ts, bench:container).
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || [ -x /usr/sbin/runc ] || missing+=(runc)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} with apt-get (for $EXAMPLE_PYTHON)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Install only when the lockfile changed since the last install. `npm install` (which follows the
# lockfile) rather than `npm ci`: npm ci rejects this lockfile because oxlint lists platform
# packages for other systems that npm never records.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (Node 24 comes from the registry)" >&2
  # A stalled registry request fails after a minute and is retried, instead of waiting npm's
  # default five minutes (seen once: the install hung with no progress).
  npm install --no-audit --no-fund --loglevel=error --fetch-timeout=60000 --fetch-retries=4
fi

echo "setup: building" >&2
npm run --silent build

if [ ! -f examples/iris-sklearn/model.pkl ]; then
  echo "setup: training the iris example's model with $EXAMPLE_PYTHON" >&2
  (cd examples/iris-sklearn && "$EXAMPLE_PYTHON" train.py)
fi
echo "setup: done" >&2
# `npm run setup -- --link`: also put `axon` on the PATH (scripts/link.sh).
if [ "${1:-}" = "--link" ]; then bash scripts/link.sh; fi
