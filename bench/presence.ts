/**
 * The Presence bench (`npm run bench:presence`, from dist/): server processes
 * from bench/servers/presence.server.ts on 127.0.0.1, clients from this
 * process. Results go to stdout and bench/results/presence-latest.json.
 *
 *   churn    join/leave churn on one topic for --seconds, with the same total
 *            load on 1 node and on 3 nodes (RedisPubSub): changes per second,
 *            presence_diff frames and bytes per diff at the observers, server
 *            CPU per 1,000 changes, and the time until every observer is
 *            back to an empty list once the churn stops
 *   memory   10,000 tracked entries: heap per entry on the node that tracks
 *            them (LocalPubSub and RedisPubSub) and on a node that holds
 *            them as a replica
 *   sigkill  3 nodes; one is killed with SIGKILL: time until the observers on
 *            the other two have seen its presences leave (with the default
 *            periods unless --heartbeat/--down say otherwise; about 30 s)
 *
 * Options: --scenarios churn,memory,sigkill  --seconds 8  --churners 60
 *          --observers 4 (per node)  --entries 10000  --redis-url URL
 *          --broadcast MS --heartbeat MS --down MS (Presence periods)  --verbose
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Presence as ClientPresence } from 'phoenix';
import { WebSocket } from 'ws';
import { option } from './common/argv.js';
import { killAllChildren, ServerProc, sleep } from './common/proc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(here, 'servers', 'presence.server.js');
const TOPIC = 'bench:presence';

const opts = {
  scenarios: option('scenarios', 'churn,memory').split(','),
  seconds: Number(option('seconds', '8')),
  churners: Number(option('churners', '60')),
  observers: Number(option('observers', '4')),
  entries: Number(option('entries', '10000')),
  redisUrl: option('redis-url', 'redis://127.0.0.1:6379'),
  broadcast: option('broadcast', ''),
  heartbeat: option('heartbeat', ''),
  down: option('down', ''),
  verbose: process.argv.includes('--verbose'),
};

// ── Clients ──────────────────────────────────────────────────────────────────

/** A V2 client on raw `ws`: joins, leaves, counts presence_diff frames and bytes, keeps a phoenix.js Presence state. */
class Client {
  private nextRef = 1;
  private readonly waiting = new Map<string, (response: any) => void>();
  diffs = 0;
  diffBytes = 0;
  lastDiffAt = 0;
  state: Record<string, { metas: Array<{ phx_ref: string }> }> = {};
  private joinRef: string | null = null;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      const [, ref, , event, payload] = JSON.parse(text) as [string | null, string | null, string, string, any];
      if (event === 'phx_reply' && ref !== null) {
        const wake = this.waiting.get(ref);
        this.waiting.delete(ref);
        wake?.(payload.response);
      } else if (event === 'presence_diff') {
        this.diffs++;
        this.diffBytes += data.length;
        this.lastDiffAt = performance.now();
        this.state = ClientPresence.syncDiff(this.state, payload) as any;
      } else if (event === 'presence_state') {
        this.state = ClientPresence.syncState(this.state, payload) as any;
      }
    });
  }

  static connect(port: number): Promise<Client> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket/websocket?vsn=2.0.0`, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('error', reject);
    });
  }

  private request(joinRef: string | null, topic: string, event: string, payload: unknown): Promise<any> {
    const ref = String(this.nextRef++);
    const replied = new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${event} within 60 s`)), 60_000);
      this.waiting.set(ref, (response) => {
        clearTimeout(timer);
        resolve(response);
      });
    });
    this.ws.send(JSON.stringify([joinRef ?? ref, ref, topic, event, payload]));
    return replied;
  }

  join(topic: string, payload: object): Promise<any> {
    this.joinRef = String(this.nextRef);
    return this.request(this.joinRef, topic, 'phx_join', payload);
  }

  leave(topic: string): Promise<any> {
    return this.request(this.joinRef, topic, 'phx_leave', {});
  }

  push(topic: string, event: string, payload: object): Promise<any> {
    return this.request(this.joinRef, topic, event, payload);
  }

  close(): void {
    this.ws.terminate();
  }

  get keys(): number {
    return Object.keys(this.state).length;
  }
}

// ── Servers ──────────────────────────────────────────────────────────────────

let runId = 0;

function periodArgs(): string[] {
  const args: string[] = [];
  if (opts.broadcast !== '') args.push('--presence-broadcast', opts.broadcast);
  if (opts.heartbeat !== '') args.push('--presence-heartbeat', opts.heartbeat);
  if (opts.down !== '') args.push('--presence-down', opts.down);
  return args;
}

async function startNodes(count: number, pubsub: 'local' | 'redis'): Promise<ServerProc[]> {
  const prefix = `nc-bench:presence:${process.pid}-${++runId}:`;
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      ServerProc.start(
        `presence${i}`,
        SERVER,
        ['--pubsub', pubsub, '--redis-url', opts.redisUrl, '--key-prefix', prefix, '--node', `bench-node${i}`, ...periodArgs()],
        ['--expose-gc'],
        opts.verbose,
      ),
    ),
  );
}

async function until(predicate: () => boolean, what: string, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!predicate()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(5);
  }
  return performance.now() - start;
}

// ── Scenarios ────────────────────────────────────────────────────────────────

interface ChurnResult {
  nodes: number;
  churners: number;
  observers: number;
  seconds: number;
  changes: number;
  changesPerSecond: number;
  diffsPerObserver: number;
  changesPerDiff: number;
  bytesPerDiff: number;
  cpuMsPer1kChanges: number;
  settleMs: number;
}

async function churn(nodeCount: number): Promise<ChurnResult> {
  const nodes = await startNodes(nodeCount, 'redis');
  const clients: Client[] = [];
  try {
    const observers: Client[] = [];
    for (const node of nodes) {
      for (let i = 0; i < opts.observers; i++) {
        const observer = await Client.connect(node.port);
        clients.push(observer);
        await observer.join(TOPIC, { track: false });
        observers.push(observer);
      }
    }
    const churners: Client[] = [];
    for (let i = 0; i < opts.churners; i++) {
      const churner = await Client.connect(nodes[i % nodes.length]!.port);
      clients.push(churner);
      churners.push(churner);
    }
    await sleep(300);
    const diffsBefore = observers.reduce((sum, o) => sum + o.diffs, 0);
    const bytesBefore = observers.reduce((sum, o) => sum + o.diffBytes, 0);
    const cpuBefore = nodes.map((node) => node.cpuSeconds() ?? 0);
    let running = true;
    let cycles = 0;
    const window = setTimeout(() => {
      running = false;
    }, opts.seconds * 1000);
    const startedAt = performance.now();
    // Each churner joins (the server tracks it and pushes presence_state) and leaves, again and again.
    await Promise.all(
      churners.map(async (client, i) => {
        while (running) {
          await client.join(TOPIC, { user: `user-${i}` });
          await client.leave(TOPIC);
          cycles++;
        }
      }),
    );
    clearTimeout(window);
    const stoppedAt = performance.now();
    const elapsed = (stoppedAt - startedAt) / 1000;
    const cpu = nodes.reduce((sum, node, i) => sum + ((node.cpuSeconds() ?? 0) - cpuBefore[i]!), 0);
    // Settled: every observer is back to an empty list and nothing has arrived for a while.
    const quietMs = 3 * Number(opts.broadcast || 50) + 200;
    await until(
      () => observers.every((o) => o.keys === 0 && performance.now() - o.lastDiffAt > quietMs),
      'every observer lists nobody and is quiet',
      30_000,
    );
    const settleMs = Math.max(0, Math.max(...observers.map((o) => o.lastDiffAt)) - stoppedAt);
    const changes = cycles * 2;
    const diffs = observers.reduce((sum, o) => sum + o.diffs, 0) - diffsBefore;
    const bytes = observers.reduce((sum, o) => sum + o.diffBytes, 0) - bytesBefore;
    const counts = await Promise.all(observers.slice(0, 1).map((o) => o.push(TOPIC, 'count', { topic: TOPIC })));
    if (counts[0].keys !== 0) throw new Error(`the server still lists ${counts[0].keys} keys after the churn`);
    return {
      nodes: nodeCount,
      churners: opts.churners,
      observers: observers.length,
      seconds: Number(elapsed.toFixed(2)),
      changes,
      changesPerSecond: Math.round(changes / elapsed),
      diffsPerObserver: Math.round(diffs / observers.length),
      changesPerDiff: Number((changes / (diffs / observers.length)).toFixed(2)),
      bytesPerDiff: Math.round(bytes / diffs),
      cpuMsPer1kChanges: Number(((cpu * 1000) / (changes / 1000)).toFixed(1)),
      settleMs: Math.round(settleMs),
    };
  } finally {
    for (const client of clients) client.close();
    await Promise.all(nodes.map((node) => node.stop()));
  }
}

interface MemoryResult {
  pubsub: 'local' | 'redis';
  entries: number;
  ownerHeapBytesPerEntry: number;
  ownerRssBytesPerEntry: number;
  replicaHeapBytesPerEntry: number | null;
  replicatedInMs: number | null;
}

async function memory(pubsub: 'local' | 'redis'): Promise<MemoryResult> {
  const nodes = await startNodes(pubsub === 'local' ? 1 : 2, pubsub);
  const clients: Client[] = [];
  try {
    const drivers = await Promise.all(nodes.map((node) => Client.connect(node.port)));
    clients.push(...drivers);
    for (const driver of drivers) await driver.join('bench:driver', { track: false });
    await sleep(300);
    const before = await Promise.all(nodes.map((node) => node.mem()));
    const startedAt = performance.now();
    await drivers[0]!.push('bench:driver', 'track-many', { topic: 'bench:memory', n: opts.entries });
    let replicatedInMs: number | null = null;
    if (drivers.length > 1) {
      for (;;) {
        const { metas } = await drivers[1]!.push('bench:driver', 'count', { topic: 'bench:memory' });
        if (metas === opts.entries) break;
        if (performance.now() - startedAt > 60_000) throw new Error(`the replica holds ${metas} of ${opts.entries} entries after 60 s`);
        await sleep(20);
      }
      replicatedInMs = Math.round(performance.now() - startedAt);
    }
    await sleep(300);
    const after = await Promise.all(nodes.map((node) => node.mem()));
    const per = (i: number, field: 'heapUsed' | 'rss') => Math.round((after[i]![field] - before[i]![field]) / opts.entries);
    return {
      pubsub,
      entries: opts.entries,
      ownerHeapBytesPerEntry: per(0, 'heapUsed'),
      ownerRssBytesPerEntry: per(0, 'rss'),
      replicaHeapBytesPerEntry: nodes.length > 1 ? per(1, 'heapUsed') : null,
      replicatedInMs,
    };
  } finally {
    for (const client of clients) client.close();
    await Promise.all(nodes.map((node) => node.stop()));
  }
}

interface SigkillResult {
  heartbeatMs: string;
  downMs: string;
  victims: number;
  removedMs: number;
}

async function sigkill(): Promise<SigkillResult> {
  const nodes = await startNodes(3, 'redis');
  const clients: Client[] = [];
  try {
    const observers: Client[] = [];
    for (const node of nodes.slice(0, 2)) {
      for (let i = 0; i < 2; i++) {
        const observer = await Client.connect(node.port);
        clients.push(observer);
        await observer.join(TOPIC, { track: false });
        observers.push(observer);
      }
    }
    const victims = 10;
    for (let i = 0; i < victims; i++) {
      const victim = await Client.connect(nodes[2]!.port);
      clients.push(victim);
      await victim.join(TOPIC, { user: `victim-${i}` });
    }
    await until(() => observers.every((o) => o.keys === victims), 'every observer lists the victims', 10_000);
    const killedAt = performance.now();
    nodes[2]!.kill();
    await until(() => observers.every((o) => o.keys === 0), "every observer saw the killed node's presences leave", 120_000);
    return {
      heartbeatMs: opts.heartbeat || 'default (5000)',
      downMs: opts.down || 'default (20000)',
      victims,
      removedMs: Math.round(performance.now() - killedAt),
    };
  } finally {
    for (const client of clients) client.close();
    await Promise.all(nodes.map((node) => node.stop()));
  }
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = {
    at: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    options: opts,
  };
  if (opts.scenarios.includes('churn')) {
    const rows: ChurnResult[] = [];
    for (const nodeCount of [1, 3]) {
      const row = await churn(nodeCount);
      rows.push(row);
      console.log(`churn, ${nodeCount} node(s): ${JSON.stringify(row)}`);
    }
    results.churn = rows;
  }
  if (opts.scenarios.includes('memory')) {
    const rows: MemoryResult[] = [];
    for (const pubsub of ['local', 'redis'] as const) {
      const row = await memory(pubsub);
      rows.push(row);
      console.log(`memory, ${pubsub}: ${JSON.stringify(row)}`);
    }
    results.memory = rows;
  }
  if (opts.scenarios.includes('sigkill')) {
    const row = await sigkill();
    console.log(`sigkill: ${JSON.stringify(row)}`);
    results.sigkill = row;
  }
  const out = path.join(here, '..', '..', 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'presence-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`written to bench/results/presence-latest.json`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    killAllChildren();
    process.exit(1);
  },
);
