/**
 * What every bench server shares: `GET /__bench/mem` (memory after a forced
 * GC, plus counts of upgraded connections), the `READY <port>` line the
 * runner waits for, and a quick exit on SIGTERM.
 *
 * Servers run with `--expose-gc`; without it the memory figures are taken
 * without a GC and say so (`gc: false`).
 */
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Session } from 'node:inspector';
import type { Duplex } from 'node:stream';

export interface UpgradeCounts {
  open: number;
  closed: number;
  total: number;
}

const counts: UpgradeCounts = { open: 0, closed: 0, total: 0 };

function onUpgradedClose(): void {
  counts.open--;
  counts.closed++;
}

/**
 * Counts upgraded (WebSocket) connections on `server`, beside whatever else
 * handles the upgrade. Used to tell how many slow consumers a server closed.
 */
export function countUpgrades(server: Server): void {
  server.prependListener('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    counts.open++;
    counts.total++;
    socket.once('close', onUpgradedClose);
  });
}

function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return false;
  gc();
  gc();
  return true;
}

/** The JSON body of `/__bench/mem`. `?gc=0` skips the GC. */
export function memReport(withGc: boolean): Record<string, unknown> {
  const gc = withGc ? collectGarbage() : false;
  const m = process.memoryUsage();
  return {
    pid: process.pid,
    gc,
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    upgrades: { ...counts },
  };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

let profiler: Session | null = null;

/** Starts the V8 CPU profiler in this process (sampling every 250 µs). */
function profileStart(res: ServerResponse): void {
  if (profiler !== null) {
    sendJson(res, 409, { error: 'already profiling' });
    return;
  }
  const session = new Session();
  session.connect();
  profiler = session;
  session.post('Profiler.enable', () =>
    session.post('Profiler.setSamplingInterval', { interval: 250 }, () =>
      session.post('Profiler.start', (err) => sendJson(res, err ? 500 : 200, err ? { error: err.message } : { started: true })),
    ),
  );
}

/** Stops the profiler and writes the profile (Chrome .cpuprofile JSON) to `file`. */
function profileStop(res: ServerResponse, file: string): void {
  const session = profiler;
  if (session === null) {
    sendJson(res, 409, { error: 'not profiling' });
    return;
  }
  profiler = null;
  session.post('Profiler.stop', (err, result) => {
    session.disconnect();
    if (err || file === '') {
      sendJson(res, 500, { error: err?.message ?? 'no file given' });
      return;
    }
    writeFileSync(file, JSON.stringify(result.profile));
    sendJson(res, 200, { file });
  });
}

/**
 * Answers `/__bench/...`; returns false for any other URL so the caller can
 * go on (404, or the next middleware).
 *
 *   GET /__bench/mem[?gc=0]                 memory (after GC) and upgrade counts
 *   GET /__bench/profile/start              start the CPU profiler
 *   GET /__bench/profile/stop?file=PATH     stop it, write the profile to PATH
 */
export function handleBenchRequest(req: IncomingMessage, res: ServerResponse): boolean {
  const url = req.url ?? '';
  if (!url.startsWith('/__bench/')) return false;
  const parsed = new URL(url, 'http://127.0.0.1');
  switch (parsed.pathname) {
    case '/__bench/mem':
      sendJson(res, 200, memReport(parsed.searchParams.get('gc') !== '0'));
      return true;
    case '/__bench/profile/start':
      profileStart(res);
      return true;
    case '/__bench/profile/stop':
      profileStop(res, parsed.searchParams.get('file') ?? '');
      return true;
    default:
      sendJson(res, 404, { error: 'unknown bench endpoint' });
      return true;
  }
}

/** Prints `READY <port>` (the runner's cue) and makes SIGTERM/SIGINT exit at once. */
export function announce(port: number): void {
  process.stdout.write(`READY ${port}\n`);
}

export function exitOnSignals(): void {
  const bye = (): void => process.exit(0);
  process.on('SIGTERM', bye);
  process.on('SIGINT', bye);
  // Started by the runner, we hold a pipe from it on stdin: when the runner
  // goes away (even killed hard), the pipe ends and so do we.
  if (process.env['BENCH_CHILD'] === '1') {
    process.stdin.on('end', bye);
    process.stdin.on('error', bye);
    process.stdin.resume();
  }
}

/** `--name value` / `--name=value` from argv, or an environment default. */
export function arg(name: string, fallback: string): string {
  const argv = process.argv;
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}` && i + 1 < argv.length) return argv[i + 1]!;
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return fallback;
}

/**
 * Starts a Nest bench app on 127.0.0.1, port 0, with the bench hooks
 * (memory, profiling, upgrade counts) in front of its routes, and announces
 * its port; on failure prints the error under `name` and exits 1.
 */
export async function serveNestBenchApp(
  name: string,
  create: () => Promise<import('@nestjs/common').INestApplication>,
): Promise<void> {
  try {
    const app = await create();
    app.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
      if (!handleBenchRequest(req, res)) next();
    });
    const http = app.getHttpServer() as Server;
    countUpgrades(http);
    await app.listen(0, '127.0.0.1');
    announce((http.address() as import('node:net').AddressInfo).port);
  } catch (err: unknown) {
    process.stderr.write(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  }
}

/**
 * Calls `emit(i)` for i = 0 … n - 1 at `perSecond`, from a timer (the drop
 * scenario's publisher, the same in every server). n and perSecond are
 * clamped to sane bounds; returns them.
 */
export function emitSteadily(n: unknown, perSecond: unknown, emit: (i: number) => void): { n: number; perSecond: number } {
  const count = Math.min(Math.max(0, Number(n) | 0), 10_000_000);
  const rate = Math.min(Math.max(1, Number(perSecond) | 0), 1_000_000);
  const startedAt = performance.now();
  let i = 0;
  const timer = setInterval(() => {
    const due = Math.min(count, Math.floor(((performance.now() - startedAt) * rate) / 1000));
    for (; i < due; i++) emit(i);
    if (i >= count) clearInterval(timer);
  }, 5);
  return { n: count, perSecond: rate };
}
