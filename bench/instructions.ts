/**
 * Instructions per operation, counted by valgrind's callgrind in a bench
 * server: repeatable whatever else the machine does, so it compares code
 * paths (ours against raw ws, or one build against another) where wall-clock
 * and CPU-time figures swing with the machine's other work.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/instructions.js [--servers raw-ws,channels] [--ops reqreply,join]
 *        [--clients 20] [--n 500] [--warm 300] [--warm-pings N] [--ref-dist DIR] [--keep DIR] [--node-args FLAGS]
 *
 * For each server: starts it under `valgrind --tool=callgrind`, warms it up
 * (connects, joins and pings, so V8 has optimised the hot paths), zeroes the
 * counters (`callgrind_control -z`), runs the measured work, dumps the
 * counters and divides the instructions by the operations:
 *   reqreply   `--clients` joined connections each doing `--n` sequential pings
 *   join       `--clients` × `--n`/10 new connections (`--clients` at a time), each connecting, joining and
 *              then closed by the client; the window ends once the server has handled the closes
 * The warm-up is `--warm` pings per client (`--warm-pings` when given) then
 * `--warm` joins. Shared code (ws, Node's streams) optimised for pings
 * deoptimises when the connects start, so a join window right after a long
 * ping warm-up is not steady: measure joins with `--warm-pings 0`.
 * User-space instructions only: the kernel's side of a write(2) is not
 * counted, which is the same for every server.
 *
 * Each figure comes twice: all threads, and the main thread alone (where
 * the JavaScript runs). The other threads are V8's helpers: TurboFan
 * compiling functions that became hot, and parallel GC. While a path is
 * still tiering up they can hold more instructions than the main thread
 * does, and that work comes in lumps, so compare code paths by the main
 * thread's figure and the whole by the all-threads one at a long warm-up.
 *
 * `--keep DIR` keeps each measured window's callgrind dumps, one per thread,
 * as `DIR/<server>.<op>.callgrind-<thread>` (01 is the main thread;
 * otherwise they are deleted), for
 * `callgrind_annotate --inclusive=yes DIR/channels.join.callgrind-01`.
 * `--node-args '--perf-basic-prof'` passes flags to the server's node; with
 * that flag node writes /tmp/perf-<pid>.map, which names the JIT-compiled
 * JavaScript functions that callgrind shows as bare addresses
 * (`--keep` then also keeps the map as `DIR/<server>.perf.map`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

const SERVERS: Record<string, { file: (ref: string) => string; args: string[] }> = {
  'raw-ws': { file: () => path.join(here, 'servers', 'raw-ws.server.js'), args: [] },
  channels: { file: () => path.join(here, 'servers', 'channels.server.js'), args: [] },
  'channels-guarded': { file: () => path.join(here, 'servers', 'channels.server.js'), args: ['--enhancers', 'guard-pipe'] },
  'channels-presence': { file: () => path.join(here, 'servers', 'channels.server.js'), args: ['--presence'] },
  'channels-ref': { file: (ref) => path.join(ref, 'bench', 'servers', 'channels.server.js'), args: [] },
};

function startServer(file: string, args: string[], outDir: string, nodeArgs: string[]): Promise<{ child: ChildProcess; port: number }> {
  // Flags such as --perf-basic-prof also make V8 write a log: into the scratch directory, not the working one.
  const logArgs = nodeArgs.length > 0 ? ['--no-logfile-per-isolate', `--logfile=${outDir}/v8.log`] : [];
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', '--vgdb=yes', '--separate-threads=yes', `--callgrind-out-file=${outDir}/cg.%p`, process.execPath, '--expose-gc', ...logArgs, ...nodeArgs, file, ...args],
    { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, BENCH_CHILD: '1' } },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no READY within 120 s')), 120_000);
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const m = /READY (\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.stderr!.on('data', (d: Buffer) => { if (process.env.INSTR_VERBOSE) process.stderr.write(d); });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before READY`));
    });
  });
}

/** One Phoenix V2 client on the `ws` package: join, then sequential pings. */
class Client {
  private ref = 0;
  private waiting: ((frame: unknown[]) => void) | null = null;
  private constructor(private readonly ws: WebSocket) {
    ws.on('error', (error) => process.stderr.write(`  client: ${error.message}\n`));
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as unknown[];
      if (frame[3] !== 'phx_reply') return;
      const w = this.waiting;
      this.waiting = null;
      w?.(frame);
    });
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/socket/websocket?vsn=2.0.0`, { perMessageDeflate: false });
      const timer = setTimeout(() => reject(new Error('connect timed out')), 60_000);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(new Client(ws));
      });
      ws.once('error', reject);
    });
  }

  request(topic: string, event: string, payload: unknown): Promise<unknown[]> {
    const ref = String(++this.ref);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${event} timed out`)), 60_000);
      this.waiting = (frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      this.ws.send(JSON.stringify(['1', ref, topic, event, payload]));
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

const BODY = { body: 'x'.repeat(32) };

async function pings(clients: Client[], n: number): Promise<number> {
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < n; i++) await c.request('bench:rr', 'ping', BODY);
    }),
  );
  return clients.length * n;
}

async function joins(port: number, lanes: number, perLane: number, topic: (i: number) => string): Promise<number> {
  const opened: Client[] = [];
  let k = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (let i = 0; i < perLane; i++) {
        const c = await Client.open(port);
        const reply = await c.request(topic(k++), 'phx_join', {});
        if ((reply[4] as { status: string }).status !== 'ok') throw new Error('join refused');
        opened.push(c);
      }
    }),
  );
  for (const c of opened) c.close();
  return lanes * perLane;
}

/** Instructions since the last zeroing: all threads, and the main (JavaScript) thread alone. */
interface Counts {
  all: number;
  main: number;
}

async function countsOf(pid: number, outDir: string, keepAs: string | null): Promise<Counts> {
  await run('callgrind_control', ['-d', String(pid)]);
  // With --separate-threads=yes a dump is one cg.<pid>.<N>-<thread> file per thread, thread 01 the main one;
  // the newest N is this dump, and each file's `summary:` line holds its thread's instructions since the zeroing.
  const dumps = readdirSync(outDir)
    .map((f) => ({ f, m: new RegExp(`^cg\\.${pid}\\.(\\d+)-(\\d+)$`).exec(f) }))
    .filter((d): d is { f: string; m: RegExpExecArray } => d.m !== null);
  const last = Math.max(...dumps.map((d) => Number(d.m[1])));
  const counts: Counts = { all: 0, main: 0 };
  for (const { f, m } of dumps) {
    if (Number(m[1]) !== last) continue;
    const file = path.join(outDir, f);
    if (keepAs !== null) copyFileSync(file, `${keepAs}-${m[2]}`);
    const s = /^(?:summary|totals): (\d+)/m.exec(readFileSync(file, 'utf8'));
    if (s === null) throw new Error(`no summary in the callgrind dump ${f}`);
    counts.all += Number(s[1]);
    if (Number(m[2]) === 1) counts.main = Number(s[1]);
  }
  if (counts.all === 0) throw new Error('no callgrind dump');
  return counts;
}

/** CPU seconds the process has used (user + system), from /proc. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Waits until the server has gone quiet (no CPU used for 3 polls of 250 ms;
 * at most 120 s): the closes of the connections just terminated are then
 * handled, so they land in the window that caused them, not in the next one.
 */
async function settle(pid: number): Promise<void> {
  let last = cpuTicks(pid);
  let quiet = 0;
  for (let i = 0; i < 480 && quiet < 3; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const now = cpuTicks(pid);
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}

async function measure(
  name: string,
  opsList: string[],
  clientsN: number,
  n: number,
  warm: number,
  warmPings: number,
  ref: string,
  keep: string,
  nodeArgs: string[],
): Promise<Record<string, number>> {
  const spec = SERVERS[name];
  if (spec === undefined) throw new Error(`unknown server ${name}`);
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'instructions-'));
  const { child, port } = await startServer(spec.file(ref), spec.args, outDir, nodeArgs);
  const pid = child.pid!;
  const out: Record<string, number> = {};
  try {
    const presence = name === 'channels-presence';
    const joinTopic = (i: number): string => (presence ? `bench:join:${i}` : 'bench:join');
    // Warm-up: V8 optimises the paths measured below.
    const clients: Client[] = [];
    for (let i = 0; i < clientsN; i++) clients.push(await Client.open(port));
    for (const c of clients) await c.request('bench:rr', 'phx_join', {});
    await pings(clients, warmPings);
    await joins(port, clientsN, Math.max(1, Math.floor(warm / 10)), (i) => `${joinTopic(i)}w`);
    await settle(pid);
    for (const op of opsList) {
      await run('callgrind_control', ['-z', String(pid)]);
      const count = op === 'reqreply' ? await pings(clients, n) : await joins(port, clientsN, Math.max(1, Math.floor(n / 10)), joinTopic);
      // A join's connection is closed in its window: the op is connect + join + close.
      if (op === 'join') await settle(pid);
      const counts = await countsOf(pid, outDir, keep === '' ? null : path.join(keep, `${name}.${op}.callgrind`));
      out[op] = counts.all / count;
      out[`${op} main`] = counts.main / count;
      const k = (x: number): string => Math.round(x / count).toLocaleString('en-US').padStart(10);
      process.stdout.write(`  ${name.padEnd(18)} ${op.padEnd(9)} ${k(counts.all)} instructions per op, ${k(counts.main)} on the main thread (${count} ops)\n`);
    }
    for (const c of clients) c.close();
  } finally {
    const perfMap = `/tmp/perf-${pid}.map`;
    if (existsSync(perfMap)) {
      if (keep !== '') copyFileSync(perfMap, path.join(keep, `${name}.perf.map`));
      rmSync(perfMap, { force: true });
    }
    child.kill('SIGKILL');
    rmSync(outDir, { recursive: true, force: true });
  }
  return out;
}

async function main(): Promise<void> {
  const servers = arg('servers', 'raw-ws,channels').split(',');
  const opsList = arg('ops', 'reqreply,join').split(',');
  const clientsN = Number(arg('clients', '20'));
  const n = Number(arg('n', '500'));
  const warm = Number(arg('warm', '300'));
  const warmPings = Number(arg('warm-pings', String(warm)));
  const ref = arg('ref-dist', '');
  const keep = arg('keep', '');
  const nodeArgs = arg('node-args', '').split(' ').filter((a) => a !== '');
  if (keep !== '') mkdirSync(keep, { recursive: true });
  const results: Record<string, Record<string, number>> = {};
  for (const s of servers) results[s] = await measure(s, opsList, clientsN, n, warm, warmPings, ref, keep, nodeArgs);
  const base = results[servers[0]!]!;
  for (const s of servers.slice(1)) {
    for (const op of opsList) {
      const ratio = (key: string): string => (results[s]![key]! / base[key]!).toFixed(3);
      process.stdout.write(`  ${s} / ${servers[0]} ${op}: ${ratio(op)}× (main thread ${ratio(`${op} main`)}×)\n`);
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`instructions: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
