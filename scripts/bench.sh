#!/usr/bin/env bash
# npm run bench [-- --scenarios fanout,reqreply --servers raw-ws,channels --quick ...]
#
# Builds everything (tsc -p tsconfig.json → dist/) and runs the benchmark
# runner, dist/bench/run.js. Arguments go to the runner (`--help` lists
# them); so do BENCH_* environment variables (BENCH_SCENARIOS=fanout, ...).
# Only 127.0.0.1 is used. On any exit the runner's whole process group
# (servers, load workers) is killed.
#
#   BENCH_SKIP_BUILD=1           run the existing dist/ as is
#   BENCH_ALLOW_BUILD_ERRORS=1   run even if tsc reports errors (tsc still emits)
set -euo pipefail
cd "$(dirname "$0")/.."

for arg in "$@"; do
  if [[ "$arg" == "--help" || "$arg" == "-h" ]]; then
    if [[ -f dist/bench/run.js ]]; then exec node dist/bench/run.js --help; fi
    echo "build first (npm run bench builds), then: node dist/bench/run.js --help"
    exit 0
  fi
done

if [[ "${BENCH_SKIP_BUILD:-}" != "1" ]]; then
  echo "building (tsc -p tsconfig.json) ..."
  if ! npx --no-install tsc -p tsconfig.json; then
    if [[ "${BENCH_ALLOW_BUILD_ERRORS:-}" == "1" && -f dist/bench/run.js ]]; then
      echo "tsc reported errors; going on with what it emitted (BENCH_ALLOW_BUILD_ERRORS=1)" >&2
    else
      echo "build failed; fix the errors above (or set BENCH_ALLOW_BUILD_ERRORS=1 to run the baselines anyway)" >&2
      exit 1
    fi
  fi
fi

if [[ ! -f dist/bench/run.js ]]; then
  echo "dist/bench/run.js is missing: the build did not produce the bench" >&2
  exit 1
fi

# The memory scenario holds 10,000 connections in one server process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ "$(ulimit -n)" != "unlimited" && "$(ulimit -n)" -lt 12000 ]]; then
  echo "warning: open-file limit is $(ulimit -n); the memory scenario needs about 10,100 per process" >&2
fi

# The runner and its children (servers, load workers) run in one process group, killed on any exit.
exec bash scripts/run-in-group.sh node dist/bench/run.js "$@"
