/**
 * Measures what the Presence design was chosen against (docs/presence.md),
 * on a throwaway redis-server (it changes server settings the shared Redis
 * must keep, and its CPU figures must be ours alone):
 *
 *   list     one topic's list: our in-memory view against a Redis hash read
 *            with HGETALL and parsed, at 100 and 10,000 entries (every join
 *            pushes a list, so this is per join)
 *   refresh  the steady-state Redis work of keeping 10,000 entries alive:
 *            our heartbeats (one small PUBLISH per node per heartbeatPeriod)
 *            against per-entry keys with a TTL refreshed every TTL/3
 *            (PEXPIRE of every entry), as Redis CPU per second
 *   expiry   how late Redis reports expired keys (keyspace notifications,
 *            `Ex`) when a dead node's 1,000 entries expire together, beside
 *            0 and 10,000 live entries that do not: Redis's active expiry
 *            samples keys with a TTL and tolerates some stale ones
 *   stream   Redis memory held by a stream of 10,000 presence changes
 *            (the log a streams design keeps), against none for pub/sub
 *
 *   node dist/bench/presence-design.js [--entries 10000] [--only list,refresh,expiry,stream]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { LocalPubSub } from '../lib/pubsub/local.pubsub.js';
import { resolvePresenceOptions } from '../lib/presence/presence-options.js';
import { PresenceTracker } from '../lib/presence/presence.tracker.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1]! : fallback;
}

const ENTRIES = Number(arg('entries', '10000'));
const ONLY = arg('only', 'list,refresh,expiry,stream').split(',');
const META = { online_at: 1700000000000, device: 'web', status: 'online' };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function startRedis(): Promise<{ child: ChildProcess; client: Redis; port: number }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', `${port}`, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  process.once('exit', () => child.kill('SIGKILL'));
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  // Refused until redis-server listens: the loop below retries.
  client.on('error', () => {});
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      return { child, client, port };
    } catch (error) {
      if (Date.now() > deadline) throw error;
      client.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function redisCpuMs(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)![1]);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)![1]);
  return (user + sys) * 1000;
}

function time(fn: () => void, iterations: number): number {
  for (let i = 0; i < Math.min(iterations, 20); i++) fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return (performance.now() - start) / iterations;
}

async function timeAsync(fn: () => Promise<unknown>, iterations: number): Promise<number> {
  for (let i = 0; i < Math.min(iterations, 5); i++) await fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await fn();
  return (performance.now() - start) / iterations;
}

async function listCost(client: Redis): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const size of [100, ENTRIES]) {
    const tracker = new PresenceTracker();
    const pubsub = new LocalPubSub({ node: 'design' });
    await tracker.start(pubsub, resolvePresenceOptions({}));
    const topic = `room:${size}`;
    for (let i = 0; i < size; i++) tracker.track(topic, topic, `user-${i}`, { ...META });
    const ours = time(() => tracker.list(topic), size > 1000 ? 50 : 2000);
    const key = `design:list:${size}`;
    const pipeline = client.pipeline();
    for (let i = 0; i < size; i++) pipeline.hset(key, `user-${i}|ref${i}`, JSON.stringify({ ...META, phx_ref: `ref${i}` }));
    await pipeline.exec();
    const redis = await timeAsync(async () => {
      const hash = await client.hgetall(key);
      const out: Record<string, { metas: unknown[] }> = Object.create(null);
      for (const field of Object.keys(hash)) {
        const user = field.slice(0, field.indexOf('|'));
        (out[user] ??= { metas: [] }).metas.push(JSON.parse(hash[field]!));
      }
      return out;
    }, size > 1000 ? 20 : 500);
    await tracker.stop();
    rows.push({ entries: size, oursMs: Number(ours.toFixed(4)), redisHgetallMs: Number(redis.toFixed(4)), ratio: Number((redis / ours).toFixed(1)) });
  }
  return rows;
}

async function refreshCost(client: Redis): Promise<Record<string, unknown>> {
  const ttlMs = 30_000;
  const pipeline = client.pipeline();
  for (let i = 0; i < ENTRIES; i++) pipeline.set(`design:ttl:${i}`, JSON.stringify({ ...META, phx_ref: `ref${i}` }), 'PX', ttlMs);
  await pipeline.exec();
  // One refresh round: PEXPIRE every entry (done every TTL/3 = 10 s to survive one missed round).
  const rounds = 5;
  const before = await redisCpuMs(client);
  for (let round = 0; round < rounds; round++) {
    const refresh = client.pipeline();
    for (let i = 0; i < ENTRIES; i++) refresh.pexpire(`design:ttl:${i}`, ttlMs);
    await refresh.exec();
  }
  const refreshCpuMsPerRound = ((await redisCpuMs(client)) - before) / rounds;
  // Ours: a heartbeat is one PUBLISH of ~60 bytes per node per heartbeatPeriod.
  const beats = 2000;
  const beforeBeats = await redisCpuMs(client);
  const publish = client.pipeline();
  for (let i = 0; i < beats; i++) publish.publish('channels:t:phx_presence', JSON.stringify({ n: 'host:12345', i: '0123456789abcdef', s: i }));
  await publish.exec();
  const heartbeatCpuMs = ((await redisCpuMs(client)) - beforeBeats) / beats;
  const nodes = 3;
  return {
    entries: ENTRIES,
    ttlRefreshRedisCpuMsPerSecond: Number((refreshCpuMsPerRound / (ttlMs / 3 / 1000)).toFixed(3)),
    ttlRefreshCommandsPerSecond: Math.round(ENTRIES / (ttlMs / 3 / 1000)),
    heartbeatRedisCpuMsPerSecond: Number(((heartbeatCpuMs * nodes) / 5).toFixed(5)),
    heartbeatCommandsPerSecond: nodes / 5,
  };
}

async function expiryLateness(client: Redis, port: number): Promise<Record<string, unknown>[]> {
  await client.config('SET', 'notify-keyspace-events', 'Ex');
  const rows: Record<string, unknown>[] = [];
  const dead = 1000;
  for (const live of [0, ENTRIES]) {
    // This redis-server is ours alone (startRedis): emptying it between runs touches nobody else.
    await client.flushall();
    const setup = client.pipeline();
    // The live nodes' entries, kept alive by refreshes (a TTL well beyond this run).
    for (let i = 0; i < live; i++) setup.set(`design:live:${i}`, '1', 'PX', 120_000);
    await setup.exec();
    const subscriber = new Redis({ port, host: '127.0.0.1' });
    const expiredAt = new Map<string, number>();
    await subscriber.subscribe('__keyevent@0__:expired');
    subscriber.on('message', (_channel: string, key: string) => {
      if (key.startsWith('design:dead:')) expiredAt.set(key, performance.now());
    });
    const ttlMs = 1000;
    const pipeline = client.pipeline();
    for (let i = 0; i < dead; i++) pipeline.set(`design:dead:${i}`, '1', 'PX', ttlMs);
    const setAt = performance.now();
    await pipeline.exec();
    const deadline = setAt + ttlMs;
    const give = performance.now() + 90_000;
    // Nobody reads these keys (a dead node's entries): only Redis's active expiry finds them.
    while (expiredAt.size < dead && performance.now() < give) await new Promise((resolve) => setTimeout(resolve, 20));
    const late = [...expiredAt.values()].map((at) => at - deadline).sort((a, b) => a - b);
    rows.push({
      liveKeys: live,
      deadKeys: dead,
      reported: late.length,
      p50Ms: Math.round(late[Math.floor(late.length / 2)] ?? -1),
      p99Ms: Math.round(late[Math.floor(late.length * 0.99)] ?? -1),
      lastMs: Math.round(late.at(-1) ?? -1),
    });
    subscriber.disconnect();
  }
  return rows;
}

async function streamMemory(client: Redis): Promise<Record<string, unknown>> {
  const key = 'design:stream';
  const pipeline = client.pipeline();
  for (let i = 0; i < ENTRIES; i++) {
    pipeline.xadd(key, '*', 'op', 'join', 'topic', 'room:lobby', 'key', `user-${i}`, 'meta', JSON.stringify({ ...META, phx_ref: `ref${i}` }));
  }
  await pipeline.exec();
  const bytes = Number(await client.memory('USAGE', key));
  return { changes: ENTRIES, streamBytes: bytes, bytesPerChange: Math.round(bytes / ENTRIES), pubsubBytes: 0 };
}

async function main(): Promise<void> {
  const { child, client, port } = await startRedis();
  try {
    const results: Record<string, unknown> = {};
    if (ONLY.includes('list')) results.list = await listCost(client);
    if (ONLY.includes('refresh')) results.refresh = await refreshCost(client);
    if (ONLY.includes('expiry')) results.expiry = await expiryLateness(client, port);
    if (ONLY.includes('stream')) results.stream = await streamMemory(client);
    console.log(JSON.stringify(results, null, 2));
  } finally {
    client.disconnect();
    child.kill('SIGKILL');
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
