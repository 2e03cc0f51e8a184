#!/usr/bin/env bash
# Renders the live views to docs/screens/*.png: `axon deploy` of the iris example, `axon get
# --watch` under a bounded load, and `axon logs` with a failed request, each in a 100×30 tmux pane
# on a private tmux server, against a real local cluster in a throw-away AXON_HOME.
#   bash packages/cli/scripts/screenshots.sh   (after `npm run setup` and `npm run build`)
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROOT="$(pwd)"
NODE="$ROOT/node_modules/.bin/node"
RENDER="/usr/bin/python3 $ROOT/packages/cli/scripts/render-screen.py"
export AXON_HOME="$(mktemp -d /tmp/axon-screens-XXXXXX)"
export AXON_GATEWAY_PORT="${AXON_GATEWAY_PORT:-18995}"
export AXON_PYTHON="${AXON_PYTHON:-/usr/bin/python3}"
SOCKET=""
PANES=0
AXON="$NODE $ROOT/packages/cli/dist/main.js"
ENDPOINT="http://localhost:$AXON_GATEWAY_PORT/iris-classifier"
cleanup() {
  [ -z "$SOCKET" ] || tmux -L "$SOCKET" kill-server 2>/dev/null || true
  $AXON cluster down >/dev/null 2>&1 || true
  rm -rf "$AXON_HOME"
}
trap cleanup EXIT

# Runs `axon $1` in a fresh pane; the shell stays after it so the screen can be captured.
pane() {
  [ -z "$SOCKET" ] || tmux -L "$SOCKET" kill-server 2>/dev/null || true
  # A server of its own for each pane: reusing one just killed can race.
  PANES=$((PANES + 1))
  SOCKET="axon-screens-$$-$PANES"
  tmux -L "$SOCKET" -f /dev/null new-session -d -s s -x 100 -y 30 -c "$ROOT" \
    -e "AXON_HOME=$AXON_HOME" -e "AXON_GATEWAY_PORT=$AXON_GATEWAY_PORT" -e "AXON_PYTHON=$AXON_PYTHON" \
    -e "PATH=$ROOT/packages/cli/bin:$(dirname "$NODE"):/usr/bin:/bin" -e "PS1=$ " \
    "printf '\$ axon %s\n' \"$1\"; $AXON $1; echo; exec sleep 300"
  tmux -L "$SOCKET" set -g status off
}
capture() { tmux -L "$SOCKET" capture-pane -e -p -t s | $RENDER "docs/screens/$1.png" "$2"; echo "docs/screens/$1.png"; }
wait_for() {
  for _ in $(seq 1 300); do
    tmux -L "$SOCKET" capture-pane -p -t s | grep -q -- "$1" && return 0
    sleep 0.2
  done
  echo "timed out waiting for: $1" >&2
  tmux -L "$SOCKET" capture-pane -p -t s >&2
  return 1
}

$AXON cluster up >/dev/null
pane "deploy examples/iris-sklearn"
wait_for "axon logs iris-classifier -f"
capture deploy "axon deploy"

# A bounded load that rises and falls, while the watch runs.
(
  for rate in 5 10 20 40 60 80 60 40 30 20 40 70 90 70 50; do
    for _ in $(seq 1 "$rate"); do
      curl -s -X POST "$ENDPOINT" -H 'Content-Type: application/json' -d '[5.9,3.0,5.1,1.8]' >/dev/null &
    done
    wait
    sleep 1
  done
) &
LOAD=$!
pane "get iris-classifier --watch"
sleep 16
capture get-watch "axon get iris-classifier --watch"
kill "$LOAD" 2>/dev/null || true
wait "$LOAD" 2>/dev/null || true

curl -s -X POST "$ENDPOINT" -H 'Content-Type: application/json' -H 'X-Request-ID: req-demo-1' -d '"not a flower"' >/dev/null || true
sleep 0.5
pane "logs iris-classifier --grep 'starting|ready|loaded|request'"
wait_for "req-demo-1"
capture logs "axon logs iris-classifier --grep ..."
