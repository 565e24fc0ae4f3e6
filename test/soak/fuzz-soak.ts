/**
 * The fuzz soak: hostile clients send generated frames (fuzz-frames.ts) over
 * many connections at once to a running soak app, while well-behaved
 * `phoenix` clients chat beside them; then the figures that say whether the
 * app came through: alive, no unhandled rejection or uncaught exception,
 * every chat message delivered in order, the prototypes untouched, nothing
 * left behind, memory back to its baseline.
 *
 * Phases: a warm-up (a little of everything, so code, caches and pools the
 * app keeps for its whole life exist before the baseline), the baseline
 * (after a forced GC, with no client connected), the soak, the figures
 * after (again with no client and after a forced GC); then slow consumers:
 * clients that stop reading while asking for 40 MB of replies, which the
 * app must cut (maxBufferedBytes) while two chat clients carry on, and the
 * figures once more. RSS is held to its baseline after the soak; after the
 * slow consumers only the heap is, because the allocator keeps the pages
 * of their freed backlogs (docs/soak.md).
 *
 * Pacing: every hostile connection sends its frames in batches, each
 * followed by a heartbeat whose reply it waits for, so the generator never
 * piles up more than a batch per connection in the app. Frames are counted
 * when handed to an open socket.
 */
import { Socket as PhoenixSocket, type Channel, type SocketConnectOption } from 'phoenix';
import { WebSocket } from 'ws';
import { outcome, sleep } from '../support/phoenix-helpers.js';
import { v1Codec } from '../support/test-app.js';
import type { SoakApp } from './app-process.js';
import { limitSession, SessionSource, type FuzzFrame, type FuzzSession } from './fuzz-frames.js';
import { leftBehind, type SoakStats } from './soak-stats.js';

export interface FuzzSoakOptions {
  /** Hostile frames to send in the soak proper (the warm-up sends its own on top). */
  readonly frames: number;
  readonly warmupFrames: number;
  /** Hostile connections at once. */
  readonly lanes: number;
  readonly chatClients: number;
  readonly chatTopics: number;
  readonly topicsPerClient: number;
  /** Pause between two messages of one chat client. */
  readonly chatIntervalMs: number;
  /** fast-check seed; the same seed generates the same sessions. */
  readonly seed: number;
  /** Connections a session may leave open until the end of the soak (more are closed). */
  readonly maxAbandoned: number;
  readonly progress?: (line: string) => void;
}

export interface HostileFigures {
  framesSent: number;
  bytesSent: number;
  sessions: number;
  /** Upgrades the app refused (bad vsn, refused or throwing connect). */
  upgradesRefused: number;
  /** Close codes the app sent, with counts. */
  closes: Record<string, number>;
  /** Batches whose heartbeat got no reply in time (the connection was then cut). */
  barrierTimeouts: number;
  /** Sessions that went for a limit (flood, join-storm, no-read), by mode. */
  limitSessions: Record<string, number>;
}

export interface ChatFigures {
  clients: number;
  sent: number;
  /** Deliveries the chat clients should have had: every message to every member of its topic. */
  expected: number;
  delivered: number;
  lost: number;
  duplicates: number;
  /** (receiver, topic, sender) triples whose messages came out of order. */
  outOfOrder: number;
  /** Pushes answered with anything but ok, or not answered. */
  failedPushes: number;
  /** Times a chat client's connection closed or errored. */
  disconnects: number;
}

export interface FuzzSoakReport {
  seed: number;
  hostile: HostileFigures;
  chat: ChatFigures;
  baseline: SoakStats;
  after: SoakStats;
  /**
   * Figures after the same hostile load once more, taken only when RSS after
   * the soak was above the tolerance (with the heap in it): growth that stops
   * is the allocator's plateau, growth that goes on is a leak.
   */
  repeat: SoakStats | null;
  /** Highest RSS sampled during the soak (without forcing a GC). */
  peakRss: number;
  /** The slow-consumer phase, after the soak's figures. */
  slow: {
    sessions: number;
    /** Of them, those the app cut. */
    cut: number;
    chat: ChatFigures;
    after: SoakStats;
    leftBehind: string[];
  };
  /** What the leak check found left behind (see `leftBehind`); empty when nothing. */
  leftBehind: string[];
  wallMs: number;
  /** CPU seconds of this process (the generator and the chat clients) and of the app, during the soak. */
  generatorCpuS: number;
  appCpuS: number;
  alive: boolean;
}

const OPEN = 1;
const BATCH = 8;

/** What `promise` resolves to, or `fallback` after `ms`; the timer is cleared either way. */
function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(resolve, ms, fallback);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// ── Hostile clients ────────────────────────────────────────────────────────

class Hostile {
  readonly figures: HostileFigures = { framesSent: 0, bytesSent: 0, sessions: 0, upgradesRefused: 0, closes: {}, barrierTimeouts: 0, limitSessions: {} };
  private readonly abandoned = new Set<WebSocket>();
  private heartbeats = 0;
  private stopped = false;

  constructor(
    private readonly port: number,
    private readonly source: SessionSource,
    private readonly maxAbandoned: number,
  ) {}

  /** Runs `lanes` connections at once until `frames` more frames are sent. */
  async run(frames: number, lanes: number): Promise<void> {
    const target = this.figures.framesSent + frames;
    this.stopped = false;
    const lane = async (index: number): Promise<void> => {
      while (!this.stopped && this.figures.framesSent < target) await this.session(this.source.next(), `fz-${index}`);
    };
    await Promise.all(Array.from({ length: lanes }, (_, index) => lane(index)));
  }

  /** Runs `sessions` at once, each on its own connection. */
  async runSessions(sessions: readonly FuzzSession[]): Promise<void> {
    await Promise.all(sessions.map((session, index) => this.session(session, `fz-once-${index}`)));
  }

  /** Cuts every connection left open. */
  closeAll(): void {
    this.stopped = true;
    for (const ws of this.abandoned) {
      // Our own cut: not a close code the app chose.
      ws.removeAllListeners('close');
      ws.terminate();
    }
    this.abandoned.clear();
  }

  private async session(session: FuzzSession, user: string): Promise<void> {
    this.figures.sessions++;
    const query = new URLSearchParams(session.params);
    if (session.vsn !== null) query.set('vsn', session.vsn);
    query.set('user', user);
    const ws = new WebSocket(`ws://127.0.0.1:${this.port}/socket/websocket?${query}`, { perMessageDeflate: false });
    let marker: string | null = null;
    let wake: (() => void) | null = null;
    let endedByUs = false;
    let opened = false;
    ws.on('error', (error: Error) => {
      if (/Unexpected server response/.test(error.message)) this.figures.upgradesRefused++;
    });
    ws.on('message', (data: Buffer) => {
      if (marker !== null && data.includes(marker)) {
        marker = null;
        wake?.();
      }
    });
    const closed = new Promise<void>((resolve) =>
      ws.once('close', (code: number) => {
        if (opened && !endedByUs) this.figures.closes[code] = (this.figures.closes[code] ?? 0) + 1;
        this.abandoned.delete(ws);
        wake?.();
        resolve();
      }),
    );
    opened = await within(Promise.race([new Promise<boolean>((resolve) => ws.once('open', () => resolve(true))), closed.then(() => false)]), 5000, false);
    if (!opened) {
      endedByUs = true;
      ws.terminate();
      return;
    }
    if (session.mode !== 'paced') {
      await this.limitSession(ws, session, closed);
      endedByUs = true;
      ws.terminate();
      return;
    }
    const v1 = session.vsn === null || session.vsn.startsWith('1.');
    for (let at = 0; at < session.frames.length && ws.readyState === OPEN; at += BATCH) {
      for (const frame of session.frames.slice(at, at + BATCH)) {
        if (ws.readyState !== OPEN) break;
        this.send(ws, frame);
      }
      if (ws.readyState !== OPEN) break;
      // The batch's barrier: a heartbeat, answered once everything before it was read.
      const ref = `hb-${++this.heartbeats}`;
      marker = `"${ref}"`;
      const answered = new Promise<void>((resolve) => (wake = resolve));
      ws.send(v1 ? `{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"${ref}"}` : `[null,"${ref}","phoenix","heartbeat",{}]`);
      const ok = await within(answered.then(() => true), 15_000, false);
      wake = null;
      if (!ok && ws.readyState === OPEN) {
        this.figures.barrierTimeouts++;
        endedByUs = true;
        ws.terminate();
      }
    }
    if (ws.readyState !== OPEN) return;
    endedByUs = true;
    if (session.end === 'abandon' && this.abandoned.size < this.maxAbandoned) {
      this.abandoned.add(ws);
      endedByUs = false;
    } else if (session.end === 'close') ws.close(1000);
    else ws.terminate();
  }

  /**
   * Sends every frame at once. `no-read` stops reading first and waits for
   * the app to cut it as a slow consumer; a flood waits for its close
   * (1008); a join storm, which the app answers with error replies and keeps
   * open, sends a heartbeat and gives the app 2 s.
   */
  private async limitSession(ws: WebSocket, session: FuzzSession, closed: Promise<void>): Promise<void> {
    this.figures.limitSessions[session.mode] = (this.figures.limitSessions[session.mode] ?? 0) + 1;
    const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    if (session.mode === 'no-read') socket.pause();
    for (const frame of session.frames) {
      if (ws.readyState !== OPEN) break;
      this.send(ws, frame);
    }
    if (session.mode === 'no-read') {
      // Give the app time to see its backlog pass the limit, then read again: the close is behind the backlog.
      await within(closed, 2000, undefined);
      socket.resume();
    }
    if (ws.readyState !== OPEN) return;
    if (session.mode === 'join-storm') ws.send(`[null,"hb-storm","phoenix","heartbeat",{}]`);
    await within(closed, session.mode === 'join-storm' ? 2000 : 10_000, undefined);
  }

  private send(ws: WebSocket, frame: FuzzFrame): void {
    if (frame.kind === 'text') ws.send(frame.data);
    else ws.send(frame.data, { binary: frame.kind === 'binary' });
    this.figures.framesSent++;
    this.figures.bytesSent += typeof frame.data === 'string' ? Buffer.byteLength(frame.data) : frame.data.length;
  }
}

// ── Well-behaved clients ───────────────────────────────────────────────────

class ChatClient {
  readonly socket: PhoenixSocket;
  readonly channels = new Map<string, Channel>();
  /** Messages sent per topic (each got an ok reply, or counts in `failedPushes`). */
  readonly sent = new Map<string, number>();
  /** Seqs received, per `topic|sender`, in arrival order. */
  readonly received = new Map<string, number[]>();
  failedPushes = 0;
  disconnects = 0;
  private next = 0;

  constructor(
    port: number,
    readonly user: string,
    vsn: '1.0.0' | '2.0.0',
  ) {
    this.socket = new PhoenixSocket(`ws://127.0.0.1:${port}/socket`, {
      transport: WebSocket as unknown as SocketConnectOption['transport'],
      params: { user },
      vsn,
      timeout: 15_000,
      reconnectAfterMs: () => 500,
      rejoinAfterMs: () => 500,
      ...(vsn === '1.0.0' ? v1Codec : {}),
    } as Partial<SocketConnectOption>);
    this.socket.onClose(() => {
      this.disconnects++;
    });
    this.socket.onError(() => {
      this.disconnects++;
    });
    this.socket.connect();
  }

  async join(topics: readonly string[]): Promise<void> {
    await Promise.all(
      topics.map(async (topic) => {
        const channel = this.socket.channel(topic, {});
        channel.on('msg', (payload: { from?: unknown; seq?: unknown }) => {
          if (typeof payload?.from !== 'string' || !payload.from.startsWith('wb-') || typeof payload.seq !== 'number') return;
          const key = `${topic}|${payload.from}`;
          let seqs = this.received.get(key);
          if (seqs === undefined) this.received.set(key, (seqs = []));
          seqs.push(payload.seq);
        });
        const { status, response } = await outcome(channel.join(), 15_000, `${this.user} joining ${topic}`);
        if (status !== 'ok') throw new Error(`${this.user} could not join ${topic}: ${status} ${JSON.stringify(response)}`);
        this.channels.set(topic, channel);
        this.sent.set(topic, 0);
      }),
    );
  }

  /** Sends one message to its next topic and waits for the reply. */
  async chatOnce(): Promise<void> {
    const topics = [...this.channels.keys()];
    const topic = topics[this.next++ % topics.length]!;
    const seq = this.sent.get(topic)!;
    this.sent.set(topic, seq + 1);
    try {
      const { status } = await outcome(this.channels.get(topic)!.push('msg', { seq, body: `${this.user} says ${seq}` }, 15_000), 16_000, `${this.user} msg ${seq} on ${topic}`);
      if (status !== 'ok') this.failedPushes++;
    } catch {
      // No reply in time: a failed push, which the checks count.
      this.failedPushes++;
    }
  }

  disconnect(): Promise<void> {
    return new Promise((resolve) => this.socket.disconnect(() => resolve(), 1000, 'soak over'));
  }
}

class Chat {
  readonly clients: ChatClient[] = [];
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly port: number,
    private readonly options: FuzzSoakOptions,
    private readonly topics: readonly string[],
  ) {}

  async start(): Promise<void> {
    const { chatClients, topicsPerClient } = this.options;
    for (let i = 0; i < chatClients; i++) this.clients.push(new ChatClient(this.port, `wb-${i}`, i % 3 === 2 ? '1.0.0' : '2.0.0'));
    await Promise.all(
      this.clients.map((client, i) => client.join(Array.from({ length: Math.min(topicsPerClient, this.topics.length) }, (_, k) => this.topics[(i + k) % this.topics.length]!))),
    );
    this.stopped = false;
    this.running = Promise.all(
      this.clients.map(async (client) => {
        while (!this.stopped) {
          await client.chatOnce();
          await sleep(this.options.chatIntervalMs);
        }
      }),
    ).then(() => undefined);
  }

  /** Stops sending, waits (bounded) for every delivery still due, then counts. */
  async stop(): Promise<ChatFigures> {
    this.stopped = true;
    await this.running;
    const deadline = Date.now() + 20_000;
    while (this.figures().delivered < this.figures().expected && Date.now() < deadline) await sleep(50);
    const figures = this.figures();
    await Promise.all(this.clients.map((client) => client.disconnect()));
    return figures;
  }

  figures(): ChatFigures {
    const figures: ChatFigures = { clients: this.clients.length, sent: 0, expected: 0, delivered: 0, lost: 0, duplicates: 0, outOfOrder: 0, failedPushes: 0, disconnects: 0 };
    for (const sender of this.clients) {
      for (const count of sender.sent.values()) figures.sent += count;
      figures.failedPushes += sender.failedPushes;
      figures.disconnects += sender.disconnects;
    }
    for (const receiver of this.clients) {
      for (const topic of receiver.channels.keys()) {
        for (const sender of this.clients) {
          const want = sender.sent.get(topic);
          if (want === undefined) continue;
          const seqs = receiver.received.get(`${topic}|${sender.user}`) ?? [];
          const distinct = new Set(seqs.filter((seq) => seq >= 0 && seq < want));
          figures.expected += want;
          figures.delivered += distinct.size;
          figures.lost += want - distinct.size;
          figures.duplicates += seqs.length - new Set(seqs).size;
          if (seqs.some((seq, i) => i > 0 && seq <= seqs[i - 1]!)) figures.outOfOrder++;
        }
      }
    }
    return figures;
  }
}

// ── The run ────────────────────────────────────────────────────────────────

/**
 * The app's figures once it is quiet, after two forced full GCs. Quiet: no
 * connection open and, given a baseline, nothing left behind compared with
 * it; without one, the same counts twice in a row. Connections that just
 * closed still end channels and send UNSUBSCRIBEs, which take a moment; what
 * is still there after `timeoutMs` is reported as left behind.
 */
export async function quietStats(app: SoakApp, baseline?: SoakStats, timeoutMs = 20_000): Promise<SoakStats> {
  const deadline = Date.now() + timeoutMs;
  let previous: SoakStats | null = null;
  for (;;) {
    const stats = await app.stats(false);
    const quiet =
      stats.connections === 0 &&
      (baseline !== undefined ? leftBehind(baseline, stats).length === 0 : previous !== null && leftBehind(previous, stats).length === 0 && leftBehind(stats, previous).length === 0);
    if (quiet || Date.now() > deadline) {
      await app.stats(true);
      const settled = await app.stats(true);
      // The reading after GC must be quiet too: a periodic task may have been running just then (the
      // Redis health check's PINGs arm ioredis's reply timers, one per connection, for a round trip).
      if (baseline === undefined || leftBehind(baseline, settled).length === 0 || Date.now() > deadline) return settled;
    }
    previous = stats;
    await sleep(100);
  }
}

/**
 * `quietStats`, then, while RSS is still above the baseline's tolerance,
 * up to `attempts` more idle seconds with a GC each: freed pages go back to
 * the system a little after a burst (V8's memory reducer, malloc's trim), and
 * on a loaded machine later than on an idle one. Bounded: the last reading is
 * what the report judges.
 */
export async function settledStats(app: SoakApp, baseline: SoakStats, attempts = 10): Promise<SoakStats> {
  let stats = await quietStats(app, baseline);
  for (let i = 0; i < attempts && privateRss(stats) > privateRss(baseline) * (1 + MEMORY_TOLERANCE); i++) {
    await sleep(1000);
    stats = await app.stats(true);
  }
  return stats;
}

function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

export async function runFuzzSoak(app: SoakApp, options: FuzzSoakOptions): Promise<FuzzSoakReport> {
  const say = options.progress ?? (() => undefined);
  const topics = Array.from({ length: options.chatTopics }, (_, k) => `chat:soak-${process.pid}-${k}`);
  const hostile = new Hostile(app.port, new SessionSource(options.seed, topics), options.maxAbandoned);

  // Warm-up: a little of everything, then nobody connected.
  say(`warm-up: ${options.warmupFrames} frames and one session per limit, seed ${options.seed}`);
  const warmChat = new Chat(app.port, { ...options, chatClients: Math.min(2, options.chatClients) }, topics);
  await warmChat.start();
  await hostile.runSessions([limitSession('flood', 'fuzz:a'), limitSession('join-storm', 'fuzz:b')]);
  await hostile.run(options.warmupFrames, options.lanes);
  hostile.closeAll();
  await warmChat.stop();
  let baseline = await quietStats(app);
  // More rounds of hostile frames until the process's own memory after GC has not grown (by half the
  // tolerance) for two rounds running, WARMUP_ROUNDS in all at most: the baseline is the steady state of
  // the app under this load (V8 keeps the heap it grew to for the worst burst so far), not a process
  // that has not met such a burst yet (one round sometimes leaves it 30% short).
  let steadyRounds = 0;
  for (let round = 1; round < WARMUP_ROUNDS && steadyRounds < 2; round++) {
    await hostile.run(options.warmupFrames, options.lanes);
    hostile.closeAll();
    const stats = await quietStats(app);
    steadyRounds = privateRss(stats) <= privateRss(baseline) * (1 + MEMORY_TOLERANCE / 2) ? steadyRounds + 1 : 0;
    baseline = stats;
  }
  const warmupFigures = { ...hostile.figures, closes: { ...hostile.figures.closes }, limitSessions: { ...hostile.figures.limitSessions } };
  say(`baseline: rss ${mb(baseline.memory.rss)} (${mb(privateRss(baseline))} without mapped files), heap ${mb(baseline.memory.heapUsed)} of ${mb(baseline.memory.heapTotal)}`);

  // The soak.
  const cpu0 = cpuSeconds();
  const started = Date.now();
  const chat = new Chat(app.port, options, topics);
  await chat.start();
  let peakRss = 0;
  const sampler = setInterval(() => {
    app.stats(false).then(
      (stats) => {
        peakRss = Math.max(peakRss, stats.memory.rss);
        say(`  ${hostile.figures.framesSent - warmupFigures.framesSent} frames, rss ${mb(stats.memory.rss)}, ${stats.connections} connections`);
      },
      () => undefined,
    );
  }, 5000);
  try {
    await hostile.run(options.frames, options.lanes);
  } finally {
    clearInterval(sampler);
    hostile.closeAll();
  }
  const chatFigures = await chat.stop();
  const wallMs = Date.now() - started;
  const generatorCpuS = cpuSeconds() - cpu0;

  const after = await settledStats(app, baseline);
  const figures = { ...hostile.figures, closes: { ...hostile.figures.closes }, limitSessions: { ...hostile.figures.limitSessions } };

  // RSS above the tolerance with the heap where it was: malloc's arenas grow to the largest burst they
  // have met (the measured run is five times the warm-up's) and keep that memory. Such growth stops at a
  // plateau; a leak does not. So the same load once more, and the check then asks that this second pass
  // grew RSS by no more than the tolerance.
  let repeat: SoakStats | null = null;
  if (privateRss(after) > privateRss(baseline) * (1 + MEMORY_TOLERANCE)) {
    say(`rss ${mb(privateRss(baseline))} → ${mb(privateRss(after))} without mapped files: the same load again, to tell a plateau from a leak`);
    try {
      await hostile.run(options.frames, options.lanes);
    } finally {
      hostile.closeAll();
    }
    repeat = await settledStats(app, after);
  }

  // Slow consumers, two at a time, beside two chat clients.
  say('slow consumers: 4 clients that stop reading');
  const cutBefore = hostile.figures.closes['1006'] ?? 0;
  const slowChat = new Chat(app.port, { ...options, chatClients: 2 }, topics);
  await slowChat.start();
  for (let round = 0; round < 2; round++) await hostile.runSessions([limitSession('no-read', 'fuzz:a'), limitSession('no-read', 'fuzz:b')]);
  const slowChatFigures = await slowChat.stop();
  const afterSlow = await settledStats(app, baseline);

  const closes: Record<string, number> = {};
  for (const [code, count] of Object.entries(figures.closes)) {
    const net = count - (warmupFigures.closes[code] ?? 0);
    if (net > 0) closes[code] = net;
  }
  return {
    seed: options.seed,
    hostile: {
      framesSent: figures.framesSent - warmupFigures.framesSent,
      bytesSent: figures.bytesSent - warmupFigures.bytesSent,
      sessions: figures.sessions - warmupFigures.sessions,
      upgradesRefused: figures.upgradesRefused - warmupFigures.upgradesRefused,
      closes,
      barrierTimeouts: figures.barrierTimeouts - warmupFigures.barrierTimeouts,
      limitSessions: Object.fromEntries(Object.entries(figures.limitSessions).map(([mode, n]) => [mode, n - (warmupFigures.limitSessions[mode] ?? 0)])),
    },
    chat: chatFigures,
    baseline,
    after,
    repeat,
    peakRss: Math.max(peakRss, after.memory.rss),
    leftBehind: leftBehind(baseline, after),
    slow: { sessions: 4, cut: (hostile.figures.closes['1006'] ?? 0) - cutBefore, chat: slowChatFigures, after: afterSlow, leftBehind: leftBehind(baseline, afterSlow) },
    wallMs,
    generatorCpuS,
    appCpuS: (after.cpuUs - baseline.cpuUs) / 1e6,
    alive: app.isAlive,
  };
}

/**
 * RSS without the pages of mapped files (the node binary's and shared
 * libraries' code, read in from disk the first time a code path runs, shared
 * and never a leak): the memory the process itself holds, what the soak
 * judges. The full RSS is reported beside it.
 */
export function privateRss(stats: SoakStats): number {
  return stats.rssBy === null ? stats.memory.rss : stats.memory.rss - stats.rssBy.files;
}

/** Warm-up rounds at most before the baseline is taken (see runFuzzSoak). */
const WARMUP_ROUNDS = 5;

/** Within 10% of the baseline, as the soak requires of RSS and heap after GC. */
export const MEMORY_TOLERANCE = 0.1;

/**
 * Every check the soak makes, as the list of those that failed (empty when
 * all passed): alive, no unhandled rejection or uncaught exception, the
 * prototypes untouched, every chat message delivered once and in order,
 * nothing left behind, RSS and heap back within 10%, and enough frames of
 * each kind of trouble actually sent.
 */
export function checkFuzzReport(report: FuzzSoakReport, framesWanted: number): string[] {
  const failed: string[] = [];
  const { hostile, chat, baseline, after } = report;
  const check = (ok: boolean, what: string): void => {
    if (!ok) failed.push(what);
  };
  check(report.alive, 'the app process is alive');
  check(after.problemCount === 0, `no unhandled rejection or uncaught exception (got ${after.problemCount}: ${after.problems.join(' | ')})`);
  check(after.prototypes.length === 0, `Object/Array/Function.prototype untouched (${after.prototypes.join(', ')})`);
  check(hostile.framesSent >= framesWanted, `at least ${framesWanted} frames sent (${hostile.framesSent})`);
  check((hostile.closes['1011'] ?? 0) > 0 && (hostile.closes['1007'] ?? 0) > 0 && hostile.upgradesRefused > 0, `malformed frames, invalid UTF-8 and refused upgrades all happened (${JSON.stringify(hostile.closes)}, ${hostile.upgradesRefused} refused)`);
  check(chat.sent > 0 && chat.expected > 0, 'the well-behaved clients chatted');
  check(
    chat.delivered === chat.expected && chat.lost === 0 && chat.duplicates === 0 && chat.outOfOrder === 0 && chat.failedPushes === 0 && chat.disconnects === 0,
    `every chat message delivered once, in order, with no failed push or disconnect (${JSON.stringify(chat)})`,
  );
  check(report.leftBehind.length === 0, `nothing left behind (${report.leftBehind.join('; ')})`);
  const { repeat } = report;
  check(
    privateRss(after) <= privateRss(baseline) * (1 + MEMORY_TOLERANCE) ||
      (repeat !== null && privateRss(repeat) <= privateRss(after) * (1 + MEMORY_TOLERANCE)),
    `RSS (without mapped files) within 10% of its baseline (${mb(privateRss(baseline))} → ${mb(privateRss(after))})` +
      (repeat === null ? '' : `, or grown by under 10% in a second pass of the same load (→ ${mb(privateRss(repeat))})`),
  );
  check(after.memory.heapUsed <= baseline.memory.heapUsed * (1 + MEMORY_TOLERANCE), `heap within 10% of its baseline (${mb(baseline.memory.heapUsed)} → ${mb(after.memory.heapUsed)})`);
  const { slow } = report;
  check(slow.cut === slow.sessions, `every slow consumer cut by the app (${slow.cut} of ${slow.sessions})`);
  check(slow.after.problemCount === 0, 'no unhandled rejection after the slow consumers');
  check(
    slow.chat.sent > 0 && slow.chat.delivered === slow.chat.expected && slow.chat.duplicates === 0 && slow.chat.outOfOrder === 0 && slow.chat.failedPushes === 0 && slow.chat.disconnects === 0,
    `the chat beside the slow consumers lost nothing (${JSON.stringify(slow.chat)})`,
  );
  check(slow.leftBehind.length === 0, `nothing left behind after the slow consumers (${slow.leftBehind.join('; ')})`);
  check(slow.after.memory.heapUsed <= baseline.memory.heapUsed * (1 + MEMORY_TOLERANCE), `heap within 10% of its baseline after the slow consumers (${mb(baseline.memory.heapUsed)} → ${mb(slow.after.memory.heapUsed)})`);
  return failed;
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The report as the lines `npm run soak` prints. */
export function describeFuzzReport(report: FuzzSoakReport): string[] {
  const { hostile, chat, baseline, after } = report;
  const pct = (a: number, b: number): string => `${(((a - b) / b) * 100).toFixed(1)}%`;
  return [
    `frames sent           ${hostile.framesSent} (${mb(hostile.bytesSent)}) in ${hostile.sessions} sessions, ${(report.wallMs / 1000).toFixed(1)} s, seed ${report.seed}`,
    `upgrades refused      ${hostile.upgradesRefused}`,
    `closes by the app     ${Object.entries(hostile.closes).map(([code, n]) => `${code}×${n}`).join(' ') || 'none'}`,
    `barrier timeouts      ${hostile.barrierTimeouts}`,
    `limit sessions        ${Object.entries(hostile.limitSessions).map(([mode, n]) => `${mode} ${n}`).join(', ') || 'none'}`,
    `app alive             ${report.alive ? 'yes' : 'NO'}`,
    `crashes               ${report.alive ? 0 : 1}`,
    `unhandled rejections  ${after.problemCount} (uncaught exceptions included)${after.problems.length > 0 ? `: ${after.problems[0]}` : ''}`,
    `prototypes            ${after.prototypes.length === 0 ? 'untouched' : after.prototypes.join(', ')}`,
    `chat                  ${chat.clients} clients, ${chat.sent} sent, ${chat.delivered}/${chat.expected} delivered, lost ${chat.lost}, duplicates ${chat.duplicates}, out of order ${chat.outOfOrder}, failed pushes ${chat.failedPushes}, disconnects ${chat.disconnects}`,
    `left behind           ${report.leftBehind.length === 0 ? 'nothing' : report.leftBehind.join('; ')}`,
    `RSS                   ${mb(baseline.memory.rss)} before, ${mb(after.memory.rss)} after (${pct(after.memory.rss, baseline.memory.rss)}), peak ${mb(report.peakRss)}; without mapped files ${mb(privateRss(baseline))} → ${mb(privateRss(after))} (${pct(privateRss(after), privateRss(baseline))})`,
    ...(report.repeat === null
      ? []
      : [`RSS, same load again  ${mb(privateRss(report.repeat))} without mapped files (${pct(privateRss(report.repeat), privateRss(after))} on the first pass), heap ${mb(report.repeat.memory.heapUsed)}`]),
    `heap used             ${mb(baseline.memory.heapUsed)} before, ${mb(after.memory.heapUsed)} after (${pct(after.memory.heapUsed, baseline.memory.heapUsed)})`,
    `CPU                   generator ${report.generatorCpuS.toFixed(1)} s, app ${report.appCpuS.toFixed(1)} s`,
    `slow consumers        ${report.slow.cut} of ${report.slow.sessions} cut by the app; chat beside them ${report.slow.chat.delivered}/${report.slow.chat.expected} delivered, lost ${report.slow.chat.lost}; left behind ${report.slow.leftBehind.length === 0 ? 'nothing' : report.slow.leftBehind.join('; ')}`,
    `  after them          heap ${mb(report.slow.after.memory.heapUsed)} (${pct(report.slow.after.memory.heapUsed, baseline.memory.heapUsed)}), RSS ${mb(report.slow.after.memory.rss)} (${pct(report.slow.after.memory.rss, baseline.memory.rss)}; malloc's arena ${report.slow.after.rssBy === null ? '?' : mb(report.slow.after.rssBy.mallocHeap)}, was ${baseline.rssBy === null ? '?' : mb(baseline.rssBy.mallocHeap)})`,
    `app log lines         ${Object.entries(after.logs).map(([level, n]) => `${level} ${n}`).join(', ')}`,
  ];
}
