#!/usr/bin/env bash
# Makes sure a Redis answers at ${REDIS_HOST:-127.0.0.1}:${REDIS_PORT:-6379}.
# When none does, starts a throwaway redis-server there (no persistence),
# installing it with apt-get first if the machine lacks it.
set -euo pipefail
host="${REDIS_HOST:-127.0.0.1}"
port="${REDIS_PORT:-6379}"

answers() {
  node -e '
    const s = require("net").connect(+process.argv[2], process.argv[1]);
    s.setTimeout(1000, () => process.exit(1));
    s.on("error", () => process.exit(1));
    s.on("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => process.exit(String(d).startsWith("+PONG") ? 0 : 1));
  ' "$host" "$port"
}

if answers; then exit 0; fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server not found; installing it with apt-get" >&2
  (apt-get update -qq && apt-get install -y -qq redis-server) >/dev/null
fi

echo "no Redis at $host:$port; starting redis-server" >&2
redis-server --daemonize yes --bind "$host" --port "$port" --save "" --appendonly no \
  --dir /tmp --logfile /tmp/nestjs-channels-redis.log
for _ in $(seq 1 50); do
  if answers; then exit 0; fi
  sleep 0.1
done
echo "redis-server did not answer on $host:$port" >&2
exit 1
