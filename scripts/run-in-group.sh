#!/usr/bin/env bash
# run-in-group.sh COMMAND [ARGS...]: runs COMMAND in a process group of its
# own (job control), which its children (servers, load workers, app nodes,
# redis-server) inherit, and on any exit kills that whole group: TERM, then
# KILL after 3 s. Used by bench.sh and soak.sh.
set -euo pipefail
set -m
runner=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n "$runner" ]] && kill -0 -- "-$runner" 2>/dev/null; then
    kill -TERM -- "-$runner" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 -- "-$runner" 2>/dev/null || break
      sleep 0.3
    done
    kill -KILL -- "-$runner" 2>/dev/null || true
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$@" &
runner=$!
wait "$runner"
