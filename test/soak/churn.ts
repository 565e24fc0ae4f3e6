/**
 * Churn without leaks: many join/leave cycles and many connect/disconnect
 * cycles against a running soak app, each cycle ending a different way, then
 * the app's bookkeeping compared with its baseline (see `leftBehind`): no
 * connection, PubSub subscriber, Presence entry, timer, handle or listener
 * may be left behind, and the heap must be back near where it was.
 *
 * Join/leave cycles run on long-lived connections, one cycle at a time per
 * connection, and end by a leave, a crash, a `stop`, a duplicate join or a
 * leave after a presence track or an external subscription; topics are new
 * each cycle or shared by every connection. Connect/disconnect cycles end by
 * a close or a TCP reset, before or after joining, with a join still in
 * flight, or by the app (`disconnect` on the socket id); half of them have a
 * socket id (a PubSub subscription of its own).
 */
import { WebSocket } from 'ws';
import type { SoakApp } from './app-process.js';
import { leftBehind, type SoakStats } from './soak-stats.js';
import { MEMORY_TOLERANCE, mb, quietStats } from './fuzz-soak.js';

/**
 * The `ChannelsModule` options the churn's app runs with. The churn looks for
 * leaks, not for rate limits: one connection joins and leaves hundreds of
 * times a second, so the join and message rate limits are lifted (large
 * numbers rather than Infinity: the options reach the app's process as JSON).
 */
export const CHURN_MODULE_OPTIONS: Record<string, unknown> = { maxJoinsPerSecond: 1e9, maxMessagesPerSecond: 1e9 };

export interface ChurnOptions {
  readonly joinLeaveCycles: number;
  readonly connectCycles: number;
  /** Connections cycling at once. */
  readonly lanes: number;
  /** With RedisPubSub: the app's channels on Redis (PUBSUB CHANNELS), compared before and after. */
  readonly redisChannels?: () => Promise<string[]>;
  readonly progress?: (line: string) => void;
}

export interface ChurnPhase {
  cycles: number;
  wallMs: number;
  /** Cycles by how they ended. */
  endings: Record<string, number>;
  /** Cycles that did not end as they should have (a missing reply, an unexpected close), with the first few reasons. */
  failures: number;
  firstFailures: string[];
}

export interface ChurnReport {
  joinLeave: ChurnPhase;
  connect: ChurnPhase;
  baseline: SoakStats;
  after: SoakStats;
  /** The app's Redis channels before and after, when asked for. */
  redisChannels: { before: string[]; after: string[] } | null;
  leftBehind: string[];
  alive: boolean;
}

type Frame = [string | null, string | null, string, string, any];

/** Frames a connection keeps that nobody waited for yet (ws can hand over several in one go). */
const INBOX = 32;

/** A V2 connection that hands each decoded frame to whoever waits for one that matches, or keeps it for later. */
class CycleConn {
  private waiter: { match: (frame: Frame) => boolean; resolve: (frame: Frame | null) => void; timer: NodeJS.Timeout } | null = null;
  private readonly inbox: Frame[] = [];
  closeCode: number | null = null;
  private readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    // A reset or a refused upgrade: 'close' follows, and the cycle reads the outcome from there.
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const frame = JSON.parse(data.toString()) as Frame;
      const waiter = this.waiter;
      if (waiter === null || !waiter.match(frame)) {
        this.inbox.push(frame);
        if (this.inbox.length > INBOX) this.inbox.shift();
        return;
      }
      this.waiter = null;
      clearTimeout(waiter.timer);
      waiter.resolve(frame);
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code: number) => {
        this.closeCode = code;
        const waiter = this.waiter;
        this.waiter = null;
        if (waiter !== null) {
          clearTimeout(waiter.timer);
          waiter.resolve(null);
        }
        resolve(code);
      }),
    );
  }

  static open(port: number, params: Record<string, string>, timeoutMs = 10_000): Promise<CycleConn> {
    const query = new URLSearchParams({ vsn: '2.0.0', ...params });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket/websocket?${query}`, { perMessageDeflate: false });
    const conn = new CycleConn(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no connection within ${timeoutMs}ms`));
      }, timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(conn);
      });
      ws.once('close', () => {
        clearTimeout(timer);
        reject(new Error('closed before open'));
      });
    });
  }

  send(frame: Frame): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends `frame` (if given) and resolves with the first frame matching `match`, or null on close or after `timeoutMs`. */
  expect(match: (frame: Frame) => boolean, frame?: Frame, timeoutMs = 10_000): Promise<Frame | null> {
    if (frame === undefined) {
      const at = this.inbox.findIndex(match);
      if (at >= 0) return Promise.resolve(this.inbox.splice(at, 1)[0]!);
    } else this.inbox.length = 0;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, timeoutMs);
      this.waiter = { match, resolve, timer };
      if (frame !== undefined) this.send(frame);
    });
  }

  /** Resolves with the close code, or null after `timeoutMs`. */
  closedWithin(timeoutMs: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([this.closed, new Promise<null>((resolve) => (timer = setTimeout(resolve, timeoutMs, null)))]).finally(() => clearTimeout(timer));
  }
}

const isReply = (ref: string, status = 'ok') => (frame: Frame) => frame[3] === 'phx_reply' && frame[1] === ref && frame[4]?.status === status;
const isEvent = (topic: string, event: string) => (frame: Frame) => frame[2] === topic && frame[3] === event;

class Tally implements ChurnPhase {
  cycles = 0;
  wallMs = 0;
  endings: Record<string, number> = {};
  failures = 0;
  firstFailures: string[] = [];

  ok(ending: string): void {
    this.cycles++;
    this.endings[ending] = (this.endings[ending] ?? 0) + 1;
  }

  fail(what: string): void {
    this.cycles++;
    this.failures++;
    if (this.firstFailures.length < 5) this.firstFailures.push(what);
  }
}

const JOIN_LEAVE_ENDINGS = ['leave', 'leave', 'leave', 'crash', 'stop', 'duplicate-join', 'presence-then-leave', 'external-then-leave', 'leave', 'leave'] as const;

/** One join/leave cycle on `conn`, ended the `ending` way; true when every expected frame came. */
async function joinLeaveCycle(conn: CycleConn, topic: string, ending: (typeof JOIN_LEAVE_ENDINGS)[number], n: number): Promise<boolean> {
  const jr = `j${n}`;
  const payload = ending === 'presence-then-leave' ? { track: true } : {};
  if ((await conn.expect(isReply(jr), [jr, jr, topic, 'phx_join', payload])) === null) return false;
  switch (ending) {
    case 'crash':
      return (await conn.expect(isEvent(topic, 'phx_error'), [jr, `c${n}`, topic, 'crash', {}])) !== null;
    case 'stop':
      return (await conn.expect(isEvent(topic, 'phx_close'), [jr, `s${n}`, topic, 'stop', {}])) !== null;
    case 'duplicate-join': {
      const again = `d${n}`;
      if ((await conn.expect(isReply(again), [again, again, topic, 'phx_join', {}])) === null) return false;
      return (await conn.expect(isReply(`l${n}`), [again, `l${n}`, topic, 'phx_leave', {}])) !== null;
    }
    case 'presence-then-leave':
      if ((await conn.expect(isEvent(topic, 'presence_state'))) === null) return false;
      break;
    case 'external-then-leave':
      if ((await conn.expect(isReply(`x${n}`), [jr, `x${n}`, topic, 'subscribe', { n }])) === null) return false;
      break;
    default:
      break;
  }
  return (await conn.expect(isReply(`l${n}`), [jr, `l${n}`, topic, 'phx_leave', {}])) !== null;
}

async function joinLeavePhase(port: number, cycles: number, lanes: number, tag: string, say: (line: string) => void): Promise<Tally> {
  const tally = new Tally();
  const started = Date.now();
  let next = 0;
  const lane = async (index: number): Promise<void> => {
    let conn = await CycleConn.open(port, { user: `churn-${index}` });
    while (next < cycles) {
      const n = next++;
      const ending = JOIN_LEAVE_ENDINGS[n % JOIN_LEAVE_ENDINGS.length]!;
      // Half the topics are new each cycle, half are shared by every connection.
      const topic = n % 2 === 0 ? `fuzz:churn-${tag}-${n}` : `fuzz:shared-${tag}-${n % 7}`;
      if (await joinLeaveCycle(conn, topic, ending, n)) tally.ok(ending);
      else {
        tally.fail(`cycle ${n} (${ending} on ${topic}) got no answer${conn.closeCode !== null ? `; closed ${conn.closeCode}` : ''}`);
        if (conn.closeCode !== null) conn = await CycleConn.open(port, { user: `churn-${index}` });
      }
      if (n > 0 && n % 10_000 === 0) say(`  ${n} join/leave cycles`);
    }
    conn.ws.close(1000);
    await conn.closedWithin(5000);
  };
  await Promise.all(Array.from({ length: lanes }, (_, index) => lane(index)));
  tally.wallMs = Date.now() - started;
  return tally;
}

const CONNECT_ENDINGS = ['close', 'reset', 'join-then-close', 'join-then-reset', 'reset-during-join', 'disconnected-by-id'] as const;

async function connectCycle(port: number, n: number, tag: string, tally: Tally): Promise<void> {
  const ending = CONNECT_ENDINGS[n % CONNECT_ENDINGS.length]!;
  const withId = ending === 'disconnected-by-id' || n % 2 === 0;
  const params: Record<string, string> = { user: `cc-${n}` };
  if (withId) params.id = `churn-${tag}-${n}`;
  let conn: CycleConn;
  try {
    conn = await CycleConn.open(port, params);
  } catch (error) {
    tally.fail(`connect ${n}: ${(error as Error).message}`);
    return;
  }
  const topics = [`fuzz:conn-${tag}-${n}`, `fuzz:shared-${tag}-${n % 7}`];
  const joinAll = async (): Promise<boolean> => {
    for (const [i, topic] of topics.entries()) {
      if ((await conn.expect(isReply(`${i}`), [`${i}`, `${i}`, topic, 'phx_join', {}])) === null) return false;
    }
    return true;
  };
  let ok = true;
  switch (ending) {
    case 'close':
      conn.ws.close(1000);
      break;
    case 'reset':
      conn.ws.terminate();
      break;
    case 'join-then-close':
      ok = await joinAll();
      conn.ws.close(1000);
      break;
    case 'join-then-reset':
      ok = await joinAll();
      conn.ws.terminate();
      break;
    case 'reset-during-join':
      conn.send(['0', '0', topics[0]!, 'phx_join', { ms: 5 }]);
      conn.ws.terminate();
      break;
    case 'disconnected-by-id': {
      ok = await joinAll();
      // The app closes every connection with this socket id (P-54): 1001.
      conn.send(['0', 'x', topics[0]!, 'disconnect_id', { id: params.id }]);
      ok = ok && (await conn.closedWithin(10_000)) === 1001;
      break;
    }
  }
  const code = await conn.closedWithin(10_000);
  if (code === null) {
    // Never closed (the app's disconnect did not come): cut it, so a failed cycle leaves nothing open.
    conn.ws.terminate();
    await conn.closedWithin(5000);
  }
  if (!ok || code === null) tally.fail(`connect cycle ${n} (${ending}): ${ok ? 'never closed' : `no answer; closed ${code}`}`);
  else tally.ok(ending);
}

async function connectPhase(port: number, cycles: number, lanes: number, tag: string, say: (line: string) => void): Promise<Tally> {
  const tally = new Tally();
  const started = Date.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < cycles) {
      const n = next++;
      await connectCycle(port, n, tag, tally);
      if (n > 0 && n % 5000 === 0) say(`  ${n} connect/disconnect cycles`);
    }
  };
  await Promise.all(Array.from({ length: lanes }, () => lane()));
  tally.wallMs = Date.now() - started;
  return tally;
}

/** The counts to warm up with before the baseline: a tenth of each, at least a few hundred. */
function warmupCounts(options: ChurnOptions): { joinLeave: number; connect: number } {
  return {
    joinLeave: Math.min(options.joinLeaveCycles, Math.max(500, Math.round(options.joinLeaveCycles / 10))),
    connect: Math.min(options.connectCycles, Math.max(200, Math.round(options.connectCycles / 10))),
  };
}

export async function runChurn(app: SoakApp, options: ChurnOptions): Promise<ChurnReport> {
  const say = options.progress ?? (() => undefined);
  const warm = warmupCounts(options);
  say(`warm-up: ${warm.joinLeave} join/leave and ${warm.connect} connect/disconnect cycles`);
  await joinLeavePhase(app.port, warm.joinLeave, options.lanes, 'warm', say);
  await connectPhase(app.port, warm.connect, options.lanes, 'warm', say);
  const baseline = await quietStats(app);
  const channelsBefore = (await options.redisChannels?.()) ?? null;

  say(`${options.joinLeaveCycles} join/leave cycles on ${options.lanes} connections`);
  const joinLeave = await joinLeavePhase(app.port, options.joinLeaveCycles, options.lanes, 'main', say);
  say(`${options.connectCycles} connect/disconnect cycles, ${options.lanes} at once`);
  const connect = await connectPhase(app.port, options.connectCycles, options.lanes, 'main', say);

  const after = await quietStats(app, baseline);
  const lines = leftBehind(baseline, after);
  let redisChannels: ChurnReport['redisChannels'] = null;
  if (channelsBefore !== null && options.redisChannels !== undefined) {
    redisChannels = { before: channelsBefore.sort(), after: (await options.redisChannels()).sort() };
    const extra = redisChannels.after.filter((channel) => !redisChannels!.before.includes(channel));
    if (extra.length > 0) lines.push(`${extra.length} Redis channels still subscribed (e.g. ${extra.slice(0, 5).join(', ')})`);
  }
  return { joinLeave, connect, baseline, after, redisChannels, leftBehind: lines, alive: app.isAlive };
}

/** Every check of the churn, as the list of those that failed (empty when all passed). */
export function checkChurnReport(report: ChurnReport, options: ChurnOptions): string[] {
  const failed: string[] = [];
  const check = (ok: boolean, what: string): void => {
    if (!ok) failed.push(what);
  };
  const { joinLeave, connect, baseline, after } = report;
  check(report.alive && after.problemCount === 0, `the app is alive with no unhandled rejection (${after.problems.join(' | ')})`);
  check(joinLeave.cycles === options.joinLeaveCycles && joinLeave.failures === 0, `${options.joinLeaveCycles} join/leave cycles, none failed (${joinLeave.failures}: ${joinLeave.firstFailures.join('; ')})`);
  check(Object.keys(joinLeave.endings).length === new Set(JOIN_LEAVE_ENDINGS).size, `every join/leave ending happened (${Object.keys(joinLeave.endings).join(', ')})`);
  check(connect.cycles === options.connectCycles && connect.failures === 0, `${options.connectCycles} connect/disconnect cycles, none failed (${connect.failures}: ${connect.firstFailures.join('; ')})`);
  check(Object.keys(connect.endings).length === CONNECT_ENDINGS.length, `every connect ending happened (${Object.keys(connect.endings).join(', ')})`);
  check(report.leftBehind.length === 0, `nothing left behind (${report.leftBehind.join('; ')})`);
  check(after.subscriptions.subscribers === baseline.subscriptions.subscribers, `PubSub subscribers back to ${baseline.subscriptions.subscribers} (${after.subscriptions.subscribers})`);
  check(after.memory.heapUsed <= baseline.memory.heapUsed * (1 + MEMORY_TOLERANCE), `heap within 10% of its baseline (${mb(baseline.memory.heapUsed)} → ${mb(after.memory.heapUsed)})`);
  return failed;
}

export function describeChurnReport(report: ChurnReport): string[] {
  const phase = (name: string, p: ChurnPhase): string =>
    `${name} ${p.cycles} cycles in ${(p.wallMs / 1000).toFixed(1)} s (${Object.entries(p.endings).map(([how, n]) => `${how} ${n}`).join(', ')}); failures ${p.failures}${p.firstFailures.length > 0 ? `: ${p.firstFailures.join('; ')}` : ''}`;
  const { baseline, after } = report;
  const pct = (a: number, b: number): string => `${(((a - b) / b) * 100).toFixed(1)}%`;
  return [
    phase('join/leave        ', report.joinLeave),
    phase('connect/disconnect', report.connect),
    `app alive           ${report.alive ? 'yes' : 'NO'}; unhandled rejections ${after.problemCount}`,
    `left behind         ${report.leftBehind.length === 0 ? 'nothing' : report.leftBehind.join('; ')}`,
    `subscribers         ${baseline.subscriptions.subscribers} before, ${after.subscriptions.subscribers} after; presence entries ${baseline.presence.own} before, ${after.presence.own} after`,
    `timers, resources  live timers ${baseline.timers} before, ${after.timers} after; active resources before ${JSON.stringify(baseline.resources)}, after ${JSON.stringify(after.resources)}`,
    ...(report.redisChannels !== null ? [`Redis channels     ${report.redisChannels.before.length} before, ${report.redisChannels.after.length} after`] : []),
    `heap used           ${(baseline.memory.heapUsed / 1048576).toFixed(1)} MB before, ${(after.memory.heapUsed / 1048576).toFixed(1)} MB after (${pct(after.memory.heapUsed, baseline.memory.heapUsed)}); RSS ${(baseline.memory.rss / 1048576).toFixed(1)} → ${(after.memory.rss / 1048576).toFixed(1)} MB`,
  ];
}
