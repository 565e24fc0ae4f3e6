/**
 * The public shapes of Presence: what `list` returns, what `presence_diff`
 * carries, what an observer receives, and the options.
 */

/**
 * One tracked presence's metadata as clients see it: the fields given to
 * `track` / `update`, plus `phx_ref` (unique per track or update) and, after
 * an update, `phx_ref_prev` (the ref it replaced).
 *
 * @publicApi
 */
export interface PresenceMeta {
  readonly phx_ref: string;
  readonly phx_ref_prev?: string;
  readonly [field: string]: unknown;
}

/**
 * Every presence of one key: its metas in tracking order, plus whatever the
 * `fetch` hook adds beside `metas`.
 *
 * @publicApi
 */
export interface PresenceEntry {
  metas: PresenceMeta[];
  [extra: string]: unknown;
}

/**
 * A topic's presences by key (keys are strings): the `presence_state`
 * payload and each half of a `presence_diff`. Built on null-prototype
 * objects, so a key such as `__proto__` is an ordinary key.
 *
 * @publicApi
 */
export type Presences = Record<string, PresenceEntry>;

/**
 * The `presence_diff` payload (P-78..P-80): `joins` and `leaves`, both
 * always present, possibly empty.
 *
 * @publicApi
 */
export interface PresenceDiff {
  readonly joins: Presences;
  readonly leaves: Presences;
}

/**
 * What a `Presence.subscribe` listener receives for each diff of a topic it
 * watches: the diff as clients get it (after `fetch`), and the topic's
 * presences right after that change (metas only, without `fetch`).
 *
 * @publicApi
 */
export interface PresenceChange extends PresenceDiff {
  readonly topic: string;
  readonly presences: Presences;
}

/** Enriches presences once per list or diff (Phoenix's `fetch/2`). @publicApi */
export type PresenceFetch = (topic: string, presences: Presences) => Presences | Promise<Presences>;

/**
 * `ChannelsModule.forRoot({ presence })`: give it on one mount only (the app
 * has one Presence, as it has one PubSub).
 *
 * With a PubSub that spans nodes, a node that dies without a word has its
 * presences removed on the others between `downPeriod` and
 * `downPeriod + heartbeatPeriod` after its last message (at most 25 s after it
 * died, by default).
 *
 * @publicApi
 */
export interface PresenceOptions {
  /**
   * Adds fields beside `metas` (e.g. user records), computed once per
   * `list`/`getByKey` call and once per diff, not per subscriber. Must keep
   * each key's `metas`. A diff whose `fetch` throws goes out without it (and
   * the error is logged), so clients stay exact.
   * @default none
   */
  fetch?: PresenceFetch;
  /** Milliseconds this node gathers its own changes before sending them to the other nodes in one message. @default 50 */
  broadcastPeriod?: number;
  /** Milliseconds between this node's heartbeats to the other nodes (and its checks for silent ones). @default 5000 */
  heartbeatPeriod?: number;
  /**
   * Milliseconds of silence after which another node is taken for dead and
   * its presences leave; at least twice `heartbeatPeriod`. Paused while this
   * node's own PubSub is disconnected.
   * @default 20000
   */
  downPeriod?: number;
}

/** `PresenceOptions` after defaults and checks. */
export interface ResolvedPresenceOptions {
  readonly fetch: PresenceFetch | null;
  readonly broadcastPeriodMs: number;
  readonly heartbeatPeriodMs: number;
  readonly downPeriodMs: number;
}
