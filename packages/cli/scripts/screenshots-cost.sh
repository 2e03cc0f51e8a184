#!/usr/bin/env bash
# Renders the ECS cost screenshots to docs/screens/ with the method of screenshots.sh (a tmux pane
# on a private tmux server, `capture-pane -e`, drawn by render-screen.py), against an AWS
# environment on moto on 127.0.0.1 (a real daemon and the built CLI, reaching moto only through
# AWS_ENDPOINT_URL and the standard AWS variables):
#   get-cost-ecs-no-tasks.png  `axon get <api> --env demo` on moto as it is: moto runs no container
#                              and its services report 0 running tasks, so Fargate is $0
#   get-cost-ecs.png           `axon get --env demo` and `axon get <api> --env demo` on a moto whose
#                              services report 2 running tasks (MOTO_ECS_SERVICE_RUNNING=2)
#   deploy-plan-ecs.png        `axon deploy --plan --env demo` on that moto: a bigger task size, the
#                              cost per hour before → after
# Nothing is staged beyond that switch: no request reaches moto's load balancer, so `get` says it
# has no price per prediction yet.
#   bash packages/cli/scripts/screenshots-cost.sh   (after `npm run setup` and `npm run build`)
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROOT="$(pwd)"
NODE="$ROOT/node_modules/.bin/node"
RENDER="/usr/bin/python3 $ROOT/packages/cli/scripts/render-screen.py"
AXON="$NODE $ROOT/packages/cli/dist/main.js"
WORK="$(mktemp -d /tmp/axon-screens-cost-XXXXXX)"
export AXON_GATEWAY_PORT="${AXON_GATEWAY_PORT:-18996}"
export AXON_PYTHON="${AXON_PYTHON:-/usr/bin/python3}"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_MAX_ATTEMPTS=1
API=iris-classifier
SOCKET=""
PANES=0
MOTO_PID=""

stop_environment() {
  [ -z "$SOCKET" ] || tmux -L "$SOCKET" kill-server 2>/dev/null || true
  SOCKET=""
  if [ -n "${AXON_HOME:-}" ]; then
    $AXON cluster down --env demo --yes >/dev/null 2>&1 || true
    $AXON cluster down >/dev/null 2>&1 || true
  fi
  if [ -n "$MOTO_PID" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    MOTO_PID=""
  fi
}
cleanup() {
  stop_environment
  rm -rf "$WORK"
}
trap cleanup EXIT

# A moto server on 127.0.0.1 with $1 as MOTO_ECS_SERVICE_RUNNING (0: moto as it is), a fresh
# AXON_HOME, and an AWS environment `demo` made by `cluster up --provider aws` on it.
start_environment() {
  local running="$1" log="$WORK/moto-$1.log"
  MOTO_ECS_SERVICE_RUNNING="$running" MOTO_IAM_LOAD_MANAGED_POLICIES=false \
    python3 -m moto.server -H 127.0.0.1 -p 0 >"$log" 2>&1 &
  MOTO_PID=$!
  local url=""
  for _ in $(seq 1 100); do
    url="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n 1 || true)"
    [ -z "$url" ] || break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "moto did not start:" >&2; cat "$log" >&2; return 1; }
  export AWS_ENDPOINT_URL="$url"
  export AXON_HOME="$WORK/home-$running"
  mkdir -p "$AXON_HOME"
  printf 'cluster_name: demo\nregion: us-east-1\nimage: 123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0\n' \
    >"$WORK/cluster.yaml"
  $AXON cluster up --provider aws --config "$WORK/cluster.yaml" --yes >/dev/null
}

# The iris example with `compute` and `autoscaling` set ($1 cpu, $2 memory, $3 max_replicas).
write_project() {
  local project="$WORK/iris-classifier"
  if [ ! -d "$project" ]; then
    mkdir -p "$project"
    cp examples/iris-sklearn/{predictor.py,model.pkl,sample.json} "$project/"
  fi
  printf -- '- name: %s\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n  compute:\n    cpu: %s\n    mem: %s\n  autoscaling:\n    init_replicas: 2\n    min_replicas: 2\n    max_replicas: %s\n' \
    "$API" "$1" "$2" "$3" >"$project/axon.yaml"
  echo "$project"
}

# `axon deploy $1 --env demo` and any flags after it, quietly unless it fails.
deploy() {
  local project="$1"
  shift
  $AXON deploy "$project" --env demo "$@" >"$WORK/deploy.log" 2>&1 || {
    cat "$WORK/deploy.log" >&2
    return 1
  }
}

# Runs the shell line $3 in a fresh $1×$2 pane (each `axon …` shown after a prompt); the shell
# stays after it so the screen can be captured.
pane() {
  [ -z "$SOCKET" ] || tmux -L "$SOCKET" kill-server 2>/dev/null || true
  PANES=$((PANES + 1))
  SOCKET="axon-screens-cost-$$-$PANES"
  tmux -L "$SOCKET" -f /dev/null new-session -d -s s -x "$1" -y "$2" -c "$WORK" \
    -e "AXON_HOME=$AXON_HOME" -e "AXON_GATEWAY_PORT=$AXON_GATEWAY_PORT" \
    -e "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL" -e "AWS_ACCESS_KEY_ID=testing" \
    -e "AWS_SECRET_ACCESS_KEY=testing" -e "AWS_REGION=us-east-1" -e "AWS_MAX_ATTEMPTS=1" \
    -e "PATH=$ROOT/packages/cli/bin:$(dirname "$NODE"):/usr/bin:/bin" \
    "$3; exec sleep 300"
  tmux -L "$SOCKET" set -g status off
}
# `axon $1` after a prompt line, as typed (run as the built CLI: a login shell resets PATH).
shown() { printf "printf '\$ axon %s\\\\n'; %s %s" "$1" "$AXON" "$1"; }
# Captures the pane's first $2 lines to docs/screens/$1.png, titled $3.
capture() {
  tmux -L "$SOCKET" capture-pane -e -p -t s -S 0 -E "$(($2 - 1))" | $RENDER "docs/screens/$1.png" "$3"
  echo "docs/screens/$1.png"
}
wait_for() {
  for _ in $(seq 1 300); do
    tmux -L "$SOCKET" capture-pane -p -t s -S 0 | grep -q -- "$1" && return 0
    sleep 0.2
  done
  echo "timed out waiting for: $1" >&2
  tmux -L "$SOCKET" capture-pane -p -t s >&2
  return 1
}

# 1. moto as it is: the service reports no running task.
start_environment 0
deploy "$(write_project 1 2G 10)" --no-wait
pane 150 80 "$(shown "get $API --env demo")"
wait_for "^notes:"
capture get-cost-ecs-no-tasks 22 "axon get $API --env demo (moto: 0 running tasks)"
stop_environment

# 2. moto whose services report 2 running tasks.
start_environment 2
deploy "$(write_project 1 2G 10)"
pane 150 80 "$(shown "get --env demo"); $(shown "get $API --env demo")"
wait_for "^notes:"
capture get-cost-ecs 23 "axon get --env demo (moto: 2 running tasks)"

project="$(write_project 2 4G 10)"
pane 150 30 "cd $project; $(shown "deploy --plan --env demo"); printf '\$ echo \$?\\n%s\\n' \$?"
wait_for "nothing was deployed"
wait_for '^\$ echo'
capture deploy-plan-ecs 16 "axon deploy --plan --env demo (moto: 2 running tasks)"
