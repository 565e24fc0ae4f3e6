/**
 * Topic history: the contract between channels and a PubSub that keeps the
 * recent broadcasts of some topics, so a client that lost its connection can
 * rejoin with the position of the last broadcast it saw and get the rest.
 *
 * How a broadcast travels on a history topic: the PubSub gives it a position
 * `"<epoch>.<offset>"` once, when it stores it (the offset grows by one per
 * broadcast; the epoch changes when the topic's history is lost), and
 * delivers it with that position to every subscriber, which encodes it once
 * per serializer with the position in the frame's ref slot. A join with
 * `since` reads the broadcasts after `since` (`readHistory`), after the
 * channel subscribed, and the channel writes them between its join reply and
 * the live ones.
 */
import type { Broadcast } from '../serializers/message.js';

/**
 * `@Channel('room:*', { history: { size, ttlMs } })`: keep, per topic, the
 * last `size` broadcasts for `ttlMs`, so clients that rejoin with `since`
 * get what they missed.
 *
 * @publicApi
 */
export interface HistoryOptions {
  /** Broadcasts kept per topic (the newest ones); a client that missed more gets `history_gap`. */
  size: number;
  /** How long, in ms, a broadcast stays recoverable; a client away longer gets `history_gap`. */
  ttlMs: number;
}

/** History options after validation (the explorer checks them at bootstrap). */
export interface ResolvedHistoryOptions {
  readonly size: number;
  readonly ttlMs: number;
}

/** Which topics keep history, and how much: null for a topic without history. */
export type HistoryPolicy = (topic: string) => ResolvedHistoryOptions | null;

/** A position split into its parts. */
export interface HistoryPosition {
  readonly epoch: string;
  readonly offset: number;
}

/**
 * What `readHistory` found: where the topic stands now, and the broadcasts
 * after the position asked for (oldest first, each with its `position`), or
 * null when they cannot all be given (another epoch, a position past the
 * end, or broadcasts that left the window).
 */
export interface HistoryRead {
  /** The topic's epoch. A read creates it when the topic has none yet, so a client always gets a position. */
  readonly epoch: string;
  /** The offset of the topic's newest broadcast; 0 when nothing was broadcast in this epoch. */
  readonly offset: number;
  readonly broadcasts: readonly Broadcast[] | null;
}

/**
 * A PubSub that keeps topic history: `LocalPubSub` (in memory) and
 * `RedisPubSub` (Redis Streams) implement it. Another PubSub carries history
 * by implementing these two methods and, for a history topic, by
 * `broadcast` delivering each broadcast with its `position` (assigned once,
 * in one order every node agrees on) to every subscriber in offset order;
 * `localBroadcast` keeps nothing and carries no position.
 *
 * @publicApi
 */
export interface HistoryPubSub {
  /** Called once at module init, before `init()`, when some channel asks for history. */
  useHistory(policy: HistoryPolicy): void;
  /**
   * The broadcasts of `topic` after `since` (null: none, only where the topic
   * stands). Called after the subscriber subscribed, so that together with
   * what it receives live nothing is missed.
   */
  readHistory(topic: string, since: HistoryPosition | null): HistoryRead | Promise<HistoryRead>;
}

/** True when the PubSub keeps history. */
export function supportsHistory(pubsub: object): pubsub is HistoryPubSub {
  const candidate = pubsub as Partial<HistoryPubSub>;
  return typeof candidate.useHistory === 'function' && typeof candidate.readHistory === 'function';
}
