#!/usr/bin/env bash
# npm run soak [-- --faults] [-- --frames N --seed N --only fuzz|churn --no-readme]
#
# Builds everything (tsc -p tsconfig.json → dist/), makes sure the shared
# Redis answers (the churn on RedisPubSub uses it, under a unique prefix; the
# faults run starts its own throwaway redis-server), and runs
# dist/bench/soak/run.js. On any exit the runner's whole process group (app
# nodes, load workers, redis-server) is killed.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-redis.sh
echo "building (tsc -p tsconfig.json) ..."
npx --no-install tsc -p tsconfig.json

# 2,000 clients and their server ends, plus churn: raise the open-file limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec bash scripts/run-in-group.sh node dist/bench/soak/run.js "$@"
