#!/usr/bin/env bash
# Builds the replica image (packages/control-plane/docker/Dockerfile) with podman on a machine
# without Docker or a registry: the Dockerfile's two bases are replaced by local stand-ins made
# from Debian's packages (mmdebstrap) and the `node` npm package's binary
# (../shared/reference/containers.md). Used by test/replica-image.test.ts and bench/container.ts.
#
#   scripts/replica-image.sh [tag]     # default localhost/axon-replica:test; prints the tag last
#
# The stand-in Python base is Debian bookworm's python3 (3.11, as python:3.11-slim-bookworm) plus
# python3-venv/pip and python3-sklearn: the iris example's scikit-learn comes from the base (as it
# would from a project's requirements.txt on a real image; PyPI may be unreachable here), and
# /usr/local/bin/python3 points at it, where the official image has its interpreter.
#
# Cached, so that a second run takes seconds: the Debian root file system under
# .axon-cache/replica-image/ (gitignored) and the stand-in base images in podman's store, named by
# keys over what they are made of (the suite and packages; the Node binary, npm's version, the CA
# bundle); the image's own layers by podman's build cache.
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-localhost/axon-replica:test}"

for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null || {
    echo "replica-image: $tool is not installed (apt-get install -y podman runc mmdebstrap; scripts/setup.sh does)" >&2
    exit 2
  }
done

cache="$PWD/.axon-cache/replica-image"
mkdir -p "$cache"
# This VM refuses the default ulimits, and crun the hybrid cgroup layout (containers.md).
printf '[containers]\ndefault_ulimits = []\n' >"$cache/containers.conf"
export CONTAINERS_CONF="$cache/containers.conf"
podman=(podman --runtime runc --cgroup-manager cgroupfs)

node_bin="$(node_modules/.bin/node -p process.execPath)"
npm_dir="$(npm root -g)/npm"
npm_version="$(node -p "require('$npm_dir/package.json').version")"
# Machines whose HTTPS goes through an intercepting proxy (these do) trust its CA through this
# bundle; the build stage's `npm ci` needs it too. Only the stand-in Node base gets it.
host_ca="${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}"
[ -f "$host_ca" ] || host_ca=""

# The Python base: what mmdebstrap is asked for names it.
suite=bookworm
packages=passwd,ca-certificates,python3,python3-venv,python3-pip,python3-sklearn
python_key="$(echo "$suite $packages python3-at-usr-local-v1" | sha256sum | cut -c1-16)"
python_base="localhost/axon-python-base:$python_key"
node_key="$({
  echo "$python_key $npm_version v1"
  sha256sum "$node_bin"
  [ -z "$host_ca" ] || sha256sum "$host_ca"
} | sha256sum | cut -c1-16)"
node_base="localhost/axon-node-base:$node_key"

if ! "${podman[@]}" image exists "$python_base"; then
  rootfs="$cache/$suite-python-$python_key.tar"
  if [ ! -f "$rootfs" ]; then
    echo "replica-image: making the Debian $suite + python3 root file system (a few minutes)" >&2
    rm -rf "$cache"/*-python-*
    # passwd: the Dockerfile's useradd (debian:bookworm-slim has it; minbase does not).
    mmdebstrap --quiet --variant=minbase --format=tar --include="$packages" \
      --customize-hook='ln -s /usr/bin/python3 "$1/usr/local/bin/python3"' \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
      "$suite" "$rootfs.partial"
    mv "$rootfs.partial" "$rootfs"
  fi
  "${podman[@]}" import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$rootfs" "$python_base" >/dev/null
fi

if ! "${podman[@]}" image exists "$node_base"; then
  echo "replica-image: making the Node $("$node_bin" --version) base" >&2
  context="$cache/node-base"
  rm -rf "$context"
  mkdir -p "$context"
  # The official image ships a stripped binary; the npm package's keeps its debug symbols (+80 MB).
  strip -o "$context/node" "$node_bin" 2>/dev/null || cp "$node_bin" "$context/node"
  cp -r "$npm_dir" "$context/npm"
  {
    echo "FROM $python_base"
    echo "COPY node /usr/local/bin/node"
    echo "COPY npm /usr/local/lib/node_modules/npm"
    echo "RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\"
    echo " && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx"
    if [ -n "$host_ca" ]; then
      cp "$host_ca" "$context/host-ca.crt"
      echo "COPY host-ca.crt /etc/ssl/certs/build-host-ca.crt"
      echo "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/build-host-ca.crt"
    fi
  } >"$context/Containerfile"
  "${podman[@]}" build --quiet --pull=never --network host -t "$node_base" "$context" >/dev/null
  rm -rf "$context"
fi

# What the image was built from, for bench/container.ts (the image's size beyond its Python base).
printf 'NODE_BASE=%s\nPYTHON_BASE=%s\n' "$node_base" "$python_base" >"$cache/bases.env"
echo "replica-image: building $tag" >&2
# --format docker keeps the HEALTHCHECK (the OCI image format has no such field).
"${podman[@]}" build --pull=never --network host --format docker \
  --ignorefile packages/control-plane/docker/Dockerfile.dockerignore \
  --build-arg "NODE_BASE=$node_base" --build-arg "PYTHON_BASE=$python_base" \
  -f packages/control-plane/docker/Dockerfile -t "$tag" . >&2
echo "$tag"
