#!/usr/bin/env bash
# The whole test suite: type-check and compile with tsc (decorator metadata
# needs it), make sure a Redis answers on 127.0.0.1:6379 (start one if not)
# and Debian's Chromium is installed (apt-get it if not), then run every unit,
# e2e, browser, docs and packaging spec with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-redis.sh
bash scripts/ensure-chromium.sh

rm -rf dist
npx tsc -p tsconfig.json

mapfile -t files < <(find dist/lib dist/test dist/sample -name '*.spec.js' -o -name '*.e2e-spec.js' | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no test files found under dist/" >&2
  exit 1
fi
node --test --test-timeout=120000 "$@" "${files[@]}"
