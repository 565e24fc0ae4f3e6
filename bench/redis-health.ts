/**
 * How long an idle RedisPubSub node takes to notice a half-open Redis
 * connection at its default settings (healthCheckIntervalMs 5000,
 * commandTimeoutMs 2000: the documented bound is their sum, 7 s).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/redis-health.js [runs]
 *
 * Each run starts a node on a throwaway redis-server, subscribes it to a
 * topic (as a real node is), waits a random part of the health-check
 * interval (an outage does not start in step with the check), then makes
 * the link silent, alternately by pausing Redis (SIGSTOP) and by a TCP proxy
 * that drops everything, and times the node's `onConnectionChange(false)`.
 * Prints each run and the min / median / max.
 */
import { RedisPubSub } from '../lib/redis/index.js';
import { LogCapture } from '../test/support/log-capture.js';
import { RedisServer, uniquePrefix } from '../test/support/redis-server.js';
import { startTcpProxy } from '../test/support/tcp-proxy.js';
import type { Subscriber } from '../lib/index.js';

const INTERVAL_MS = 5000;
const COMMAND_TIMEOUT_MS = 2000;
const GIVE_UP_MS = 60_000;

const idle: Subscriber = { deliver: () => undefined };

async function once(mode: 'pause' | 'blackhole'): Promise<number> {
  const redis = await RedisServer.start();
  const proxy = mode === 'blackhole' ? await startTcpProxy(redis.port) : null;
  const pubsub = new RedisPubSub({ host: '127.0.0.1', port: proxy?.port ?? redis.port, keyPrefix: uniquePrefix('health-bench') });
  try {
    await pubsub.init();
    await pubsub.subscribe('room:1', idle);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * INTERVAL_MS));
    const startedAt = performance.now();
    const noticed = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not noticed within ${GIVE_UP_MS}ms`)), GIVE_UP_MS);
      const off = pubsub.onConnectionChange((connected) => {
        if (connected) return;
        clearTimeout(timer);
        off();
        resolve(performance.now() - startedAt);
      });
    });
    if (proxy !== null) proxy.blackhole();
    else redis.pause();
    return await noticed;
  } finally {
    redis.resume();
    await pubsub.close();
    await proxy?.close();
    await redis.stop();
  }
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 6);
  const logs = LogCapture.install();
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const mode = i % 2 === 0 ? 'pause' : 'blackhole';
      const ms = await once(mode);
      times.push(ms);
      process.stdout.write(`run ${i + 1} (${mode}): noticed after ${ms.toFixed(0)} ms\n`);
    }
  } finally {
    logs.restore();
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  process.stdout.write(
    `half-open noticed in min ${times[0]!.toFixed(0)} / median ${median.toFixed(0)} / max ${times.at(-1)!.toFixed(0)} ms ` +
      `over ${runs} runs; bound healthCheckIntervalMs + commandTimeoutMs = ${INTERVAL_MS + COMMAND_TIMEOUT_MS} ms\n`,
  );
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
