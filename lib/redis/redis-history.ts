/**
 * RedisPubSub's topic history, on Redis Streams.
 *
 * Keys, per topic (one hash slot, for Redis Cluster):
 *   `<keyPrefix>{<topic>}:h`  a stream of the topic's envelopes, entry fields
 *                             `o` (offset) and `m` (the 'H' envelope)
 *   `<keyPrefix>{<topic>}:m`  a hash: `e` the epoch, `o` the last offset
 *
 * How a broadcast travels: the publisher runs APPEND (one Lua script, so
 * atomic): it takes the epoch (making one if the hash is gone: Redis lost the
 * topic's history), increments the offset, XADDs the envelope with its
 * position (trimmed to `size` with MAXLEN and to `ttlMs` with MINID),
 * PUBLISHes the same envelope and returns the position. Offsets, stream
 * order and pub/sub order are therefore one order, whichever node publishes.
 * Every node, the publisher included, delivers from its subscriber
 * connection, through the topic's feed (below), so its subscribers see
 * positions in that order too.
 *
 * A feed per topic with local subscribers remembers the last position it
 * delivered. A position that is not the next one (pub/sub lost messages, e.g.
 * while the subscriber connection was down) makes it read the missing ones
 * from the stream (READ) before going on, holding what arrives meanwhile;
 * when they are gone (Redis lost the stream: another epoch; or they left the
 * window) it delivers a `history_gap` broadcast instead. After a reconnect
 * every feed catches up that way. So a subscriber on any node gets every
 * broadcast Redis stored, in order, or is told it cannot.
 *
 * The hash outlives the stream: while a node has subscribers on a topic it
 * renews the hash's expiry (`ttlMs` + one minute) every 30 s, and APPEND and
 * READ renew it too, so a client away for less than `ttlMs` finds the same
 * epoch however long the topic was quiet; the stream expires `ttlMs` after
 * its last broadcast.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '@nestjs/common';
import { WIRE } from '../channels.constants.js';
import { describe } from '../channels.messages.js';
import { PubSubUnavailableError } from '../errors/errors.js';
import { HISTORY_MESSAGES } from '../history/history.messages.js';
import type { HistoryPolicy, HistoryPosition, HistoryRead, ResolvedHistoryOptions } from '../history/history.types.js';
import { EpochSource, formatPosition } from '../history/position.js';
import type { LocalSubscriptions } from '../pubsub/local-subscriptions.js';
import type { Subscriber } from '../pubsub/subscriber.interface.js';
import type { Broadcast } from '../serializers/message.js';
import { isReplyError, type Connection } from './redis-connection.js';
import { decodeHistoryEnvelope, encodeHistoryParts, type KeptEnvelope, type Origin } from './redis-envelope.js';

/** How much longer than `ttlMs` a topic's epoch is kept after the last sign of life. */
const EPOCH_MARGIN_MS = 60_000;
/** How often a node renews the epochs of the topics it has subscribers on. */
const RENEW_MS = 30_000;
/** Retry of a feed's read that failed while Redis looked up. */
const RETRY_MS = 1_000;
/** Broadcasts a feed holds while it reads; past this it drops them and reads again (the stream has them). */
const MAX_HELD = 10_000;
/** Senders remembered for their own broadcast's return (broadcast_from); past this, the oldest are forgotten. */
const MAX_SENDERS = 10_000;

// KEYS[1] stream, KEYS[2] hash. ARGV: epoch if none, size, ttlMs, epoch keep ms, channel, head, json.
const APPEND = `
local epoch = redis.call('HGET', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'e', epoch, 'o', 0)
end
local offset = redis.call('HINCRBY', KEYS[2], 'o', 1)
local position = epoch .. '.' .. offset
local message = ARGV[6] .. string.len(position) .. ':' .. position .. ARGV[7]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'o', offset, 'm', message)
redis.call('XTRIM', KEYS[1], 'MINID', '~', now - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], message)
return position
`;

// KEYS[1] stream, KEYS[2] hash. ARGV: since epoch ('' for none), since offset, size, ttlMs, epoch if none, epoch keep ms.
// Returns {epoch, last offset, 'ok', envelopes after since, oldest first} or {epoch, last offset, 'gap'}.
const READ = `
local epoch = redis.call('HGET', KEYS[2], 'e')
local last = 0
if not epoch then
  epoch = ARGV[5]
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'e', epoch, 'o', 0)
else
  last = tonumber(redis.call('HGET', KEYS[2], 'o'))
end
redis.call('PEXPIRE', KEYS[2], ARGV[6])
if ARGV[1] == '' then return {epoch, last, 'ok'} end
local since = tonumber(ARGV[2])
if ARGV[1] ~= epoch or since > last then return {epoch, last, 'gap'} end
local missed = last - since
if missed == 0 then return {epoch, last, 'ok'} end
if missed > tonumber(ARGV[3]) then return {epoch, last, 'gap'} end
local entries = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', missed)
if #entries < missed then return {epoch, last, 'gap'} end
local oldest = entries[#entries]
if tonumber(oldest[2][2]) ~= since + 1 then return {epoch, last, 'gap'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if tonumber(string.match(oldest[1], '^(%d+)')) < now - tonumber(ARGV[4]) then return {epoch, last, 'gap'} end
local out = {epoch, last, 'ok'}
for i = #entries, 1, -1 do out[#out + 1] = entries[i][2][4] end
return out
`;

interface Script {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

const APPEND_SCRIPT = script(APPEND);
const READ_SCRIPT = script(READ);

/** EVALSHA, and EVAL when Redis does not have the script yet (a fresh or restarted server). */
function run(connection: Connection, buffers: boolean, { lua, sha }: Script, args: Array<string | number>): Promise<unknown> {
  const call = (buffers ? connection.callBuffer : connection.call).bind(connection);
  return call('EVALSHA', sha, 2, ...args).catch((error: unknown) => {
    if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
    return call('EVAL', lua, 2, ...args);
  });
}

/** A READ's answer, envelopes decoded. */
interface FeedRead {
  readonly epoch: string;
  readonly offset: number;
  readonly kept: KeptEnvelope[] | null;
}

/** What the history needs of its RedisPubSub. */
export interface RedisHistoryHost {
  readonly subscriptions: LocalSubscriptions;
  readonly logger: Logger;
  readonly origin: Origin;
  readonly where: string;
  readonly keyPrefix: string;
  /** The connection scripts run on, or null while it is not ready. */
  scriptConnection(): Connection | null;
}

export class RedisHistory {
  private readonly feeds = new Map<string, TopicFeed>();
  /** Local senders of broadcasts on their way back from Redis, by their number (broadcast_from). */
  private readonly senders = new Map<number, Subscriber>();
  private nextSeq = 0;
  private readonly epochs = new EpochSource();
  private renewTimer: NodeJS.Timeout | null = null;
  private badEnvelopeLogged = false;

  constructor(
    readonly policy: HistoryPolicy,
    private readonly host: RedisHistoryHost,
  ) {}

  // ── Broadcasting ───────────────────────────────────────────────────────────

  /**
   * Runs APPEND: resolves once Redis stored and published the broadcast;
   * rejects with PubSubUnavailableError (and it went nowhere) when it did not.
   * Delivery here comes back through the subscriber connection.
   */
  append(connection: Connection, topic: string, options: ResolvedHistoryOptions, event: string, payload: unknown, from: Subscriber | null, channel: string): Promise<void> {
    let seq = 0;
    // Only when the sender is subscribed here does it have anything to skip.
    if (from !== null && this.host.subscriptions.has(topic)) {
      seq = ++this.nextSeq;
      if (this.senders.size >= MAX_SENDERS) this.senders.delete(this.senders.keys().next().value!);
      this.senders.set(seq, from);
    }
    const [head, json] = encodeHistoryParts(this.host.origin, seq, topic, event, payload);
    const args = [...this.keys(topic), this.epochs.next(), options.size, options.ttlMs, options.ttlMs + EPOCH_MARGIN_MS, channel, head, json];
    return run(connection, false, APPEND_SCRIPT, args).then(
      () => undefined,
      (error: unknown) => {
        if (seq !== 0) this.senders.delete(seq);
        throw new PubSubUnavailableError(HISTORY_MESSAGES.appendFailed(event, topic, this.host.where, describe(error)), { cause: error });
      },
    );
  }

  // ── Reading ────────────────────────────────────────────────────────────────

  /** For a join with `since`: the broadcasts after it (see `HistoryPubSub.readHistory`). */
  async read(topic: string, options: ResolvedHistoryOptions, since: HistoryPosition | null): Promise<HistoryRead> {
    const found = await this.readKept(topic, options, since);
    return { epoch: found.epoch, offset: found.offset, broadcasts: found.kept === null ? null : found.kept.map((kept) => kept.broadcast) };
  }

  private async readKept(topic: string, options: ResolvedHistoryOptions, since: HistoryPosition | null): Promise<FeedRead> {
    const connection = this.host.scriptConnection();
    if (connection === null) throw new PubSubUnavailableError(HISTORY_MESSAGES.unreachable(this.host.where));
    const args = [
      ...this.keys(topic),
      since === null ? '' : since.epoch,
      since === null ? 0 : since.offset,
      options.size,
      options.ttlMs,
      this.epochs.next(),
      options.ttlMs + EPOCH_MARGIN_MS,
    ];
    const answer = (await run(connection, true, READ_SCRIPT, args)) as Array<Buffer | number>;
    const epoch = answer[0]!.toString();
    const offset = Number(answer[1]);
    if (answer[2]!.toString() !== 'ok') return { epoch, offset, kept: null };
    const kept: KeptEnvelope[] = [];
    for (let i = 3; i < answer.length; i++) {
      const envelope = decodeHistoryEnvelope(answer[i] as Buffer, null);
      if (envelope !== null) kept.push(envelope);
    }
    return { epoch, offset, kept };
  }

  // ── Subscribers and feeds ──────────────────────────────────────────────────

  /**
   * A local subscriber on a history topic. The first makes the topic's feed,
   * which learns where the topic stands once `subscribed` (the SUBSCRIBE
   * confirmation, if any) settles; every subscriber waits for that.
   */
  subscribed(topic: string, options: ResolvedHistoryOptions, subscribing: Promise<void> | undefined): Promise<void> {
    let feed = this.feeds.get(topic);
    if (feed === undefined) {
      const created = new TopicFeed(topic, options, this);
      feed = created;
      this.feeds.set(topic, created);
      created.ready = (subscribing ?? Promise.resolve()).then(() => created.catchUp());
      this.renewTimer ??= setInterval(this.renew, RENEW_MS).unref();
    }
    return feed.ready;
  }

  /** The topic's last local subscriber left. */
  unsubscribed(topic: string): void {
    const feed = this.feeds.get(topic);
    if (feed === undefined) return;
    feed.close();
    this.feeds.delete(topic);
  }

  /** An 'H' envelope from the subscriber connection. */
  receive(message: Buffer, channel: Buffer): void {
    let kept: KeptEnvelope | null;
    try {
      kept = decodeHistoryEnvelope(message, (topic) => this.feeds.has(topic));
    } catch (error) {
      const text = HISTORY_MESSAGES.badEnvelope(describe(channel.toString()), describe(error));
      if (this.badEnvelopeLogged) this.host.logger.debug(text);
      else {
        this.badEnvelopeLogged = true;
        this.host.logger.warn(text);
      }
      return;
    }
    if (kept !== null) this.feeds.get(kept.broadcast.topic)?.receive(kept);
  }

  /** The subscriber connection is back and re-subscribed: every feed reads what it may have missed. */
  resume(): void {
    for (const feed of this.feeds.values()) void feed.catchUp();
  }

  close(): void {
    if (this.renewTimer !== null) clearInterval(this.renewTimer);
    this.renewTimer = null;
    for (const feed of this.feeds.values()) feed.close();
    this.feeds.clear();
  }

  /** @internal For a feed. */
  readFeed(topic: string, options: ResolvedHistoryOptions, since: HistoryPosition | null): Promise<FeedRead> {
    return this.readKept(topic, options, since);
  }

  /** @internal For a feed: hands a broadcast to this node's subscribers, skipping the local sender of its own. */
  deliver(kept: KeptEnvelope): void {
    let from: Subscriber | null = null;
    if (kept.seq !== 0 && kept.origin === this.host.origin.text) {
      from = this.senders.get(kept.seq) ?? null;
      this.senders.delete(kept.seq);
    }
    this.host.subscriptions.dispatch(kept.broadcast, from);
  }

  /** @internal For a feed: broadcasts between `since` and the topic's position now are lost; the subscribers are told. */
  deliverGap(topic: string, since: HistoryPosition, epoch: string, offset: number): void {
    const gap: Broadcast = {
      topic,
      event: WIRE.historyGap,
      payload: { since: formatPosition(since.epoch, since.offset), epoch },
      position: formatPosition(epoch, offset),
    };
    this.host.subscriptions.dispatch(gap, null);
  }

  /** @internal */
  get logger(): Logger {
    return this.host.logger;
  }

  private keys(topic: string): [string, string] {
    // The braces make both keys one hash slot (Cluster): they share everything up to the first '}'.
    const base = `${this.host.keyPrefix}{${topic}}`;
    return [`${base}:h`, `${base}:m`];
  }

  /** Renews the epoch of every topic with subscribers here, so it outlives quiet periods. */
  private readonly renew = (): void => {
    const connection = this.host.scriptConnection();
    if (connection === null) return;
    for (const feed of this.feeds.values()) {
      connection.call('PEXPIRE', this.keys(feed.topic)[1], feed.options.ttlMs + EPOCH_MARGIN_MS).catch((error: unknown) => {
        // The next renewal, READ or APPEND renews it again; only a long outage can let it lapse.
        this.host.logger.debug(HISTORY_MESSAGES.renewFailed(feed.topic, describe(error)));
      });
    }
  };
}

/**
 * One history topic's delivery on this node: positions in order, none twice,
 * holes filled from the stream (see the top of this file).
 */
class TopicFeed {
  /** The last position delivered here; epoch null until the first read answers. */
  private epoch: string | null = null;
  private offset = 0;
  /** What arrived while a read is out, in arrival order; null when no read is out. */
  private held: KeptEnvelope[] | null = null;
  private reading: Promise<void> | null = null;
  /** Read again once the read out answers (what was held was dropped, or a reconnect happened meanwhile). */
  private again = false;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;
  ready: Promise<void> = Promise.resolve();

  constructor(
    readonly topic: string,
    readonly options: ResolvedHistoryOptions,
    private readonly history: RedisHistory,
  ) {}

  receive(kept: KeptEnvelope): void {
    if (this.closed) return;
    const held = this.held;
    if (held !== null) {
      if (held.length >= MAX_HELD) {
        held.length = 0;
        this.again = true;
      }
      held.push(kept);
      return;
    }
    if (this.epoch !== null && kept.epoch === this.epoch) {
      if (kept.offset <= this.offset) return;
      if (kept.offset === this.offset + 1) {
        this.offset = kept.offset;
        this.history.deliver(kept);
        return;
      }
    }
    // A hole, another epoch, or no position yet: read what is missing, holding this one.
    void this.catchUp();
    this.held!.push(kept);
  }

  /** Reads from the stream what follows the last position delivered (or, first, where the topic stands). */
  catchUp(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.reading !== null) {
      this.again = true;
      return this.reading;
    }
    this.held ??= [];
    const since: HistoryPosition | null = this.epoch === null ? null : { epoch: this.epoch, offset: this.offset };
    const reading = this.history.readFeed(this.topic, this.options, since).then(
      (read) => this.caughtUp(read, since),
      (error: unknown) => this.readFailed(error),
    );
    this.reading = reading;
    return reading;
  }

  close(): void {
    this.closed = true;
    this.held = null;
    if (this.retry !== null) clearTimeout(this.retry);
  }

  private caughtUp(read: FeedRead, since: HistoryPosition | null): void {
    this.reading = null;
    if (this.closed) return;
    const held = this.held ?? [];
    this.held = null;
    if (since === null) {
      // Where delivery starts here: just before the first broadcast that arrived since the subscription.
      let at = read.offset;
      const first = held.find((kept) => kept.epoch === read.epoch);
      if (first !== undefined) at = Math.min(at, first.offset - 1);
      this.epoch = read.epoch;
      this.offset = at;
    } else if (read.kept === null) {
      this.history.logger.warn(
        HISTORY_MESSAGES.lost(this.topic, formatPosition(since.epoch, since.offset), formatPosition(read.epoch, read.offset)),
      );
      this.history.deliverGap(this.topic, since, read.epoch, read.offset);
      this.epoch = read.epoch;
      this.offset = read.offset;
    } else {
      for (const kept of read.kept) {
        if (kept.offset <= this.offset) continue;
        this.offset = kept.offset;
        this.history.deliver(kept);
      }
      this.offset = Math.max(this.offset, read.offset);
    }
    for (const kept of held) this.receive(kept);
    if (this.again) {
      this.again = false;
      void this.catchUp();
    }
  }

  private readFailed(error: unknown): void {
    this.reading = null;
    if (this.closed) return;
    // What is held stays held (bounded); the read is retried, and a reconnect retries it too.
    const level = isReplyError(error) ? 'warn' : 'debug';
    this.history.logger[level](HISTORY_MESSAGES.readFailed(this.topic, describe(error)));
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.catchUp();
    }, RETRY_MS);
    this.retry.unref();
  }
}
