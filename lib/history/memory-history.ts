/**
 * LocalPubSub's history: per topic, a ring of the last `size` broadcasts
 * with their time, the epoch and the last offset. Everything is synchronous,
 * so a position is given and the broadcast dispatched in one call, and a
 * read never races a broadcast.
 *
 * What is kept how long: a broadcast for `ttlMs` (and only the last `size`);
 * a topic's epoch and offset while it has subscribers, and `ttlMs` after
 * its last broadcast, read or subscriber, so a client away for less than
 * `ttlMs` finds the same epoch however long the topic was quiet. A sweep
 * every `SWEEP_MS` drops the rest.
 */
import type { Broadcast } from '../serializers/message.js';
import type { HistoryPolicy, HistoryPosition, HistoryRead, ResolvedHistoryOptions } from './history.types.js';
import { EpochSource, formatPosition } from './position.js';

const SWEEP_MS = 10_000;

interface Entry {
  readonly offset: number;
  readonly at: number;
  readonly event: string;
  readonly payload: unknown;
}

class TopicLog {
  offset = 0;
  /** Last broadcast, read or subscriber leaving, for the sweep. */
  touchedAt: number;
  /** A ring of at most `size` entries, oldest at `start`. */
  private readonly ring: Array<Entry | undefined> = [];
  private start = 0;
  private count = 0;

  constructor(
    readonly epoch: string,
    private readonly size: number,
    now: number,
  ) {
    this.touchedAt = now;
  }

  append(event: string, payload: unknown, now: number): number {
    const offset = ++this.offset;
    const entry: Entry = { offset, at: now, event, payload };
    if (this.count < this.size) {
      this.ring[(this.start + this.count) % this.size] = entry;
      this.count++;
    } else {
      this.ring[this.start] = entry;
      this.start = (this.start + 1) % this.size;
    }
    this.touchedAt = now;
    return offset;
  }

  /** Drops the entries older than `oldest` (ms); returns how many are left. */
  expire(oldest: number): number {
    while (this.count > 0 && this.ring[this.start]!.at < oldest) {
      this.ring[this.start] = undefined;
      this.start = (this.start + 1) % this.size;
      this.count--;
    }
    return this.count;
  }

  /** The last `n` entries, oldest first, as broadcasts with positions; n ≤ the kept count. */
  last(topic: string, n: number): Broadcast[] {
    const out: Broadcast[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const entry = this.ring[(this.start + this.count - n + i) % this.size]!;
      out[i] = { topic, event: entry.event, payload: entry.payload, position: formatPosition(this.epoch, entry.offset) };
    }
    return out;
  }

  /** How many entries are kept. */
  get kept(): number {
    return this.count;
  }
}

export class MemoryHistory {
  private readonly logs = new Map<string, TopicLog>();
  private readonly epochs = new EpochSource();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    readonly policy: HistoryPolicy,
    /** True while the topic has a subscriber on this node: its log is never swept then. */
    private readonly subscribed: (topic: string) => boolean,
  ) {}

  /** Stores a broadcast on a history topic; returns its position. */
  append(topic: string, options: ResolvedHistoryOptions, event: string, payload: unknown): string {
    const now = Date.now();
    const log = this.logFor(topic, options, now);
    log.expire(now - options.ttlMs);
    return formatPosition(log.epoch, log.append(event, payload, now));
  }

  read(topic: string, options: ResolvedHistoryOptions, since: HistoryPosition | null): HistoryRead {
    const now = Date.now();
    const log = this.logFor(topic, options, now);
    log.touchedAt = now;
    const { epoch, offset } = log;
    if (since === null || (since.epoch === epoch && since.offset === offset)) return { epoch, offset, broadcasts: [] };
    const missed = offset - since.offset;
    if (since.epoch !== epoch || missed < 0 || missed > options.size || log.expire(now - options.ttlMs) < missed) {
      return { epoch, offset, broadcasts: null };
    }
    return { epoch, offset, broadcasts: log.last(topic, missed) };
  }

  /** The last subscriber of `topic` on this node left: its log is kept `ttlMs` from now. */
  touch(topic: string): void {
    const log = this.logs.get(topic);
    if (log !== undefined) log.touchedAt = Date.now();
  }

  /** Stops the sweep (the PubSub closed). */
  close(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  private logFor(topic: string, options: ResolvedHistoryOptions, now: number): TopicLog {
    let log = this.logs.get(topic);
    if (log === undefined) {
      log = new TopicLog(this.epochs.next(), options.size, now);
      this.logs.set(topic, log);
      this.sweeper ??= setInterval(this.sweep, SWEEP_MS).unref();
    }
    return log;
  }

  private readonly sweep = (): void => {
    const now = Date.now();
    for (const [topic, log] of this.logs) {
      const options = this.policy(topic);
      const ttlMs = options?.ttlMs ?? 0;
      log.expire(now - ttlMs);
      if (log.kept === 0 && now - log.touchedAt > ttlMs && !this.subscribed(topic)) this.logs.delete(topic);
    }
    if (this.logs.size === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  };
}
