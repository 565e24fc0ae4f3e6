/**
 * A load worker: one child process holding a fleet of client connections,
 * driven by the runner over IPC (see ../common/ipc.ts). It counts frames and
 * reports its own CPU time next to every measurement, so a reader can tell
 * whether the generator rather than the server was the bound.
 *
 * Connection 0 of a worker doubles as the publisher in fanout scenarios.
 */
import { Histogram } from '../common/histogram.js';
import {
  nowMs,
  type BlastBytesCmd,
  type BlastBytesResult,
  type BlastCmd,
  type BlastResult,
  type CollectResult,
  type ConnectCmd,
  type ConnectResult,
  type FanoutDoneEvent,
  type ReqReplyCmd,
  type ReqReplyResult,
  type StatusResult,
  type WorkerReply,
  type WorkerRequest,
} from '../common/ipc.js';
import { openLongPoll } from '../common/longpoll-wire.js';
import { openWire, replyIsOk, type LoadConn, type WireObserver, type WireTarget } from '../common/wire.js';

if (typeof process.send !== 'function') {
  process.stderr.write('bench/load/worker: run me through the runner (needs an IPC channel)\n');
  process.exit(2);
}

const conns: LoadConn[] = [];
let closedCount = 0;
let shuttingDown = false;

// Fanout bookkeeping.
let expect = 0;
let complete = 0;
let armedAt = 0;
let armedCpu: NodeJS.CpuUsage = process.cpuUsage();
let doneAt: number | null = null;

const observer: WireObserver = {
  onBroadcast(conn: LoadConn): void {
    if (expect > 0 && conn.broadcasts === expect) {
      complete++;
      if (complete === conns.length) {
        doneAt = nowMs();
        const cpu = process.cpuUsage(armedCpu);
        const ev: FanoutDoneEvent = {
          event: 'fanout-done',
          tDone: doneAt,
          cpuUs: cpu.user + cpu.system,
          wallMs: doneAt - armedAt,
        };
        process.send!(ev);
      }
    }
  },
  onClose(): void {
    if (!shuttingDown) closedCount++;
  },
};

// Phoenix connections are kept alive with heartbeats (the servers close after
// 60 s of silence); paused connections stay silent on purpose.
const heartbeatTimer = setInterval(() => {
  for (const c of conns) if (c.open && !c.isPaused()) c.heartbeat();
}, 25_000);
heartbeatTimer.unref();

function open(target: WireTarget, timeoutMs: number): Promise<LoadConn> {
  return target.dialect === 'lp' ? openLongPoll(target, timeoutMs) : openWire(target, timeoutMs);
}

async function connect(cmd: ConnectCmd): Promise<ConnectResult> {
  const cpu0 = process.cpuUsage();
  const t0 = nowMs();
  let next = 0;
  let connected = 0;
  let failed = 0;
  let firstError: string | null = null;
  const target = { host: cmd.host, port: cmd.port, dialect: cmd.dialect };
  const lane = async (): Promise<void> => {
    while (next < cmd.count) {
      // `{i}` in the topic gives each connection a topic of its own (a room of one).
      const topic = cmd.topic.replace('{i}', `${process.pid}-${next}`);
      next++;
      try {
        const conn: LoadConn = await open(target, cmd.timeoutMs);
        conn.observer = observer;
        const ok = await conn.join(topic, cmd.timeoutMs);
        if (!ok) {
          conn.reset();
          throw new Error(`join of ${topic} refused or timed out`);
        }
        conn.index = conns.length;
        conns.push(conn);
        connected++;
      } catch (err) {
        failed++;
        if (firstError === null) firstError = err instanceof Error ? err.message : String(err);
      }
    }
  };
  const lanes: Promise<void>[] = [];
  for (let i = 0; i < Math.min(cmd.concurrency, cmd.count); i++) lanes.push(lane());
  await Promise.all(lanes);
  const t1 = nowMs();
  const cpu = process.cpuUsage(cpu0);
  return { connected, failed, firstError, t0, t1, cpuUs: cpu.user + cpu.system };
}

function arm(n: number): void {
  expect = n;
  complete = 0;
  doneAt = null;
  for (const c of conns) {
    c.broadcasts = 0;
    c.broadcastBytes = 0;
  }
  armedAt = nowMs();
  armedCpu = process.cpuUsage();
}

function collect(): CollectResult {
  let received = 0;
  for (const c of conns) received += c.broadcasts;
  const cpu = process.cpuUsage(armedCpu);
  return {
    received,
    complete,
    connections: conns.length,
    tDone: doneAt,
    cpuUs: cpu.user + cpu.system,
    wallMs: (doneAt ?? nowMs()) - armedAt,
  };
}

function publisher(): LoadConn {
  const p = conns[0];
  if (p === undefined || !p.open) throw new Error('no open publisher connection');
  return p;
}

function blastOnce(p: LoadConn, n: number, size: number, timeoutMs: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    p.request('blast', `{"n":${n},"size":${size}}`, (c, buf, s, e) => {
      clearTimeout(timer);
      resolve(replyIsOk(c.dialect, buf, s, e));
    });
  });
}

async function blast(cmd: BlastCmd): Promise<BlastResult> {
  const p = publisher();
  const tSend = nowMs();
  const ok = await blastOnce(p, cmd.n, cmd.size, cmd.timeoutMs);
  return { ok, tSend, tReply: nowMs() };
}

async function blastBytes(cmd: BlastBytesCmd): Promise<BlastBytesResult> {
  const p = publisher();
  const t0 = nowMs();
  const perBlastBytes = cmd.perBlast * cmd.size;
  const blasts = Math.max(1, Math.ceil(cmd.totalBytes / perBlastBytes));
  let okReplies = 0;
  p.broadcastBytes = 0;
  for (let i = 0; i < blasts; i++) {
    if (!p.open) break;
    if (await blastOnce(p, cmd.perBlast, cmd.size, cmd.timeoutMs)) okReplies++;
    else break;
  }
  return {
    blasts,
    bytesRequested: blasts * perBlastBytes,
    okReplies,
    t0,
    t1: nowMs(),
    publisherReceivedBytes: p.broadcastBytes,
  };
}

function reqreply(cmd: ReqReplyCmd): Promise<ReqReplyResult> {
  return new Promise<ReqReplyResult>((resolve) => {
    const hist = new Histogram();
    const payload = JSON.stringify({ body: 'x'.repeat(cmd.size) });
    const cpu0 = process.cpuUsage();
    const t0 = nowMs();
    const tEnd = t0 + cmd.seconds * 1000;
    let replies = 0;
    let active = 0;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(guard);
      const t1 = nowMs();
      const cpu = process.cpuUsage(cpu0);
      resolve({
        replies,
        hist: hist.toSparse(),
        maxUs: hist.maxUs,
        t0,
        t1,
        cpuUs: cpu.user + cpu.system,
        clients: conns.length,
      });
    };
    const sendFrom = (conn: LoadConn): void => {
      const sent = performance.now();
      conn.request('ping', payload, (c) => {
        const at = performance.now();
        if (nowMs() <= tEnd) {
          replies++;
          hist.recordMs(at - sent);
          sendFrom(c);
        } else if (--active === 0) {
          finish();
        }
      });
    };
    // The window ends at tEnd; requests still in flight a second later are abandoned.
    const guard = setTimeout(finish, cmd.seconds * 1000 + 1000);
    for (const c of conns) {
      if (!c.open) continue;
      active++;
      sendFrom(c);
    }
    if (active === 0) finish();
  });
}

function status(): StatusResult {
  let open = 0;
  for (const c of conns) if (c.open && !c.closed) open++;
  return { open, closed: closedCount, total: conns.length };
}

function closeAll(): void {
  shuttingDown = true;
  for (const c of conns) c.reset();
}

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'connect':
      return connect(req);
    case 'arm':
      arm(req.expect);
      return { armed: conns.length };
    case 'blast':
      return blast(req);
    case 'blastBytes':
      return blastBytes(req);
    case 'collect':
      return collect();
    case 'reqreply':
      return reqreply(req);
    case 'pause':
      for (const c of conns) c.pause();
      return { paused: conns.length };
    case 'status':
      return status();
    case 'close':
      closeAll();
      return { closed: true };
  }
}

process.on('message', (msg: WorkerRequest) => {
  handle(msg).then(
    (result) => {
      const reply: WorkerReply = { id: msg.id, ok: true, result };
      process.send!(reply);
      if (msg.cmd === 'close') setTimeout(() => process.exit(0), 50);
    },
    (err: unknown) => {
      const reply: WorkerReply = { id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) };
      process.send!(reply);
    },
  );
});

// The runner going away means we go too.
process.on('disconnect', () => {
  closeAll();
  process.exit(0);
});
