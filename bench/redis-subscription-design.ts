/**
 * Measures the two subscription designs of RedisPubSub (issue 5) and its
 * envelope format, on the real class against a real Redis:
 *
 *   per-topic  one Redis channel per topic, SUBSCRIBEd while the topic has local subscribers
 *   per-group  one Redis channel for the node group; every node gets every broadcast
 *
 * Three nodes: node 0 (this process) publishes, nodes 1 and 2 are forked
 * child processes, so each receiving node's CPU time is its own. Scenarios:
 *   sparse  many topics, each with a subscriber on ONE node (user/device topics)
 *   dense   few topics, each with a subscriber on EVERY node (a lobby)
 *   join    latency of the first subscribe of a fresh topic (what a join waits for)
 * Reported per scenario and mode: wall time and deliveries/s, CPU ms of the
 * two receiving nodes (sum), CPU ms of redis-server (INFO delta: other
 * clients of that Redis add noise), messages and bytes the receiving nodes'
 * subscriber connections took in, and how many of those were dropped.
 *
 * Envelope: size, encode and decode time, and publisher CPU per PUBLISH of
 * our format against a fixed binary header and one JSON document with base64.
 *
 * Run (after `npx tsc -p tsconfig.json`; a Redis must answer):
 *   node dist/bench/redis-subscription-design.js [--redis-url redis://127.0.0.1:6379]
 *     [--messages 20000] [--sparse-topics 600] [--dense-topics 6] [--joins 1000] [--rounds 3]
 *     [--only fanout|join|codec]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { FastlaneCache } from '../lib/pubsub/fastlane.js';
import type { Subscriber } from '../lib/pubsub/subscriber.interface.js';
import { RedisPubSub, type RedisSubscriptionMode } from '../lib/redis/index.js';
import { decodeEnvelope, encodeEnvelope, newOrigin } from '../lib/redis/redis-envelope.js';
import type { Broadcast } from '../lib/serializers/message.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1]! : fallback;
}

const REDIS_URL = arg('redis-url', 'redis://127.0.0.1:6379');
const MESSAGES = Number(arg('messages', '20000'));
const SPARSE_TOPICS = Number(arg('sparse-topics', '600'));
const DENSE_TOPICS = Number(arg('dense-topics', '6'));
const JOINS = Number(arg('joins', '1000'));
const ROUNDS = Number(arg('rounds', '3'));
const ONLY = arg('only', 'all');
const NODES = 3;
const WINDOW = 256;
const DEADLINE_MS = 60_000;
const SMALL = { body: 'a message of about a hundred bytes, as a chat line would be', user: 'user:42', at: 1700000000000 };
const LARGE = { body: 'x'.repeat(4000), user: 'user:42', at: 1700000000000 };

class Counter implements Subscriber {
  count = 0;
  deliver(_broadcast: Broadcast, _fastlane: FastlaneCache): void {
    this.count++;
  }
}

/** Topics node `index` subscribes to. */
function topicsOf(index: number, topics: number, everywhere: boolean): string[] {
  const out: string[] = [];
  for (let t = 0; t < topics; t++) if (everywhere || t % NODES === index) out.push(`topic:${t}`);
  return out;
}

/** Counts what a node's subscriber connection takes in (a bench-only look inside). */
function tapReceived(node: RedisPubSub): { messages: number; bytes: number } {
  const tally = { messages: 0, bytes: 0 };
  const connection = (node as unknown as { subscriber: Redis }).subscriber;
  connection.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
    tally.messages++;
    tally.bytes += message.length;
  });
  return tally;
}

// ── Receiving node (child process) ─────────────────────────────────────────

type ToChild = { cmd: 'start' } | { cmd: 'report' } | { cmd: 'stop' };
type FromChild = { kind: 'ready' } | { kind: 'report'; deliveries: number; cpuMs: number; messages: number; bytes: number };

async function child(): Promise<void> {
  Logger.overrideLogger(['error']);
  const index = Number(arg('index', '1'));
  const node = new RedisPubSub({
    url: REDIS_URL,
    keyPrefix: arg('prefix', ''),
    node: `n${index}`,
    subscriptionMode: arg('mode', 'per-topic') as RedisSubscriptionMode,
  });
  await node.init();
  const counter = new Counter();
  for (const topic of topicsOf(index, Number(arg('topics', '1')), arg('everywhere', '0') === '1')) await node.subscribe(topic, counter);
  const tally = tapReceived(node);
  let cpu = process.cpuUsage();
  const send = (message: FromChild): void => {
    process.send!(message);
  };
  process.on('message', (message: ToChild) => {
    if (message.cmd === 'start') {
      counter.count = 0;
      tally.messages = 0;
      tally.bytes = 0;
      cpu = process.cpuUsage();
    } else if (message.cmd === 'report') {
      const used = process.cpuUsage(cpu);
      send({ kind: 'report', deliveries: counter.count, cpuMs: (used.user + used.system) / 1000, ...tally });
    } else {
      void node.close().then(() => process.exit(0));
    }
  });
  send({ kind: 'ready' });
}

class ChildNode {
  private readonly replies: Array<(message: FromChild) => void> = [];

  private constructor(readonly process: ChildProcess) {
    process.on('message', (message: FromChild) => this.replies.shift()?.(message));
  }

  static async start(index: number, mode: RedisSubscriptionMode, prefix: string, topics: number, everywhere: boolean): Promise<ChildNode> {
    const args = ['--child', '--index', `${index}`, '--mode', mode, '--prefix', prefix, '--topics', `${topics}`];
    args.push('--everywhere', everywhere ? '1' : '0', '--redis-url', REDIS_URL);
    const node = new ChildNode(fork(process.argv[1]!, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    await node.next(`node ${index} ready`);
    return node;
  }

  next(what: string): Promise<FromChild> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench: no answer within 20s for ${what}`)), 20_000);
      this.replies.push((message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  }

  async report(): Promise<Extract<FromChild, { kind: 'report' }>> {
    const reply = this.next('a report');
    this.process.send({ cmd: 'report' } satisfies ToChild);
    return (await reply) as Extract<FromChild, { kind: 'report' }>;
  }

  start(): void {
    this.process.send({ cmd: 'start' } satisfies ToChild);
  }

  stop(): Promise<void> {
    if (this.process.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.process.kill('SIGKILL');
        resolve();
      }, 5000);
      this.process.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.process.send({ cmd: 'stop' } satisfies ToChild);
    });
  }
}

const children = new Set<ChildNode>();

// ── Publishing node (this process) ─────────────────────────────────────────

interface Result {
  wallMs: number;
  perSecond: number;
  receiverCpuMs: number;
  redisCpuMs: number;
  messages: number;
  bytes: number;
  dropped: number;
}

async function redisCpuMs(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  return (user + sys) * 1000;
}

async function fanout(
  mode: RedisSubscriptionMode,
  admin: Redis,
  topics: number,
  everywhere: boolean,
  payload: object,
  prefix: string,
): Promise<Result> {
  const publisher = new RedisPubSub({ url: REDIS_URL, keyPrefix: prefix, node: 'n0', subscriptionMode: mode });
  const receivers: ChildNode[] = [];
  try {
    await publisher.init();
    const local = new Counter();
    for (const topic of topicsOf(0, topics, everywhere)) await publisher.subscribe(topic, local);
    for (let i = 1; i < NODES; i++) {
      const node = await ChildNode.start(i, mode, prefix, topics, everywhere);
      children.add(node);
      receivers.push(node);
    }
    const remoteExpected = everywhere ? MESSAGES * (NODES - 1) : topicsOfCount(topics, MESSAGES);
    for (const node of receivers) node.start();
    await Promise.all(receivers.map((node) => node.report())); // the start reached every child
    const redisBefore = await redisCpuMs(admin);
    const started = performance.now();
    let inFlight: Promise<void>[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      inFlight.push(publisher.broadcast(`topic:${i % topics}`, 'msg', { ...payload, i }));
      if (inFlight.length === WINDOW) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    }
    await Promise.all(inFlight);
    const deadline = Date.now() + DEADLINE_MS;
    let reports = await Promise.all(receivers.map((node) => node.report()));
    while (reports.reduce((sum, r) => sum + r.deliveries, 0) < remoteExpected) {
      if (Date.now() > deadline) throw new Error(`${mode}: deliveries short of ${remoteExpected} after ${DEADLINE_MS}ms`);
      await new Promise((resolve) => setTimeout(resolve, 2));
      reports = await Promise.all(receivers.map((node) => node.report()));
    }
    const wallMs = performance.now() - started;
    const redisCpu = (await redisCpuMs(admin)) - redisBefore;
    const expected = remoteExpected + local.count;
    const messages = reports.reduce((sum, r) => sum + r.messages, 0);
    return {
      wallMs,
      perSecond: (expected / wallMs) * 1000,
      receiverCpuMs: reports.reduce((sum, r) => sum + r.cpuMs, 0),
      redisCpuMs: redisCpu,
      messages,
      bytes: reports.reduce((sum, r) => sum + r.bytes, 0),
      dropped: messages - remoteExpected,
    };
  } finally {
    await Promise.all(
      receivers.map(async (node) => {
        await node.stop();
        children.delete(node);
      }),
    );
    await publisher.close();
  }
}

/** Sparse: how many of the round-robin broadcasts land on nodes 1..N-1. */
function topicsOfCount(topics: number, messages: number): number {
  let remote = 0;
  for (let i = 0; i < messages; i++) if ((i % topics) % NODES !== 0) remote++;
  return remote;
}

async function joinLatency(mode: RedisSubscriptionMode, prefix: string): Promise<{ meanMs: number; p99Ms: number }> {
  const node = new RedisPubSub({ url: REDIS_URL, keyPrefix: prefix, node: 'n0', subscriptionMode: mode });
  try {
    await node.init();
    const times: number[] = [];
    for (let i = 0; i < JOINS; i++) {
      const started = performance.now();
      await node.subscribe(`join:${i}`, new Counter());
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    return { meanMs: times.reduce((s, t) => s + t, 0) / times.length, p99Ms: times[Math.floor(times.length * 0.99)]! };
  } finally {
    await node.close();
  }
}

// ── Codec ──────────────────────────────────────────────────────────────────
// Ours (redis-envelope.ts: a string for JSON, header + raw bytes for binary) against
// two alternatives: a fixed binary header always in a Buffer, and one JSON document with base64.

type Encode = (topic: string, event: string, payload: unknown) => string | Buffer;
type Decode = (message: Buffer) => unknown;

function formats(): Array<[string, Encode, Decode]> {
  const origin = newOrigin();
  const fixedHeader: Encode = (topic, event, payload) => {
    const binary = payload instanceof Uint8Array ? Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength) : null;
    const json = binary === null ? JSON.stringify(payload) : '';
    const topicBytes = Buffer.byteLength(topic);
    const eventBytes = Buffer.byteLength(event);
    const out = Buffer.allocUnsafe(18 + topicBytes + eventBytes + (binary?.length ?? Buffer.byteLength(json)));
    out[0] = 1;
    out[1] = binary === null ? 0 : 1;
    origin.bytes.copy(out, 2, 0, 8);
    out.writeUInt32BE(topicBytes, 10);
    out.writeUInt32BE(eventBytes, 14);
    let at = 18 + out.write(topic, 18);
    at += out.write(event, at);
    if (binary !== null) binary.copy(out, at);
    else out.write(json, at);
    return out;
  };
  const fixedHeaderDecode: Decode = (m) => {
    const topicEnd = 18 + m.readUInt32BE(10);
    const eventEnd = topicEnd + m.readUInt32BE(14);
    const topic = m.toString('utf8', 18, topicEnd);
    const event = m.toString('utf8', topicEnd, eventEnd);
    return { topic, event, payload: m[1] === 1 ? m.subarray(eventEnd) : JSON.parse(m.toString('utf8', eventEnd)) };
  };
  const base64: Encode = (topic, event, payload) => {
    const binary = payload instanceof Uint8Array;
    return JSON.stringify([origin.text, topic, event, binary ? 1 : 0, binary ? Buffer.from(payload).toString('base64') : payload]);
  };
  const base64Decode: Decode = (m) => {
    const [, topic, event, binary, payload] = JSON.parse(m.toString('utf8'));
    return { topic, event, payload: binary ? Buffer.from(payload, 'base64') : payload };
  };
  return [
    ['ours (string / header + raw)', (t, e, p) => encodeEnvelope(origin, t, e, p), (m) => decodeEnvelope(m, null)],
    ['fixed binary header', fixedHeader, fixedHeaderDecode],
    ['JSON + base64', base64, base64Decode],
  ];
}

function asBuffer(message: string | Buffer): Buffer {
  return typeof message === 'string' ? Buffer.from(message) : message;
}

/** Encode/decode ns and size, then the publisher's CPU per PUBLISH of that envelope (a channel nobody hears). */
async function codec(admin: Redis, name: string, payload: unknown, iterations: number): Promise<Array<Record<string, string | number>>> {
  const rows: Array<Record<string, string | number>> = [];
  const all = formats();
  for (const [format, encode, decode] of all) {
    for (let i = 0; i < iterations / 5; i++) decode(asBuffer(encode('room:lobby', 'new_msg', payload))); // warm-up
    let started = performance.now();
    for (let i = 0; i < iterations; i++) encode('room:lobby', 'new_msg', payload);
    const encodeNs = ((performance.now() - started) * 1e6) / iterations;
    const sample = asBuffer(encode('room:lobby', 'new_msg', payload));
    started = performance.now();
    for (let i = 0; i < iterations; i++) decode(sample);
    const decodeNs = ((performance.now() - started) * 1e6) / iterations;
    rows.push({ payload: name, format, bytes: sample.length, 'encode ns': Math.round(encodeNs), 'decode ns': Math.round(decodeNs) });
  }
  // The publish path, interleaved over the formats, first round a warm-up.
  const publishes = Math.min(iterations, 20_000);
  const samples: number[][] = all.map(() => []);
  for (let round = -1; round < 5; round++) {
    for (let f = 0; f < all.length; f++) {
      const encode = all[f]![1];
      const cpu = process.cpuUsage();
      let inFlight: Promise<number>[] = [];
      for (let i = 0; i < publishes; i++) {
        inFlight.push(admin.publish('bench-design:nobody-listens', encode('room:lobby', 'new_msg', payload)));
        if (inFlight.length === WINDOW) {
          await Promise.all(inFlight);
          inFlight = [];
        }
      }
      await Promise.all(inFlight);
      const used = process.cpuUsage(cpu);
      if (round >= 0) samples[f]!.push((used.user + used.system) / publishes);
    }
  }
  rows.forEach((row, f) => (row['publisher CPU µs per PUBLISH'] = median(samples[f]!).toFixed(2)));
  return rows;
}

// ── Main ───────────────────────────────────────────────────────────────────

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  const admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await admin.connect();
  } catch (error) {
    console.error(`no Redis at ${REDIS_URL}: ${(error as Error).message}`);
    process.exitCode = 1;
    admin.disconnect();
    return;
  }
  const run = `bench-design:${process.pid}-${Date.now()}`;
  console.log(
    `RedisPubSub subscription designs: ${NODES} nodes (node 0 here publishes ${MESSAGES} broadcasts, nodes 1-2 are child processes); ` +
      `median of ${ROUNDS} rounds after one warm-up`,
  );
  console.log(`Redis ${REDIS_URL}, Node ${process.version}\n`);
  try {
    const scenarios = [
      ['sparse', SPARSE_TOPICS, false, SMALL, '~130 B'],
      ['sparse', SPARSE_TOPICS, false, LARGE, '~4 KB'],
      ['dense', DENSE_TOPICS, true, SMALL, '~130 B'],
    ] as const;
    const table: Array<Record<string, string | number>> = [];
    let round = 0;
    for (const [scenario, topics, everywhere, payload, size] of ONLY === 'all' || ONLY === 'fanout' ? scenarios : []) {
      const results: Record<RedisSubscriptionMode, Result[]> = { 'per-topic': [], 'per-group': [] };
      // Interleaved, after a warm-up of each, so JIT and Redis state favour neither.
      for (let r = -1; r < ROUNDS; r++) {
        for (const mode of ['per-topic', 'per-group'] as const) {
          const result = await fanout(mode, admin, topics, everywhere, payload, `${run}:${round++}:`);
          if (r >= 0) results[mode].push(result);
        }
      }
      for (const mode of ['per-topic', 'per-group'] as const) {
        const pick = (key: keyof Result) => median(results[mode].map((result) => result[key]));
        table.push({
          scenario: `${scenario}: ${topics} topics, ${everywhere ? 'on every node' : 'each on one node'}, ${size}`,
          mode,
          'wall ms': Math.round(pick('wallMs')),
          'deliveries/s': Math.round(pick('perSecond')),
          'receivers CPU ms': Math.round(pick('receiverCpuMs')),
          'redis CPU ms': Math.round(pick('redisCpuMs')),
          'receivers took in': pick('messages'),
          'MB in': (pick('bytes') / 1e6).toFixed(1),
          dropped: pick('dropped'),
        });
      }
    }
    if (table.length > 0) console.table(table);
    const joins: Array<Record<string, string | number>> = [];
    for (const mode of ONLY === 'all' || ONLY === 'join' ? (['per-topic', 'per-group'] as const) : []) {
      const latency = await joinLatency(mode, `${run}:join-${mode}:`);
      joins.push({ mode, 'first subscribe of a topic, mean ms': latency.meanMs.toFixed(3), 'p99 ms': latency.p99Ms.toFixed(3) });
    }
    if (joins.length > 0) {
      console.log(`\nJoin: ${JOINS} sequential first subscribes of fresh topics on one node`);
      console.table(joins);
    }
    if (ONLY !== 'all' && ONLY !== 'codec') return;
    console.log('\nEnvelope formats: encode/decode alone, then the whole publish path (ioredis PUBLISH to a channel nobody hears)');
    console.table([
      ...(await codec(admin, 'JSON ~130 B', SMALL, 100_000)),
      ...(await codec(admin, 'binary 16 KiB', Buffer.alloc(16 * 1024, 7), 10_000)),
    ]);
  } finally {
    admin.disconnect();
  }
}

if (process.argv.includes('--child')) {
  child().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  const killChildren = (): void => {
    for (const node of children) node.process.kill('SIGKILL');
  };
  process.on('exit', killChildren);
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
