/**
 * A load worker of the faults run: a child process (forked by faults.ts,
 * with an IPC channel) driving its share of the clients on the light client
 * (chat-conn.ts), until the time it is given; then it sends everything it
 * recorded (faults-data.ts) and exits.
 *
 * Each client loops: connect (to its preferred node, else the next that
 * answers), join `topicsPerClient` random topics, chat (one `msg` every few
 * seconds to one of them), leave them all, disconnect, pause, reconnect to
 * the next node. A connection the client did not close (its node killed) is
 * a drop: its memberships end there and it reconnects at once, to whichever
 * node answers; the reconnect is timed until every join is answered.
 */
import { prng } from '../../test/support/prng.js';
import { Histogram } from '../common/histogram.js';
import { nowMs } from '../common/ipc.js';
import { openWire } from '../common/wire.js';
import { ChatConn, type ChatConnOwner } from './chat-conn.js';
import { KEY_SPACE, type FaultsWorkerResult, type FaultsWorkerStart, type MembershipRecord, type PublishRecord, type ReconnectRecord } from './faults-data.js';

if (typeof process.send !== 'function') {
  process.stderr.write('bench/soak/faults-worker: run me through the faults runner (needs an IPC channel)\n');
  process.exit(2);
}

const CONNECT_TIMEOUT_MS = 3000;
const JOIN_TIMEOUT_MS = 10_000;

const publishes: PublishRecord[] = [];
const memberships: MembershipRecord[] = [];
const reconnects: ReconnectRecord[] = [];
const latency = new Histogram();
const counters = { duplicates: 0, received: 0, joinsRefused: 0, connectFailures: 0, unexpectedChannelEnds: 0, connections: 0 };
const duplicateSamples: string[] = [];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class Client implements ChatConnOwner {
  private readonly user: string;
  private readonly rand: () => number;
  private conn: ChatConn | null = null;
  private node = 0;
  private generation = 0;
  private seq = 0;
  /** The topics joined on the current connection, with their membership. */
  private readonly joined = new Map<string, MembershipRecord>();
  /** The join_ref of each topic's current join. */
  private readonly joinRefs = new Map<string, string>();
  /** Every key this client received, to tell a duplicate. */
  private readonly seen = new Set<number>();
  private dropped: ReconnectRecord | null = null;
  /** Ends the current pause early: the connection dropped and the client must reconnect now. */
  private wake: (() => void) | null = null;

  constructor(
    private readonly index: number,
    private readonly start: FaultsWorkerStart,
  ) {
    this.user = `c${index}`;
    this.rand = prng(start.seed * 7919 + index);
    this.node = index % start.ports.length;
  }

  private between([low, high]: readonly [number, number]): number {
    return low + this.rand() * (high - low);
  }

  private get alive(): boolean {
    return nowMs() < this.start.until;
  }

  /** Sleeps `ms`, or less if the connection drops meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        if (self.wake === done) self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  async run(): Promise<void> {
    await sleep((this.index % this.start.count) * (this.start.rampMs / this.start.count));
    while (this.alive) {
      const conn = await this.connect();
      if (conn === null) break;
      const generation = this.generation;
      if (!(await this.joinAll(conn))) {
        // Dropped while joining (`onConnClosed` recorded it), or a join failed: go round again at once.
        if (this.conn === conn) await this.leaveAll(conn);
        continue;
      }
      if (this.dropped !== null) {
        this.dropped.tBack = nowMs();
        this.dropped.toNode = this.node;
        this.dropped = null;
      }
      const leaveAt = Math.min(nowMs() + this.between(this.start.connectedMs), this.start.until);
      while (nowMs() < leaveAt && this.generation === generation) {
        await this.pause(Math.min(this.between(this.start.publishEveryMs), Math.max(0, leaveAt - nowMs())));
        if (this.generation !== generation || nowMs() >= leaveAt) break;
        this.publish(conn);
      }
      if (this.generation !== generation) continue;
      await this.leaveAll(conn);
      if (!this.alive) break;
      await sleep(this.between(this.start.pauseMs));
      this.node = (this.node + 1) % this.start.ports.length;
    }
  }

  /** Connects to the preferred node, else the next ones; retries every 100 ms until the end. */
  private async connect(): Promise<ChatConn | null> {
    const ports = this.start.ports;
    while (this.alive) {
      for (let k = 0; k < ports.length; k++) {
        const node = (this.node + k) % ports.length;
        try {
          const conn = await openWire({ host: '127.0.0.1', port: ports[node]!, dialect: 'phx', query: `user=${this.user}` }, CONNECT_TIMEOUT_MS, (socket, dialect, onReady) => new ChatConn(socket, dialect, onReady));
          conn.owner = this;
          this.conn = conn;
          this.node = node;
          this.generation++;
          counters.connections++;
          return conn;
        } catch {
          // Refused (the killed node) or timed out: counted, and the next node is tried.
          counters.connectFailures++;
        }
      }
      await sleep(100);
    }
    return null;
  }

  /** Joins distinct random topics; true once every join is answered ok. */
  private joinAll(conn: ChatConn): Promise<boolean> {
    const topics = new Set<string>();
    while (topics.size < this.start.topicsPerClient) topics.add(`chat:t${Math.floor(this.rand() * this.start.topics)}`);
    const generation = this.generation;
    return Promise.all(
      [...topics].map(
        (topic, k) =>
          new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), JOIN_TIMEOUT_MS);
            const joinRef = `${generation}.${k}`;
            this.joinRefs.set(topic, joinRef);
            conn.push(joinRef, topic, 'phx_join', {}, (status) => {
              clearTimeout(timer);
              if (status !== 'ok') {
                if (status !== null) counters.joinsRefused++;
                resolve(false);
                return;
              }
              if (this.conn !== conn) {
                resolve(false);
                return;
              }
              const membership: MembershipRecord = { client: this.index, topic, node: this.node, tJoin: nowMs(), tEnd: 0, end: 'left', received: [] };
              this.joined.set(topic, membership);
              resolve(true);
            });
          }),
      ),
    ).then((results) => results.every(Boolean) && this.conn === conn);
  }

  private publish(conn: ChatConn): void {
    const topics = [...this.joined.keys()];
    if (topics.length === 0) return;
    const topic = topics[Math.floor(this.rand() * topics.length)]!;
    const seq = ++this.seq;
    const tSend = nowMs();
    const record: PublishRecord = { key: this.index * KEY_SPACE + seq, topic, node: this.node, tSend, tAck: 0, status: 'none' };
    publishes.push(record);
    conn.push(this.joinRefs.get(topic)!, topic, 'msg', { seq, body: String(tSend) }, (status) => {
      record.tAck = nowMs();
      record.status = status === 'ok' ? 'ok' : status === null ? 'none' : 'error';
    });
  }

  /**
   * Ends every membership now with a phx_leave, waits (at most 2 s) for the
   * replies, then resets the connection (a reset leaves no TIME_WAIT behind).
   */
  private async leaveAll(conn: ChatConn): Promise<void> {
    const now = nowMs();
    const replies: Promise<unknown>[] = [];
    for (const [topic, membership] of this.joined) {
      membership.tEnd = now;
      memberships.push(membership);
      replies.push(new Promise((resolve) => conn.push(this.joinRefs.get(topic)!, topic, 'phx_leave', {}, resolve)));
    }
    this.joined.clear();
    this.joinRefs.clear();
    this.conn = null;
    this.generation++;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(replies), new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    conn.reset();
  }

  onMsg(topic: string, payload: { from?: unknown; seq?: unknown; body?: unknown }): void {
    const membership = this.joined.get(topic);
    if (membership === undefined || typeof payload?.from !== 'string' || typeof payload.seq !== 'number') return;
    const key = Number(payload.from.slice(1)) * KEY_SPACE + payload.seq;
    counters.received++;
    latency.recordMs(nowMs() - Number(payload.body));
    if (this.seen.has(key)) {
      counters.duplicates++;
      if (duplicateSamples.length < 10) duplicateSamples.push(`${this.user} got ${payload.from}#${payload.seq} on ${topic} twice`);
      return;
    }
    this.seen.add(key);
    membership.received.push(key);
  }

  onChannelEnded(topic: string): void {
    const membership = this.joined.get(topic);
    if (membership === undefined) return;
    counters.unexpectedChannelEnds++;
    membership.tEnd = nowMs();
    membership.end = 'channel-ended';
    memberships.push(membership);
    this.joined.delete(topic);
  }

  onConnClosed(conn: ChatConn): void {
    if (this.conn !== conn) return;
    // Not closed by us: the node went away.
    const now = nowMs();
    for (const membership of this.joined.values()) {
      membership.tEnd = now;
      membership.end = 'dropped';
      memberships.push(membership);
    }
    this.joined.clear();
    this.joinRefs.clear();
    this.conn = null;
    this.generation++;
    if (this.dropped === null) {
      this.dropped = { client: this.index, fromNode: this.node, tDrop: now, tBack: null, toNode: null };
      reconnects.push(this.dropped);
    }
    this.wake?.();
  }

  /** At the end: whatever is still joined ends now. */
  async finish(): Promise<void> {
    if (this.conn !== null) await this.leaveAll(this.conn);
  }
}

async function run(start: FaultsWorkerStart): Promise<FaultsWorkerResult> {
  const cpu0 = process.cpuUsage();
  const t0 = nowMs();
  const clients = Array.from({ length: start.count }, (_, i) => new Client(start.first + i, start));
  await Promise.all(clients.map((client) => client.run()));
  await Promise.all(clients.map((client) => client.finish()));
  const cpu = process.cpuUsage(cpu0);
  return {
    publishes,
    memberships,
    reconnects,
    duplicates: counters.duplicates,
    duplicateSamples,
    received: counters.received,
    latency: { sparse: latency.toSparse(), maxUs: latency.maxUs },
    joinsRefused: counters.joinsRefused,
    connectFailures: counters.connectFailures,
    unexpectedChannelEnds: counters.unexpectedChannelEnds,
    connections: counters.connections,
    cpuUs: cpu.user + cpu.system,
    wallMs: nowMs() - t0,
  };
}

process.on('message', (message: FaultsWorkerStart) => {
  if (message.cmd !== 'start') return;
  run(message).then(
    (result) => process.send!({ ok: true, result }, undefined, {}, () => process.exit(0)),
    (error: unknown) => process.send!({ ok: false, error: (error as Error)?.stack ?? String(error) }, undefined, {}, () => process.exit(1)),
  );
});

// The runner going away means we go too.
process.on('disconnect', () => process.exit(0));
