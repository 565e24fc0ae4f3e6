/**
 * The benchmark runner (`npm run bench` → scripts/bench.sh → this file, from dist/).
 *
 * Each scenario × server gets fresh processes: the server (its own process,
 * 127.0.0.1, port 0) and load workers (forked, see load/worker.ts). Results
 * go to stdout, bench/results/latest.json and bench/README.md (between the
 * result markers). `--help` lists the parameters.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { preflight } from './check.js';
import { Histogram } from './common/histogram.js';
import { hotFunctions } from './common/profile.js';
import type {
  BlastBytesResult,
  BlastResult,
  CollectResult,
  ConnectResult,
  FanoutDoneEvent,
  ReqReplyResult,
  StatusResult,
} from './common/ipc.js';
import { killAllChildren, LoadWorker, machineBusySeconds, ServerProc, sleep } from './common/proc.js';
import type { Dialect } from './common/wire.js';
import { compareWithBaseline, renderReport, type BenchResults, type ServerKind } from './report.js';

const here = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- options

const SCENARIOS = ['fanout', 'reqreply', 'memory', 'joinrate', 'cluster', 'slow'] as const;
type Scenario = (typeof SCENARIOS)[number];
/** The servers of the comparison table. */
const SERVERS: readonly ServerKind[] = ['raw-ws', 'socketio', 'channels', 'channels-lp', 'channels-tel'];
/**
 * Variants of our server: `channels-guarded` (a class guard and
 * ValidationPipe on `ping`, `--enhancers guard-pipe`) and `channels-presence`
 * (every join tracked in Presence, `--presence`) run by default, each beside
 * the plain server, so the cost of what an app adds is in every run;
 * `channels-ref` (the same server file from another build, `--ref-dist`)
 * on request.
 */
const VARIANTS = ['channels-guarded', 'channels-presence', 'channels-ref'] as const;
type Kind = ServerKind | (typeof VARIANTS)[number];
const ALL_KINDS: readonly Kind[] = [...SERVERS, ...VARIANTS];
const DEFAULT_KINDS: readonly Kind[] = [...SERVERS, 'channels-guarded', 'channels-presence'];
/** `--compare`: the servers and scenarios whose ratios to raw ws are checked against the committed results. */
const COMPARE_KINDS: readonly Kind[] = ['raw-ws', 'channels'];
const COMPARE_SCENARIOS: readonly Scenario[] = ['fanout', 'reqreply', 'memory', 'joinrate'];

interface Options {
  scenarios: Scenario[];
  servers: Kind[];
  rounds: number;
  refDist: string | null;
  workers: number;
  concurrency: number;
  fanoutN: number;
  fanoutM: number;
  fanoutRounds: number;
  size: number;
  rrClients: number;
  rrSeconds: number;
  rrSize: number;
  memN: number;
  joinN: number;
  joinWarm: number;
  clusterN: number;
  clusterM: number;
  slowClients: number;
  slowMb: number;
  slowMsgSize: number;
  slowPerBlast: number;
  slowCapMb: number;
  slowRawWs: boolean;
  redisUrl: string;
  maxBuffered: number;
  timeoutS: number;
  profile: string[];
  readme: boolean;
  check: boolean;
  json: string;
  root: string;
  verbose: boolean;
  /** `--compare`: a quick run checked against this results file by ratio to raw ws. */
  compare: string | null;
}

const HELP = `Usage: npm run bench -- [--name value ...]   (or BENCH_NAME=value in the environment)

  --scenarios LIST     ${SCENARIOS.join(',')} (default: all)
  --servers LIST       ${ALL_KINDS.join(',')} (default: ${DEFAULT_KINDS.join(',')})
                       channels-guarded: ours with a class guard and ValidationPipe on ping;
                       channels-presence: ours with every join tracked in Presence;
                       channels-ref: ours from another build (needs --ref-dist)
  --compare            a short run of raw ws and ours (fanout, reqreply, memory, joinrate,
                       5 rounds, sizes of its own) whose per-round ratios to raw ws are checked
                       against the committed bench/results/latest.json; exits 1 when the
                       median of one is more than 15% worse
  --baseline FILE      the results --compare checks against (default bench/results/latest.json)
  --rounds N           measure each scenario N times per server, servers taking turns
                       within each round; each server's median round is shown, and each
                       ratio is the median of the ratios within a round (default 1)
  --ref-dist DIR       the dist/ of another build, for channels-ref (e.g. main's)
  --quick              small sizes for a smoke run (does not touch README.md)
  --workers N          load worker processes (default 2)
  --concurrency N      connects+joins in flight, over all workers (default 200)
  --fanout-n N         fanout subscribers (default 5000)
  --fanout-m M         messages per blast (default 200)
  --fanout-rounds R    measured blasts, median reported; stops early past 4 s (default 3)
  --size B             message body bytes (default 128)
  --rr-clients N       reqreply clients (default 200)
  --rr-seconds S       reqreply duration (default 10)
  --rr-size B          ping payload body bytes (default 32)
  --mem-n N            idle joined connections for memory (default 10000)
  --join-n N           connections for joinrate (default 5000)
  --join-warm N        joins before joinrate's measured window, their clients then closed (default 2000)
  --cluster-n N        cluster subscribers (default 5000)
  --cluster-m M        cluster messages (default 200)
  --slow-clients N     clients that never read (default 100)
  --slow-mb MB         broadcast volume sent to their topic (default 100)
  --slow-msg-size B    body bytes per slow-scenario message (default 16384)
  --slow-per-blast N   messages per blast request in the slow scenario (default 64)
  --slow-cap-mb MB     stop the slow scenario if a server's RSS passes this (default 4096)
  --slow-raw-ws        also run the slow scenario on the raw ws baseline
  --redis-url URL      for the cluster scenario (default redis://127.0.0.1:6379)
  --max-buffered B     maxBufferedBytes for our server (default: the library's)
  --timeout S          deadline for any single wait (default 60)
  --profile LIST       scenarios whose measured window is CPU-profiled in our
                       server (profiles in bench/results/profiles/, top functions printed)
  --no-readme          do not rewrite bench/README.md
  --no-check           skip the preflight with the official clients
  --json FILE          results file (default bench/results/latest.json)
  --verbose            echo server output
`;

function parseOptions(argv: string[]): Options {
  // Environment first (BENCH_FANOUT_N=...), the command line over it. Unknown
  // BENCH_* variables are left alone (scripts/bench.sh has its own); unknown
  // flags are an error.
  const given = new Map<string, string>();
  const fromEnv = new Set<string>();
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('BENCH_') && v !== undefined) {
      const name = k.slice(6).toLowerCase().replace(/_/g, '-');
      given.set(name, v);
      fromEnv.add(name);
    }
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}' (see --help)`);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    fromEnv.delete(name);
    if (eq > 0) given.set(name, a.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) given.set(name, argv[++i]!);
    else given.set(name, 'true');
  }
  if (given.has('help')) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const compare = given.get('compare') === 'true' || given.get('compare') === '1';
  const quick = compare || given.get('quick') === 'true' || given.get('quick') === '1';
  const used = new Set<string>(['quick', 'help', 'compare']);
  const str = (name: string, dflt: string): string => {
    used.add(name);
    return given.get(name) ?? dflt;
  };
  // --compare has sizes of its own: big enough that the ratio of two servers taking turns holds still between runs.
  const num = (name: string, dflt: number, quickDflt = dflt, compareDflt = quickDflt): number => {
    const v = Number(str(name, String(compare ? compareDflt : quick ? quickDflt : dflt)));
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a non-negative number`);
    return v;
  };
  const bool = (name: string, dflt: boolean): boolean => {
    const v = str(name, String(dflt));
    return v === 'true' || v === '1' || v === 'yes';
  };
  const list = <T extends string>(name: string, all: readonly T[], dflt: readonly T[]): T[] => {
    const raw = str(name, dflt.join(','));
    const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    for (const it of items) if (!all.includes(it as T)) throw new Error(`--${name}: unknown '${it}' (one of ${all.join(', ')})`);
    return items as T[];
  };
  const root = path.resolve(str('root', path.resolve(here, '..', '..')));
  const opts: Options = {
    scenarios: list('scenarios', SCENARIOS, compare ? COMPARE_SCENARIOS : SCENARIOS),
    servers: list('servers', ALL_KINDS, compare ? COMPARE_KINDS : DEFAULT_KINDS),
    rounds: Math.max(1, Math.floor(num('rounds', 1, 1, 5))),
    refDist: given.has('ref-dist') ? path.resolve(str('ref-dist', '')) : null,
    workers: Math.max(1, Math.floor(num('workers', 2))),
    concurrency: Math.max(1, Math.floor(num('concurrency', 200, 100))),
    fanoutN: num('fanout-n', 5000, 500, 2000),
    fanoutM: num('fanout-m', 200, 50, 100),
    fanoutRounds: num('fanout-rounds', 3),
    size: num('size', 128),
    rrClients: num('rr-clients', 200, 50, 100),
    rrSeconds: num('rr-seconds', 10, 2, 3),
    rrSize: num('rr-size', 32),
    memN: num('mem-n', 10_000, 1000, 5000),
    joinN: num('join-n', 5000, 500, 2000),
    joinWarm: num('join-warm', 2000, 200, 1000),
    clusterN: num('cluster-n', 5000, 500),
    clusterM: num('cluster-m', 200, 50),
    slowClients: num('slow-clients', 100, 20),
    slowMb: num('slow-mb', 100, 20),
    slowMsgSize: num('slow-msg-size', 16384),
    slowPerBlast: num('slow-per-blast', 64),
    slowCapMb: num('slow-cap-mb', 4096),
    slowRawWs: bool('slow-raw-ws', false),
    redisUrl: str('redis-url', 'redis://127.0.0.1:6379'),
    maxBuffered: num('max-buffered', 0),
    timeoutS: num('timeout', 60),
    profile: list('profile', SCENARIOS, []),
    readme: bool('readme', !quick) && given.get('no-readme') === undefined,
    check: bool('check', !compare) && given.get('no-check') === undefined,
    json: path.resolve(
      root,
      str('json', compare ? 'bench/results/compare.json' : quick ? 'bench/results/quick.json' : 'bench/results/latest.json'),
    ),
    root,
    verbose: bool('verbose', false),
    compare: compare ? path.resolve(root, str('baseline', 'bench/results/latest.json')) : null,
  };
  if (!compare) used.add('baseline');
  used.add('no-readme');
  used.add('no-check');
  for (const k of given.keys()) if (!used.has(k) && !fromEnv.has(k)) throw new Error(`unknown option --${k} (see --help)`);
  return opts;
}

// ---------------------------------------------------------------- processes

function serverFile(kind: Kind): string {
  switch (kind) {
    case 'raw-ws':
      return path.join(here, 'servers', 'raw-ws.server.js');
    case 'socketio':
      return path.join(here, 'servers', 'socketio.server.js');
    case 'channels':
    case 'channels-lp':
    case 'channels-tel':
    case 'channels-guarded':
    case 'channels-presence':
      return path.join(here, 'servers', 'channels.server.js');
    case 'channels-ref':
      if (opts.refDist === null) throw new Error('channels-ref needs --ref-dist (the dist/ of the build to compare with)');
      return path.join(opts.refDist, 'bench', 'servers', 'channels.server.js');
  }
}
const WORKER_FILE = path.join(here, 'load', 'worker.js');

const DIALECT: Record<Kind, Dialect> = {
  'raw-ws': 'phx',
  socketio: 'sio',
  channels: 'phx',
  'channels-lp': 'lp',
  'channels-tel': 'phx',
  'channels-guarded': 'phx',
  'channels-presence': 'phx',
  'channels-ref': 'phx',
};

let opts: Options;

async function startServer(kind: Kind, extra: string[] = [], label: string = kind): Promise<ServerProc> {
  const args = [...extra];
  if (kind === 'channels-lp') args.push('--longpoll');
  if (kind === 'channels-tel') args.push('--telemetry');
  if (kind.startsWith('channels') && opts.maxBuffered > 0) args.push('--max-buffered', String(opts.maxBuffered));
  if (kind === 'channels-guarded') args.push('--enhancers', 'guard-pipe');
  if (kind === 'channels-presence') args.push('--presence');
  return ServerProc.start(label, serverFile(kind), args, ['--expose-gc'], opts.verbose);
}

/**
 * Runs `fn` (a scenario's measured window) with our server's CPU profiler on
 * when `--profile` names this scenario. Profiles land in
 * bench/results/profiles/; a short reading of each goes into the result.
 */
async function profiled<T>(scenario: Scenario, servers: ServerProc[], fn: () => Promise<T>): Promise<{ value: T; profile?: Result[] }> {
  // Every server of the scenario: raw ws's profile beside ours shows where they differ.
  const targets = servers.filter(() => opts.profile.includes(scenario));
  if (targets.length === 0) return { value: await fn() };
  const dir = path.join(opts.root, 'bench', 'results', 'profiles');
  mkdirSync(dir, { recursive: true });
  await Promise.all(targets.map((s) => s.profileStart()));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const files = targets.map((s) => path.join(dir, `${scenario}-${s.name}-${stamp}.cpuprofile`));
  let value: T;
  try {
    value = await fn();
  } finally {
    await Promise.all(targets.map((s, i) => (s.alive ? s.profileStop(files[i]!).catch(() => undefined) : undefined)));
  }
  const profile = files
    .filter((f) => existsSync(f))
    .map((f) => ({ file: path.relative(opts.root, f), ...hotFunctions(f, opts.root) }));
  return { value, profile };
}

function startWorkers(n: number): LoadWorker[] {
  const ws: LoadWorker[] = [];
  for (let i = 0; i < n; i++) ws.push(new LoadWorker(WORKER_FILE));
  return ws;
}

/** Splits `total` into `parts` near-equal integers. */
function split(total: number, parts: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < parts; i++) out.push(Math.floor(total / parts) + (i < total % parts ? 1 : 0));
  return out;
}

const timeoutMs = (): number => opts.timeoutS * 1000;

interface ConnectSummary {
  connected: number;
  failed: number;
  firstError: string | null;
  seconds: number;
  rate: number;
  genCpu: number[];
}

/** Connects `counts[i]` clients from worker i to `ports[i]`, all workers at once. */
async function connectAll(workers: LoadWorker[], ports: number[], counts: number[], dialect: Dialect, topic: string): Promise<ConnectSummary> {
  const perWorker = Math.max(1, Math.floor(opts.concurrency / workers.length));
  const results = await Promise.all(
    workers.map((w, i) =>
      counts[i]! === 0
        ? Promise.resolve<ConnectResult>({ connected: 0, failed: 0, firstError: null, t0: Infinity, t1: -Infinity, cpuUs: 0 })
        : w.call<ConnectResult>(
            { cmd: 'connect', host: '127.0.0.1', port: ports[i]!, dialect, count: counts[i]!, concurrency: perWorker, topic, timeoutMs: 15_000 },
            timeoutMs() * 5,
          ),
    ),
  );
  const t0 = Math.min(...results.map((r) => r.t0));
  const t1 = Math.max(...results.map((r) => r.t1));
  const connected = results.reduce((s, r) => s + r.connected, 0);
  const seconds = (t1 - t0) / 1000;
  return {
    connected,
    failed: results.reduce((s, r) => s + r.failed, 0),
    firstError: results.find((r) => r.firstError !== null)?.firstError ?? null,
    seconds,
    rate: seconds > 0 ? connected / seconds : 0,
    genCpu: results.filter((r) => Number.isFinite(r.t0)).map((r) => pct(r.cpuUs / 1000, r.t1 - r.t0)),
  };
}

function pct(cpuMs: number, wallMs: number): number {
  return wallMs > 0 ? Math.round((cpuMs / wallMs) * 100) : 0;
}

async function cleanup(workers: LoadWorker[], servers: ServerProc[]): Promise<void> {
  await Promise.all(workers.map((w) => w.stop()));
  await Promise.all(servers.map((s) => s.stop()));
}

/** Where a measured window's CPU stood at its start: every server's and the machine's. */
interface CpuMark {
  server: Array<number | null>;
  system: Array<number | null>;
  machine: number | null;
  at: number;
}

function cpuMark(servers: ServerProc[]): CpuMark {
  return { server: servers.map((s) => s.cpuSeconds()), system: servers.map((s) => s.systemSeconds()), machine: machineBusySeconds(), at: Date.now() };
}

/** What bound a measured window: `server`, `generator`, `cores` (all busy, counting others' work) or `round trips` (nothing saturated). */
export type Bound = 'server' | 'generator' | 'cores' | 'round trips';

const SATURATED = 90;

function boundOf(serverCpu: number[], genCpu: number[], machineCpu: number | null): Bound {
  if (serverCpu.some((x) => x >= SATURATED)) return 'server';
  if (genCpu.some((x) => x >= SATURATED)) return 'generator';
  if (machineCpu !== null && machineCpu >= (SATURATED / 100) * os.cpus().length * 100) return 'cores';
  return 'round trips';
}

/**
 * The CPU figures of a measured window that did `ops` operations: server CPU
 * in % of one core (each server) and in seconds (all servers), µs of server
 * CPU per operation, the machine's busy CPU and the part of it that was
 * neither the servers nor the load workers (others' work on a shared
 * machine), and what bound the window.
 */
/** Seconds used since `before`, summed over the servers; null when any reading is missing. */
function secondsSince(now: (number | null)[], before: readonly (number | null | undefined)[]): number | null {
  let total = 0;
  for (let i = 0; i < now.length; i++) {
    const a = now[i];
    const b = before[i];
    if (a === null || a === undefined || b === null || b === undefined) return null;
    total += a - b;
  }
  return total;
}

function cpuSince(mark: CpuMark, servers: ServerProc[], ops: number, genCpu: number[], wallMs = Date.now() - mark.at): Result {
  const serverCpu = serverCpuPct(servers, mark.server, wallMs);
  const seconds = secondsSince(servers.map((s) => s.cpuSeconds()), mark.server);
  const system = secondsSince(servers.map((s) => s.systemSeconds()), mark.system);
  const machineNow = machineBusySeconds();
  const machineCpu = machineNow === null || mark.machine === null ? null : pct((machineNow - mark.machine) * 1000, wallMs);
  const ours = serverCpu.reduce((a, b) => a + Math.max(0, b), 0) + genCpu.reduce((a, b) => a + b, 0);
  return {
    serverCpu,
    serverCpuSeconds: seconds,
    cpuUsPerOp: seconds !== null && ops > 0 ? (seconds * 1e6) / ops : null,
    // The kernel's part (system time): socket writes and reads, mostly.
    systemUsPerOp: system !== null && ops > 0 ? (system * 1e6) / ops : null,
    machineCpu,
    otherCpu: machineCpu === null ? null : Math.max(0, machineCpu - ours),
    bound: boundOf(serverCpu, genCpu, machineCpu),
  };
}

function serverCpuPct(servers: ServerProc[], before: Array<number | null>, wallMs: number): number[] {
  return servers.map((s, i) => {
    const now = s.cpuSeconds();
    const b = before[i];
    return now === null || b === null || b === undefined ? -1 : pct((now - b) * 1000, wallMs);
  });
}

// ---------------------------------------------------------------- scenarios

type Result = Record<string, unknown>;

interface Round {
  rate: number | null;
  seconds: number;
  deliveries: number;
  expected: number;
  complete: boolean;
  blastReplyMs: number;
  blastOk: boolean;
  serverCpu: number[];
  genCpu: number[];
  serverCpuSeconds: number | null;
  machineCpu: number | null;
  otherCpu: number | null;
  bound: Bound;
}

/** Arms every worker for `m` broadcasts per connection, blasts from worker 0, waits until all have them. */
async function blastRound(workers: LoadWorker[], servers: ServerProc[], subscribers: number, m: number): Promise<Round> {
  await Promise.all(workers.map((w) => w.call({ cmd: 'arm', expect: m }, 5000)));
  const done = workers.map((w) => w.waitEvent<FanoutDoneEvent>('fanout-done', timeoutMs()));
  const mark = cpuMark(servers);
  const blast = await workers[0]!.call<BlastResult>({ cmd: 'blast', n: m, size: opts.size, timeoutMs: timeoutMs() }, timeoutMs() + 5000);
  const events = await Promise.all(done);
  const collected = await Promise.all(workers.map((w) => w.call<CollectResult>({ cmd: 'collect' }, 5000)));
  const received = collected.reduce((s, c) => s + c.received, 0);
  const complete = events.every((e) => e !== null) && received === subscribers * m;
  const tEnd = complete ? Math.max(...events.map((e) => e!.tDone)) : Math.max(...collected.map((c) => c.tDone ?? 0), blast.tReply);
  const wallMs = tEnd - blast.tSend;
  const genCpu = collected.map((c, i) => pct(c.cpuUs / 1000, events[i]?.wallMs ?? c.wallMs));
  // CPU over the whole wait (the clock above stops at the last delivery; the /proc readings a little later).
  const cpu = cpuSince(mark, servers, received, genCpu);
  return {
    rate: complete ? (subscribers * m) / (wallMs / 1000) : null,
    seconds: wallMs / 1000,
    deliveries: received,
    expected: subscribers * m,
    complete,
    blastReplyMs: blast.tReply - blast.tSend,
    blastOk: blast.ok,
    serverCpu: serverCpuPct(servers, mark.server, wallMs),
    genCpu,
    serverCpuSeconds: cpu['serverCpuSeconds'] as number | null,
    machineCpu: cpu['machineCpu'] as number | null,
    otherCpu: cpu['otherCpu'] as number | null,
    bound: boundOf(serverCpuPct(servers, mark.server, wallMs), genCpu, cpu['machineCpu'] as number | null),
  };
}

/**
 * One fanout: `n` subscribers (spread over the workers; worker i talks to
 * `ports[i % ports.length]`), then a small warm-up blast, then up to
 * `fanoutRounds` measured blasts of `m` messages from worker 0's first
 * connection (more rounds only while they stay under a few seconds in all).
 * Deliveries per second until every subscriber has all m; the median round
 * is the result.
 */
async function fanoutOn(scenario: Scenario, servers: ServerProc[], dialect: Dialect, n: number, m: number, topic: string): Promise<Result> {
  // At least one worker per server node, so that every node gets subscribers.
  const workers = startWorkers(Math.max(opts.workers, servers.length));
  try {
    const ports = workers.map((_, i) => servers[i % servers.length]!.port);
    const conn = await connectAll(workers, ports, split(n, workers.length), dialect, topic);
    if (conn.connected === 0) throw new Error(`no subscriber could join: ${conn.firstError}`);
    await sleep(300);
    const warm = await blastRound(workers, servers, conn.connected, Math.max(1, Math.min(m, 20)));
    if (!warm.complete) throw new Error(`warm-up blast incomplete: ${warm.deliveries} of ${warm.expected} deliveries`);
    const rounds: Round[] = [];
    const { profile } = await profiled(scenario, servers, async () => {
      let spent = 0;
      for (let i = 0; i < Math.max(1, opts.fanoutRounds); i++) {
        const r = await blastRound(workers, servers, conn.connected, m);
        rounds.push(r);
        spent += r.seconds;
        if (!r.complete || spent > 4) break;
      }
    });
    const incomplete = rounds.find((r) => !r.complete);
    const sorted = [...rounds].sort((a, b) => (a.rate ?? 0) - (b.rate ?? 0));
    const median = incomplete ?? sorted[Math.floor((sorted.length - 1) / 2)]!;
    // CPU per delivery over every measured blast: /proc counts in 10 ms ticks, and one blast can be short.
    const cpuSeconds = rounds.every((r) => r.serverCpuSeconds !== null) ? rounds.reduce((a, r) => a + r.serverCpuSeconds!, 0) : null;
    const delivered = rounds.reduce((a, r) => a + r.deliveries, 0);
    return {
      subscribers: conn.connected,
      failedJoins: conn.failed,
      messages: m,
      size: opts.size,
      ...median,
      rate: conn.connected === n ? median.rate : null,
      cpuUsPerOp: cpuSeconds !== null && delivered > 0 && incomplete === undefined ? (cpuSeconds * 1e6) / delivered : null,
      rounds: rounds.map((r) => ({ rate: r.rate, seconds: r.seconds, serverCpu: r.serverCpu, genCpu: r.genCpu, bound: r.bound })),
      joinRate: conn.rate,
      ...(conn.firstError !== null ? { firstError: conn.firstError } : {}),
      ...(profile !== undefined ? { profile } : {}),
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

async function scenarioFanout(kind: Kind): Promise<Result> {
  const server = await startServer(kind);
  try {
    return await fanoutOn('fanout', [server], DIALECT[kind], opts.fanoutN, opts.fanoutM, 'bench:fanout');
  } finally {
    await server.stop();
  }
}

async function scenarioReqReply(kind: Kind): Promise<Result> {
  const server = await startServer(kind);
  const workers = startWorkers(Math.min(opts.workers, Math.max(1, opts.rrClients)));
  try {
    const conn = await connectAll(workers, workers.map(() => server.port), split(opts.rrClients, workers.length), DIALECT[kind], 'bench:rr');
    if (conn.connected === 0) throw new Error(`no client could join: ${conn.firstError}`);
    await sleep(200);
    const mark = cpuMark([server]);
    const { value: results, profile } = await profiled('reqreply', [server], () =>
      Promise.all(
        workers.map((w) => w.call<ReqReplyResult>({ cmd: 'reqreply', seconds: opts.rrSeconds, size: opts.rrSize }, opts.rrSeconds * 1000 + 10_000)),
      ),
    );
    const hist = new Histogram();
    for (const r of results) hist.addSparse(r.hist, r.maxUs);
    const replies = results.reduce((s, r) => s + r.replies, 0);
    const genCpu = results.map((r) => pct(r.cpuUs / 1000, r.t1 - r.t0));
    return {
      clients: conn.connected,
      seconds: opts.rrSeconds,
      replies,
      rate: replies / opts.rrSeconds,
      p50: hist.quantileMs(0.5),
      p99: hist.quantileMs(0.99),
      max: hist.maxUs / 1000,
      ...cpuSince(mark, [server], replies, genCpu),
      genCpu,
      ...(profile !== undefined ? { profile } : {}),
    };
  } finally {
    await cleanup(workers, [server]);
  }
}

async function scenarioMemory(kind: Kind): Promise<Result> {
  const server = await startServer(kind);
  const workers = startWorkers(opts.workers);
  try {
    await sleep(300);
    const before = await server.mem(true);
    const conn = await connectAll(workers, workers.map(() => server.port), split(opts.memN, workers.length), DIALECT[kind], 'bench:mem');
    if (conn.connected === 0) throw new Error(`no client could join: ${conn.firstError}`);
    await sleep(1000);
    const after = await server.mem(true);
    const n = conn.connected;
    return {
      connections: n,
      failedJoins: conn.failed,
      gc: after.gc,
      rssBefore: before.rss,
      rssAfter: after.rss,
      heapBefore: before.heapUsed,
      heapAfter: after.heapUsed,
      rssPerConn: (after.rss - before.rss) / n,
      heapPerConn: (after.heapUsed - before.heapUsed) / n,
      externalPerConn: (after.external - before.external) / n,
      joinRate: conn.rate,
      genCpu: conn.genCpu,
      ...(conn.firstError !== null ? { firstError: conn.firstError } : {}),
    };
  } finally {
    await cleanup(workers, [server]);
  }
}

async function scenarioJoinRate(kind: Kind): Promise<Result> {
  const server = await startServer(kind);
  let workers: LoadWorker[] = [];
  try {
    // Presence: each joiner in a room of its own, so the figure is what tracking costs a join, not the
    // presence_diff fan-out of one crowded room (that is the fanout's cost, measured there).
    const topic = kind === 'channels-presence' ? 'bench:join:{i}' : 'bench:join';
    // Warm-up, every server alike: a first batch of joins, then their clients gone. A fresh process spends
    // its first thousands of joins compiling (V8's optimising compiler runs on other threads, billed to
    // the server), and a long-running server has done that long ago.
    if (opts.joinWarm > 0) {
      const warm = startWorkers(opts.workers);
      try {
        await connectAll(warm, warm.map(() => server.port), split(opts.joinWarm, warm.length), DIALECT[kind], topic);
      } finally {
        await Promise.all(warm.map((w) => w.stop()));
      }
    }
    workers = startWorkers(opts.workers);
    await sleep(1000);
    const mark = cpuMark([server]);
    const { value: conn, profile } = await profiled('joinrate', [server], () =>
      connectAll(workers, workers.map(() => server.port), split(opts.joinN, workers.length), DIALECT[kind], topic),
    );
    if (conn.connected === 0) throw new Error(`no client could join: ${conn.firstError}`);
    return {
      connections: conn.connected,
      failedJoins: conn.failed,
      concurrency: opts.concurrency,
      seconds: conn.seconds,
      rate: conn.rate,
      ...cpuSince(mark, [server], conn.connected, conn.genCpu),
      genCpu: conn.genCpu,
      ...(conn.firstError !== null ? { firstError: conn.firstError } : {}),
      ...(profile !== undefined ? { profile } : {}),
    };
  } finally {
    await cleanup(workers, [server]);
  }
}

function redisAnswers(url: string): Promise<boolean> {
  let host = '127.0.0.1';
  let port = 6379;
  try {
    const u = new URL(url);
    host = u.hostname || host;
    port = Number(u.port) || port;
  } catch {
    return Promise.resolve(false);
  }
  return new Promise<boolean>((resolve) => {
    const sock = net.connect({ host, port });
    let answer = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1500);
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      answer += d.toString('latin1');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG') || answer.startsWith('-NOAUTH'));
    });
    sock.on('error', () => done(false));
  });
}

/**
 * Our server only: the same fanout (N subscribers, M messages) on one node
 * with LocalPubSub, then through one Redis on 1, 2 and 3 nodes, subscribers
 * spread evenly over the nodes and the blast sent from the first.
 */
async function scenarioCluster(kind: Kind): Promise<Result> {
  if (!(await redisAnswers(opts.redisUrl))) {
    return { skipped: `Redis at ${opts.redisUrl} did not answer PING` };
  }
  const run = `bench:${process.pid}:${Date.now()}`;
  const redisArgs = (prefix: string): string[] => ['--pubsub', 'redis', '--redis-url', opts.redisUrl, '--key-prefix', prefix];

  /** Starts `count` nodes (Redis-backed when `prefix` is given), runs the fanout over them, stops them. */
  const onNodes = async (count: number, prefix: string | null): Promise<Result> => {
    const nodes: ServerProc[] = [];
    try {
      for (let i = 0; i < count; i++) {
        nodes.push(await startServer(kind, prefix === null ? [] : redisArgs(prefix), `channels-node${i + 1}`));
      }
      return await fanoutOn('cluster', nodes, DIALECT[kind], opts.clusterN, opts.clusterM, 'bench:cluster');
    } finally {
      for (const node of nodes) await node.stop();
    }
  };

  const localNode = await onNodes(1, null);
  const oneNode = await onNodes(1, `${run}:one:`);
  const twoNodes = await onNodes(2, `${run}:two:`);
  const threeNodes = await onNodes(3, `${run}:three:`);
  const r1 = oneNode['rate'] as number | null;
  const r2 = twoNodes['rate'] as number | null;
  return { localNode, oneNode, twoNodes, threeNodes, ratio: r1 !== null && r2 !== null && r1 > 0 ? r2 / r1 : null };
}

/**
 * Clients that never read sit on a topic that gets `slowMb` of broadcasts
 * (sent by one reading publisher, in blasts of `slowPerBlast` messages).
 * Reports the server's peak RSS and how many slow clients it closed.
 */
async function scenarioSlow(kind: Kind): Promise<Result> {
  const server = await startServer(kind);
  const workers = startWorkers(2);
  const capBytes = opts.slowCapMb * 1024 * 1024;
  let sampler: NodeJS.Timeout | undefined;
  try {
    const dialect = DIALECT[kind];
    const slow = await connectAll([workers[0]!], [server.port], [opts.slowClients], dialect, 'bench:slow');
    const pub = await connectAll([workers[1]!], [server.port], [1], dialect, 'bench:slow');
    if (slow.connected === 0 || pub.connected === 0) throw new Error(`could not join: ${slow.firstError ?? pub.firstError}`);
    await workers[0]!.call({ cmd: 'pause' }, 5000);
    await sleep(300);
    const base = await server.mem(true);
    const hwmReset = server.resetPeak();
    let peak = server.rss() ?? base.rss;
    let exceeded = false;
    sampler = setInterval(() => {
      const r = server.rss();
      if (r === null) return;
      if (r > peak) peak = r;
      if (r > capBytes && !exceeded) {
        exceeded = true;
        server.kill();
      }
    }, 50);
    const volume = opts.slowMb * 1024 * 1024;
    const { value: sent, profile } = await profiled('slow', [server], async (): Promise<{ blast: BlastBytesResult | null; error: string | null }> => {
      try {
        const blast = await workers[1]!.call<BlastBytesResult>(
          { cmd: 'blastBytes', totalBytes: volume, size: opts.slowMsgSize, perBlast: opts.slowPerBlast, timeoutMs: timeoutMs() },
          timeoutMs() * 3,
        );
        return { blast, error: null };
      } catch (err) {
        return { blast: null, error: err instanceof Error ? err.message : String(err) };
      }
    });
    const { blast, error: blastError } = sent;
    if (!exceeded) await sleep(1500);
    clearInterval(sampler);
    sampler = undefined;
    const hwm = server.alive && hwmReset ? server.peakRss() : null;
    if (hwm !== null && hwm > peak) peak = hwm;
    const after = server.alive ? await server.mem(false) : null;
    const status = await workers[1]!.call<StatusResult>({ cmd: 'status' }, 5000).catch(() => null);
    return {
      clients: slow.connected,
      volume: blast?.bytesRequested ?? volume,
      messageSize: opts.slowMsgSize,
      blastsOk: blast?.okReplies ?? 0,
      blasts: blast?.blasts ?? 0,
      seconds: blast !== null ? (blast.t1 - blast.t0) / 1000 : null,
      publisherReceived: blast?.publisherReceivedBytes ?? 0,
      publisherOpen: status !== null && status.open === 1,
      baseRss: base.rss,
      peakRss: peak,
      growth: peak - base.rss,
      closed: after !== null ? after.upgrades.closed : null,
      rssAfter: after?.rss ?? null,
      exceededCap: exceeded ? opts.slowCapMb : false,
      logLines: server.outputLines,
      ...(blastError !== null ? { error: blastError } : {}),
      ...(profile !== undefined ? { profile } : {}),
    };
  } finally {
    if (sampler !== undefined) clearInterval(sampler);
    await cleanup(workers, [server]);
  }
}

const RUNNERS: Record<Scenario, (kind: Kind) => Promise<Result>> = {
  fanout: scenarioFanout,
  reqreply: scenarioReqReply,
  memory: scenarioMemory,
  joinrate: scenarioJoinRate,
  cluster: scenarioCluster,
  slow: scenarioSlow,
};

/** Where each variant runs: where users weigh its cost. */
const VARIANT_SCENARIOS: Partial<Record<Kind, readonly Scenario[]>> = {
  'channels-lp': ['fanout', 'reqreply'],
  'channels-tel': ['fanout', 'reqreply'],
  'channels-guarded': ['reqreply', 'joinrate'],
  'channels-presence': ['joinrate'],
};

function serversFor(scenario: Scenario): Kind[] {
  const servers = opts.servers.filter((s) => VARIANT_SCENARIOS[s]?.includes(scenario) ?? true);
  if (scenario === 'cluster') return servers.filter((s) => s === 'channels');
  if (scenario === 'slow') return servers.filter((s) => s !== 'raw-ws' || opts.slowRawWs);
  return servers;
}

// ---------------------------------------------------------------- output

function versionOf(pkg: string): string {
  try {
    const file = path.join(opts.root, 'node_modules', pkg, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

function meta(startedAt: Date, seconds: number): BenchResults['meta'] {
  let own = '?';
  try {
    own = (JSON.parse(readFileSync(path.join(opts.root, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // keep '?'
  }
  const cpus = os.cpus();
  return {
    date: startedAt.toISOString(),
    seconds,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? '?',
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    versions: {
      'nestjs-channels': own,
      ws: versionOf('ws'),
      'socket.io': versionOf('socket.io'),
      '@nestjs/core': versionOf('@nestjs/core'),
      '@nestjs/platform-socket.io': versionOf('@nestjs/platform-socket.io'),
      ioredis: versionOf('ioredis'),
    },
    params: {
      rounds: opts.rounds,
      workers: opts.workers,
      concurrency: opts.concurrency,
      fanout: { n: opts.fanoutN, m: opts.fanoutM, size: opts.size, rounds: opts.fanoutRounds },
      reqreply: { clients: opts.rrClients, seconds: opts.rrSeconds, size: opts.rrSize },
      memory: { n: opts.memN },
      joinrate: { n: opts.joinN },
      cluster: { n: opts.clusterN, m: opts.clusterM, redis: opts.redisUrl },
      slow: { clients: opts.slowClients, mb: opts.slowMb, msgSize: opts.slowMsgSize, perBlast: opts.slowPerBlast },
    },
  };
}

const BEGIN = '<!-- bench:results:begin -->';
const END = '<!-- bench:results:end -->';

function writeOutputs(results: BenchResults, markdown: string): void {
  mkdirSync(path.dirname(opts.json), { recursive: true });
  const tmp = `${opts.json}.tmp`;
  writeFileSync(tmp, JSON.stringify(results, null, 2) + '\n');
  renameSync(tmp, opts.json);
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), opts.json) || opts.json}\n`);
  if (!opts.readme) return;
  const readme = path.join(opts.root, 'bench', 'README.md');
  if (!existsSync(readme)) {
    process.stdout.write(`(no ${readme}; table not written there)\n`);
    return;
  }
  const text = readFileSync(readme, 'utf8');
  const b = text.indexOf(BEGIN);
  const e = text.indexOf(END);
  if (b < 0 || e < b) {
    process.stdout.write(`(${readme} has no result markers; table not written there)\n`);
    return;
  }
  const next = `${text.slice(0, b + BEGIN.length)}\n${markdown}\n${text.slice(e)}`;
  writeFileSync(`${readme}.tmp`, next);
  renameSync(`${readme}.tmp`, readme);
  process.stdout.write(`table written to ${path.relative(process.cwd(), readme) || readme}\n`);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  opts = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const results: BenchResults = { meta: meta(startedAt, 0), results: {} };
  process.stdout.write(
    `nestjs-channels bench · ${process.version} · ${os.cpus().length} cores · scenarios ${opts.scenarios.join(',')} · servers ${opts.servers.join(',')}\n`,
  );
  const broken = new Map<Kind, string>();
  if (opts.check) {
    const kinds = ALL_KINDS.filter((k) => opts.scenarios.some((s) => serversFor(s).includes(k)));
    for (const kind of kinds) {
      process.stdout.write(`  preflight ${kind.padEnd(9)} … `);
      try {
        const server = await startServer(kind, [], `${kind}-check`);
        try {
          await preflight(DIALECT[kind], server.port);
        } finally {
          await server.stop();
        }
        process.stdout.write(`ok (${{ phx: 'phoenix', lp: 'phoenix LongPoll', sio: 'socket.io-client' }[DIALECT[kind]]} join, ping, blast)\n`);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        broken.set(kind, msg);
        process.stdout.write(`FAILED, its scenarios are skipped: ${msg.split('\n')[0]}\n`);
        if (msg.includes('\n')) process.stdout.write(`${msg.split('\n').slice(1).join('\n')}\n`);
        killAllChildren();
      }
    }
  }
  results.results = await runScenarios(broken);
  if (opts.readme && opts.compare === null) {
    // A full run also records the --compare set at its own (quick) sizes: --compare checks against those,
    // since ratios at quick sizes differ from full-size ones (fixed costs weigh more in small runs).
    const full = opts;
    opts = parseOptions(['--compare', '--no-check', '--root', full.root]);
    process.stdout.write(`  the --compare set, for the baseline (${opts.scenarios.join(',')}; ${opts.rounds} rounds at quick sizes):\n`);
    const compareResults = await runScenarios(broken);
    results.compareRun = { params: meta(startedAt, 0).params, rounds: opts.rounds, results: compareResults };
    opts = full;
  }
  results.meta = meta(startedAt, (Date.now() - startedAt.getTime()) / 1000);
  const { text, markdown } = renderReport(results);
  process.stdout.write(`\n${text}\n`);
  writeOutputs(results, markdown);
  if (opts.compare !== null) {
    if (!existsSync(opts.compare)) throw new Error(`--compare: no baseline at ${opts.compare}`);
    const baseline = JSON.parse(readFileSync(opts.compare, 'utf8')) as BenchResults;
    const verdict = compareWithBaseline(results, baseline, path.relative(process.cwd(), opts.compare) || opts.compare);
    process.stdout.write(`\n${verdict.text}\n`);
    if (!verdict.ok) bail(1);
  }
}

/** Every scenario of `opts` on its servers, `opts.rounds` times (servers taking turns), the median round of each. */
async function runScenarios(broken: Map<Kind, string>): Promise<BenchResults['results']> {
  const all: BenchResults['results'] = {};
  for (const scenario of opts.scenarios) {
    const perServer: Record<string, Result> = {};
    all[scenario] = perServer;
    const rounds = new Map<Kind, Result[]>();
    /** Each server's result of each round, by round (null where that round failed), for per-round ratios. */
    const byRound = new Map<Kind, Array<Result | null>>();
    for (let round = 1; round <= opts.rounds; round++) {
      for (const kind of serversFor(scenario)) {
        const t0 = Date.now();
        const label = opts.rounds > 1 ? `${kind} #${round}` : kind;
        process.stdout.write(`  ${scenario.padEnd(9)} ${label.padEnd(9)} … `);
        const why = broken.get(kind);
        if (why !== undefined) {
          perServer[kind] = { error: `preflight failed: ${why.split('\n')[0]}` };
          process.stdout.write('skipped (preflight failed)\n');
          continue;
        }
        try {
          const r = await RUNNERS[scenario](kind);
          rounds.set(kind, [...(rounds.get(kind) ?? []), r]);
          const seen = byRound.get(kind) ?? [];
          while (seen.length < round - 1) seen.push(null);
          seen.push(r);
          byRound.set(kind, seen);
          process.stdout.write(`${summaryLine(scenario, r)}  (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
          printProfiles(r);
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          if (!rounds.has(kind)) perServer[kind] = { error: msg };
          process.stdout.write(`failed: ${msg.split('\n')[0]}\n`);
          if (opts.verbose || msg.includes('\n')) process.stdout.write(`${msg.split('\n').slice(1).join('\n')}\n`);
          killAllChildren();
        }
      }
    }
    for (const [kind, measured] of rounds) {
      perServer[kind] = medianRound(measured);
      if (opts.rounds > 1) {
        const seen = byRound.get(kind) ?? [];
        while (seen.length < opts.rounds) seen.push(null);
        perServer[kind]['perRound'] = seen.map((r) => (r === null ? null : compactRound(r)));
      }
    }
    printVariantRatios(scenario, perServer);
  }
  return all;
}

/** One round's figures without its bulky parts (profiles, per-blast rounds): what per-round ratios need. */
function compactRound(r: Result): Result {
  const out: Result = {};
  for (const [k, v] of Object.entries(r)) {
    if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) out[k] = v;
  }
  return out;
}

/** The round with the median rate (the first when there is no rate), with every round's rate beside it. */
function medianRound(measured: Result[]): Result {
  if (measured.length === 1) return measured[0]!;
  const rated = measured.filter((r) => typeof r['rate'] === 'number');
  const sorted = [...rated].sort((a, b) => (a['rate'] as number) - (b['rate'] as number));
  const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? measured[0]!;
  return { ...median, rounds: measured.map((r) => r['rate'] ?? null) };
}

/** Ratios of our variants, when they ran beside our server: the cost of enhancers, and the change against another build. */
function printVariantRatios(scenario: Scenario, perServer: Record<string, Result>): void {
  const rateOf = (kind: Kind): number | null => {
    const v = perServer[kind]?.['rate'];
    return typeof v === 'number' && v > 0 ? v : null;
  };
  const ours = rateOf('channels');
  const lines: string[] = [];
  const guarded = rateOf('channels-guarded');
  const ref = rateOf('channels-ref');
  if (ours !== null && guarded !== null) lines.push(`channels-guarded / channels = ${(guarded / ours).toFixed(3)}`);
  if (ours !== null && ref !== null) lines.push(`channels / channels-ref = ${(ours / ref).toFixed(3)}`);
  if (guarded !== null && ref !== null) lines.push(`channels-guarded / channels-ref = ${(guarded / ref).toFixed(3)}`);
  if (lines.length > 0) process.stdout.write(`  ${scenario} rate ratios: ${lines.join('; ')}\n`);
}

/** Prints the hot functions of any profile taken during a scenario (also those of cluster variants). */
function printProfiles(r: Result): void {
  const readings: Result[] = [];
  const collect = (x: unknown): void => {
    if (x !== null && typeof x === 'object' && Array.isArray((x as Result)['profile'])) readings.push(...((x as Result)['profile'] as Result[]));
  };
  collect(r);
  collect(r['oneNode']);
  collect(r['twoNodes']);
  for (const p of readings) {
    const top = p['top'] as Array<{ fn: string; selfPct: number; selfMs: number }>;
    process.stdout.write(`      profile ${p['file']} (${Math.round(p['totalMs'] as number)} ms, ${p['idlePct']}% idle); self time of the busy part:\n`);
    for (const f of top.slice(0, 10)) process.stdout.write(`        ${String(f.selfPct).padStart(5)}%  ${f.fn}\n`);
  }
}

function fmtRate(v: unknown): string {
  return typeof v === 'number' ? `${Math.round(v).toLocaleString('en-US')}/s` : 'n/a';
}

function summaryLine(scenario: Scenario, r: Result): string {
  if (typeof r['skipped'] === 'string') return `skipped: ${r['skipped']}`;
  const sys = typeof r['systemUsPerOp'] === 'number' ? ` (${(r['systemUsPerOp'] as number).toFixed(1)} in the kernel)` : '';
  const perOp = typeof r['cpuUsPerOp'] === 'number' ? `, ${(r['cpuUsPerOp'] as number).toFixed(1)} µs server CPU/op${sys}` : '';
  const others = typeof r['otherCpu'] === 'number' ? ` others ${r['otherCpu']}%` : '';
  const bound = typeof r['bound'] === 'string' ? `; bound: ${r['bound']}` : '';
  const cpu0 = (k: string): string => (Array.isArray(r[k]) ? (r[k] as number[]).map((v) => `${v}%`).join('+') : '');
  const cpu = (k: string): string => (k === 'genCpu' ? `${cpu0(k)}${others}${bound}${perOp}` : cpu0(k));
  switch (scenario) {
    case 'fanout':
      return `${fmtRate(r['rate'])} deliveries${r['complete'] ? '' : ` (INCOMPLETE ${r['deliveries']}/${r['expected']})`}, server ${cpu('serverCpu')} gen ${cpu('genCpu')}`;
    case 'reqreply':
      return `${fmtRate(r['rate'])} replies, p50 ${(r['p50'] as number | null)?.toFixed(2)} ms p99 ${(r['p99'] as number | null)?.toFixed(2)} ms, server ${cpu('serverCpu')} gen ${cpu('genCpu')}`;
    case 'memory':
      return `${((r['rssPerConn'] as number) / 1024).toFixed(1)} KiB RSS, ${((r['heapPerConn'] as number) / 1024).toFixed(1)} KiB heap per connection (${r['connections']})`;
    case 'joinrate':
      return `${fmtRate(r['rate'])} joins, server ${cpu('serverCpu')} gen ${cpu('genCpu')}${(r['failedJoins'] as number) > 0 ? `, ${r['failedJoins']} failed` : ''}`;
    case 'cluster': {
      const one = r['oneNode'] as Result;
      const two = r['twoNodes'] as Result;
      const ratio = r['ratio'] as number | null;
      const local = r['localNode'] as Result | undefined;
      const three = r['threeNodes'] as Result | undefined;
      return `local ${fmtRate(local?.['rate'])}; Redis: 1 node ${fmtRate(one['rate'])}, 2 nodes ${fmtRate(two['rate'])}${ratio !== null ? ` (${ratio.toFixed(2)}×)` : ''}, 3 nodes ${fmtRate(three?.['rate'])}`;
    }
    case 'slow':
      return `peak RSS ${((r['peakRss'] as number) / 1048576).toFixed(0)} MB (base ${((r['baseRss'] as number) / 1048576).toFixed(0)}), closed ${r['closed'] ?? '?'}/${r['clients']}${r['exceededCap'] ? `, passed the ${r['exceededCap']} MB cap` : ''}`;
  }
}

let exiting = false;
function bail(code: number): void {
  if (exiting) return;
  exiting = true;
  killAllChildren();
  process.exit(code);
}
process.on('SIGINT', () => bail(130));
process.on('SIGTERM', () => bail(143));
process.on('exit', () => killAllChildren());

main().then(
  () => bail(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    bail(1);
  },
);
