#!/usr/bin/env bash
# `npm run link` (or `npm run setup -- --link`): puts `axon` on the PATH, run by this clone's
# Node 24 whatever Node the system has, so `axon` works from any folder. Writes a two-line
# launcher into $AXON_LINK_DIR (default ~/.local/bin); run it again after moving the clone.
# `npm run link -- --remove` takes the launcher away.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd -P)"
dir="${AXON_LINK_DIR:-$HOME/.local/bin}"
launcher="$dir/axon"
marker="# axon launcher written by scripts/link.sh"

if [ -e "$launcher" ] && ! grep -qF "$marker" "$launcher" 2>/dev/null; then
  echo "link: $launcher exists and was not written by Axon; remove it or set AXON_LINK_DIR to another folder" >&2
  exit 1
fi
if [ "${1:-}" = "--remove" ]; then
  rm -f "$launcher"
  echo "link: removed $launcher" >&2
  exit 0
fi

node="$(readlink -f "$repo/node_modules/.bin/node" 2>/dev/null || true)"
if [ -z "$node" ] || [ ! -x "$node" ] || [ ! -f "$repo/packages/cli/dist/main.js" ]; then
  echo "link: Node 24 or the build is missing; running the set-up first" >&2
  bash "$repo/scripts/setup.sh"
  node="$(readlink -f "$repo/node_modules/.bin/node")"
fi

quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
mkdir -p "$dir"
tmp="$(mktemp "$dir/.axon.XXXXXX")"
cat > "$tmp" <<LAUNCHER
#!/bin/sh
$marker from $repo
exec $(quote "$node") $(quote "$repo/packages/cli/bin/axon.js") "\$@"
LAUNCHER
chmod 755 "$tmp"
mv -f "$tmp" "$launcher"
echo "link: wrote $launcher (Node $("$node" --version) from $repo)" >&2

case ":$PATH:" in
  *":$dir:"*) echo "link: done; \`axon\` now works from any folder" >&2 ;;
  *)
    echo "link: $dir is not on your PATH; add it, e.g. for bash:" >&2
    echo "  echo 'export PATH=\"$dir:\$PATH\"' >> ~/.bashrc && export PATH=\"$dir:\$PATH\"" >&2
    ;;
esac
