/**
 * The topic history bench (`npm run bench:history`, from dist/). Servers run
 * in their own processes on 127.0.0.1; load comes from the bench's load
 * workers (cost) and from real clients in this process (drops). Results go
 * to stdout (Markdown tables) and bench/results/history-latest.json.
 *
 *   cost    what history costs a fanout: N subscribers on a topic without
 *           history and N on one with it, in one server process, blasts of M
 *           messages taking turns between the two (so both see the same
 *           machine), on LocalPubSub and on RedisPubSub. Deliveries per second
 *           (median of the rounds) and server CPU per 1,000 deliveries.
 *   drops   delivery through repeated 2 s drops: K clients behind a TCP proxy
 *           that cuts every connection for 2 s, --drops times, while the
 *           server broadcasts --rate messages a second for --seconds. Our
 *           server with the stock `phoenix` client and `nestjs-channels/client`
 *           (history on, LocalPubSub and RedisPubSub) and without history;
 *           Socket.IO (the same Nest app as the main bench) with connection
 *           state recovery and without, with `socket.io-client`. Both clients
 *           reconnect after 100 ms. Delivered = distinct messages a client's
 *           app was given, over those sent.
 *
 * Options: --scenarios cost,drops  --n 2000 --m 200 --rounds 5 --size 128
 *          --clients 20 --rate 200 --seconds 12 --drops 3  --redis-url URL  --verbose
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Socket as PhoenixSocket, type Channel, type SocketConnectOption } from 'phoenix';
import { io, type Socket as IoSocket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { withHistory } from '../lib/client/index.js';
import { startTcpProxy, type TcpProxy } from '../test/support/tcp-proxy.js';
import type { BlastResult, ConnectResult, FanoutDoneEvent } from './common/ipc.js';
import { option } from './common/argv.js';
import { killAllChildren, LoadWorker, ServerProc, sleep } from './common/proc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const HISTORY_SERVER = path.join(here, 'servers', 'history.server.js');
const SOCKETIO_SERVER = path.join(here, 'servers', 'socketio.server.js');
const WORKER = path.join(here, 'load', 'worker.js');
const TIMEOUT_MS = 60_000;

const opts = {
  scenarios: option('scenarios', 'cost,drops').split(','),
  n: Number(option('n', '2000')),
  m: Number(option('m', '200')),
  rounds: Number(option('rounds', '5')),
  size: Number(option('size', '128')),
  clients: Number(option('clients', '20')),
  rate: Number(option('rate', '200')),
  seconds: Number(option('seconds', '12')),
  drops: Number(option('drops', '3')),
  redisUrl: option('redis-url', 'redis://127.0.0.1:6379'),
  verbose: process.argv.includes('--verbose'),
};

const runId = `${process.pid}-${Date.now().toString(36)}`;

function startHistoryServer(pubsub: 'local' | 'redis', label: string): Promise<ServerProc> {
  const args = pubsub === 'redis' ? ['--pubsub', 'redis', '--redis-url', opts.redisUrl, '--key-prefix', `bench-history:${runId}:${label}:`] : [];
  return ServerProc.start(label, HISTORY_SERVER, args, ['--expose-gc'], opts.verbose);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

// ── cost: fanout with and without history ─────────────────────────────────────

/** One topic's subscribers: two load workers, the first connection of the first one publishes. */
interface Group {
  readonly topic: string;
  readonly workers: LoadWorker[];
  subscribers: number;
}

async function joinGroup(port: number, topic: string): Promise<Group> {
  const workers = [new LoadWorker(WORKER), new LoadWorker(WORKER)];
  const half = Math.ceil(opts.n / 2);
  const joined = await Promise.all(
    workers.map((worker, i) =>
      worker.call<ConnectResult>(
        { cmd: 'connect', host: '127.0.0.1', port, dialect: 'phx', count: i === 0 ? half : opts.n - half, concurrency: 50, topic, timeoutMs: 15_000 },
        TIMEOUT_MS,
      ),
    ),
  );
  const subscribers = joined.reduce((sum, r) => sum + r.connected, 0);
  if (subscribers !== opts.n) throw new Error(`${topic}: ${subscribers} of ${opts.n} subscribers joined (${joined.find((r) => r.firstError)?.firstError})`);
  return { topic, workers, subscribers };
}

/** One blast of `m` on the group's topic: deliveries per second until every subscriber has all, and server CPU ms. */
async function blastOnce(group: Group, server: ServerProc, m: number): Promise<{ rate: number; cpuMs: number }> {
  await Promise.all(group.workers.map((worker) => worker.call({ cmd: 'arm', expect: m }, 5000)));
  const done = group.workers.map((worker) => worker.waitEvent<FanoutDoneEvent>('fanout-done', TIMEOUT_MS));
  const cpuBefore = server.cpuSeconds() ?? 0;
  const blast = await group.workers[0]!.call<BlastResult>({ cmd: 'blast', n: m, size: opts.size, timeoutMs: TIMEOUT_MS }, TIMEOUT_MS + 5000);
  const finished = await Promise.all(done);
  if (!blast.ok || finished.some((event) => event === null)) throw new Error(`${group.topic}: a blast of ${m} did not reach every subscriber`);
  const wallMs = Math.max(...finished.map((event) => event!.tDone)) - blast.tSend;
  return { rate: (group.subscribers * m) / (wallMs / 1000), cpuMs: ((server.cpuSeconds() ?? 0) - cpuBefore) * 1000 };
}

interface CostRow {
  pubsub: string;
  plainRate: number;
  keptRate: number;
  ratio: number;
  plainCpuPer1k: number;
  keptCpuPer1k: number;
  rounds: Array<{ plain: number; kept: number }>;
}

async function cost(pubsub: 'local' | 'redis'): Promise<CostRow> {
  const server = await startHistoryServer(pubsub, `history-cost-${pubsub}`);
  const groups: Group[] = [];
  try {
    const plain = await joinGroup(server.port, 'pbench:fanout');
    groups.push(plain);
    const kept = await joinGroup(server.port, 'hbench:fanout');
    groups.push(kept);
    await sleep(300);
    await blastOnce(plain, server, 20);
    await blastOnce(kept, server, 20);
    const rounds: Array<{ plain: { rate: number; cpuMs: number }; kept: { rate: number; cpuMs: number } }> = [];
    for (let round = 0; round < opts.rounds; round++) {
      // Taking turns, the order flipped each round, so neither side always runs on a warmer or quieter machine.
      if (round % 2 === 0) {
        const a = await blastOnce(plain, server, opts.m);
        rounds.push({ plain: a, kept: await blastOnce(kept, server, opts.m) });
      } else {
        const b = await blastOnce(kept, server, opts.m);
        rounds.push({ plain: await blastOnce(plain, server, opts.m), kept: b });
      }
    }
    const deliveries = opts.n * opts.m;
    const plainRate = median(rounds.map((r) => r.plain.rate));
    const keptRate = median(rounds.map((r) => r.kept.rate));
    return {
      pubsub: pubsub === 'local' ? 'LocalPubSub' : 'RedisPubSub',
      plainRate,
      keptRate,
      ratio: keptRate / plainRate,
      plainCpuPer1k: (median(rounds.map((r) => r.plain.cpuMs)) / deliveries) * 1000,
      keptCpuPer1k: (median(rounds.map((r) => r.kept.cpuMs)) / deliveries) * 1000,
      rounds: rounds.map((r) => ({ plain: Math.round(r.plain.rate), kept: Math.round(r.kept.rate) })),
    };
  } finally {
    await Promise.all(groups.flatMap((group) => group.workers.map((worker) => worker.stop())));
    await server.stop();
  }
}

// ── drops: delivery through repeated 2 s drops ────────────────────────────────

/** What one client's app was given. */
class Tally {
  private readonly seen = new Set<number>();
  private last = -1;
  duplicates = 0;
  outOfOrder = 0;
  gaps = 0;

  add(i: number): void {
    if (this.seen.has(i)) this.duplicates++;
    else if (i < this.last) this.outOfOrder++;
    this.seen.add(i);
    this.last = Math.max(this.last, i);
  }

  get delivered(): number {
    return this.seen.size;
  }
}

interface DropClient {
  readonly tally: Tally;
  close(): void;
}

interface Contender {
  readonly name: string;
  start(): Promise<ServerProc>;
  /** A client whose connection goes through `proxy`; resolves once it receives (joined). */
  client(proxy: TcpProxy): Promise<DropClient>;
  /** Starts the server's publisher: n messages at `rate`. */
  publish(server: ServerProc, n: number, rate: number): Promise<() => void>;
}

function phoenixSocket(base: string): PhoenixSocket {
  const socket = new PhoenixSocket(`${base}/socket`, {
    transport: WebSocket as unknown as SocketConnectOption['transport'],
    reconnectAfterMs: () => 100,
    rejoinAfterMs: () => 100,
  } as Partial<SocketConnectOption>);
  socket.connect();
  return socket;
}

function joinedOnce(channel: Channel, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no join reply within 10 s`)), 10_000);
    channel.join().receive('ok', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function channelsContender(name: string, pubsub: 'local' | 'redis', history: boolean): Contender {
  const topic = history ? 'hbench:drops' : 'pbench:drops';
  return {
    name,
    start: () => startHistoryServer(pubsub, `history-drops-${pubsub}-${history ? 'kept' : 'plain'}`),
    async client(proxy) {
      const socket = phoenixSocket(proxy.wsBase);
      const channel = (history ? withHistory(socket, topic) : socket.channel(topic)) as Channel;
      const tally = new Tally();
      channel.on('msg', (payload: { i: number }) => tally.add(payload.i));
      channel.on('history_gap', () => {
        tally.gaps++;
      });
      await joinedOnce(channel, name);
      return { tally, close: () => socket.disconnect() };
    },
    async publish(server, n, rate) {
      const socket = phoenixSocket(`ws://127.0.0.1:${server.port}`);
      const channel = socket.channel(topic);
      await joinedOnce(channel, `${name} publisher`);
      channel.push('stream', { n, perSecond: rate });
      return () => socket.disconnect();
    },
  };
}

function socketioContender(name: string, recovery: boolean): Contender {
  const topic = 'drops';
  const connect = (base: string): IoSocket =>
    io(base, { transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 100, randomizationFactor: 0 });
  return {
    name,
    start: () => ServerProc.start(name, SOCKETIO_SERVER, recovery ? ['--recovery'] : [], ['--expose-gc'], opts.verbose),
    client(proxy) {
      const socket = connect(`http://127.0.0.1:${proxy.port}`);
      const tally = new Tally();
      socket.on('msg', (payload: { i: number }) => tally.add(payload.i));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no join ack within 10 s`)), 10_000);
        // What an app does on every connect that did not recover its session: join its room again.
        socket.on('connect', () => {
          if (socket.recovered) return;
          socket.emit('join', { topic }, () => {
            clearTimeout(timer);
            resolve({ tally, close: () => socket.disconnect() });
          });
        });
      });
    },
    async publish(server, n, rate) {
      const socket = connect(`http://127.0.0.1:${server.port}`);
      await new Promise<void>((resolve) => socket.emit('stream', { topic, n, perSecond: rate }, () => resolve()));
      return () => socket.disconnect();
    },
  };
}

interface DropRow {
  name: string;
  sent: number;
  clients: number;
  deliveredMean: number;
  deliveredMin: number;
  duplicates: number;
  outOfOrder: number;
  gaps: number;
  reconnects: number;
}

async function drops(contender: Contender): Promise<DropRow> {
  const server = await contender.start();
  const proxy = await startTcpProxy(server.port);
  const clients: DropClient[] = [];
  let stopPublisher: (() => void) | null = null;
  try {
    for (let i = 0; i < opts.clients; i++) clients.push(await contender.client(proxy));
    const sent = Math.round(opts.rate * opts.seconds);
    const startedAt = performance.now();
    stopPublisher = await contender.publish(server, sent, opts.rate);
    // Drops of 2 s spread over the run, the last one ending a second before the publisher stops.
    const spacing = (opts.seconds * 1000 - 1000) / opts.drops;
    for (let d = 0; d < opts.drops; d++) {
      const from = d * spacing + (spacing - 2000) / 2;
      while (performance.now() - startedAt < from) await sleep(5);
      proxy.cut();
      await sleep(2000);
      proxy.resume();
    }
    while (performance.now() - startedAt < opts.seconds * 1000) await sleep(20);
    // Then until every client has everything, or nothing more arrives for 2 s.
    let total = -1;
    let still = performance.now();
    while (performance.now() - still < 2000) {
      const now = clients.reduce((sum, client) => sum + client.tally.delivered, 0);
      if (now === sent * clients.length) break;
      if (now !== total) {
        total = now;
        still = performance.now();
      }
      await sleep(50);
    }
    const delivered = clients.map((client) => client.tally.delivered / sent);
    return {
      name: contender.name,
      sent,
      clients: clients.length,
      deliveredMean: delivered.reduce((a, b) => a + b, 0) / delivered.length,
      deliveredMin: Math.min(...delivered),
      duplicates: clients.reduce((sum, client) => sum + client.tally.duplicates, 0),
      outOfOrder: clients.reduce((sum, client) => sum + client.tally.outOfOrder, 0),
      gaps: clients.reduce((sum, client) => sum + client.tally.gaps, 0),
      reconnects: proxy.forwarded - clients.length,
    };
  } finally {
    stopPublisher?.();
    for (const client of clients) client.close();
    await proxy.close();
    await server.stop();
  }
}

// ── output ─────────────────────────────────────────────────────────────────────

const rate = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M/s` : `${(v / 1e3).toFixed(0)}k/s`);
const percent = (v: number): string => `${(v * 100).toFixed(1)} %`;

function costTable(rows: CostRow[]): string {
  const lines = [
    '| PubSub | no history | history | history / no history | rounds, no history | rounds, history | server CPU per 1,000 deliveries (no history → history) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  const spread = (values: number[]): string => `${rate(Math.min(...values))} – ${rate(Math.max(...values))}`;
  for (const r of rows) {
    lines.push(
      `| ${r.pubsub} | ${rate(r.plainRate)} | ${rate(r.keptRate)} | ${r.ratio.toFixed(2)}× | ${spread(r.rounds.map((x) => x.plain))} | ` +
        `${spread(r.rounds.map((x) => x.kept))} | ${r.plainCpuPer1k.toFixed(2)} ms → ${r.keptCpuPer1k.toFixed(2)} ms |`,
    );
  }
  return lines.join('\n');
}

function dropsTable(rows: DropRow[]): string {
  const lines = [
    '| server and client | delivered (mean over clients) | worst client | given twice | out of order | history_gap |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    lines.push(`| ${r.name} | ${percent(r.deliveredMean)} | ${percent(r.deliveredMin)} | ${r.duplicates} | ${r.outOfOrder} | ${r.gaps} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const results: Record<string, unknown> = {};
  const out: string[] = [];
  const cpus = os.cpus();
  const header = `${startedAt.toISOString()} · Node ${process.version} · ${cpus.length} × ${cpus[0]?.model ?? '?'} · one run`;
  out.push(header);
  if (opts.scenarios.includes('cost')) {
    const rows: CostRow[] = [];
    for (const pubsub of ['local', 'redis'] as const) {
      process.stdout.write(`  cost ${pubsub} … `);
      rows.push(await cost(pubsub));
      process.stdout.write('done\n');
    }
    results['cost'] = { n: opts.n, m: opts.m, size: opts.size, rounds: opts.rounds, rows };
    out.push(`\nFanout, ${opts.n} subscribers × ${opts.m} messages of ${opts.size} bytes, median of ${opts.rounds} rounds taking turns:\n`, costTable(rows));
  }
  if (opts.scenarios.includes('drops')) {
    const contenders = [
      channelsContender('channels + phoenix + withHistory (LocalPubSub)', 'local', true),
      channelsContender('channels + phoenix + withHistory (RedisPubSub)', 'redis', true),
      channelsContender('channels + phoenix, no history', 'local', false),
      socketioContender('Socket.IO + socket.io-client, connection state recovery', true),
      socketioContender('Socket.IO + socket.io-client, no recovery', false),
    ];
    const rows: DropRow[] = [];
    for (const contender of contenders) {
      process.stdout.write(`  drops ${contender.name} … `);
      rows.push(await drops(contender));
      process.stdout.write('done\n');
    }
    results['drops'] = { clients: opts.clients, rate: opts.rate, seconds: opts.seconds, drops: opts.drops, rows };
    out.push(
      `\n${opts.clients} clients, ${opts.rate} broadcasts/s for ${opts.seconds} s, ${opts.drops} drops of 2 s (every connection cut, new ones refused):\n`,
      dropsTable(rows),
    );
  }
  const text = out.join('\n');
  process.stdout.write(`\n${text}\n`);
  const file = path.join(here, '..', '..', 'bench', 'results', 'history-latest.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ date: startedAt.toISOString(), node: process.version, cores: cpus.length, opts, results }, null, 2) + '\n');
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), file)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    killAllChildren();
    process.exit(1);
  },
);
