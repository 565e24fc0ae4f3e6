/**
 * Metadata keys, injection tokens, wire names and defaults: every literal the
 * rest of the library shares lives here.
 */

// ── Metadata keys (decorators write them, the accessor reads them) ─────────
export const CHANNEL_METADATA = 'channels:channel';
export const INTERCEPT_METADATA = 'channels:intercept';
export const JOIN_METADATA = 'channels:join';
export const HANDLE_IN_METADATA = 'channels:handle_in';
export const HANDLE_OUT_METADATA = 'channels:handle_out';
export const HANDLE_INFO_METADATA = 'channels:handle_info';
export const TERMINATE_METADATA = 'channels:terminate';
/** Parameter metadata that describes a handler's positional arguments to Nest's context creator. */
export const CHANNEL_PARAMS_METADATA = 'channels:params';

/**
 * Parameter types of the positional arguments Nest's `@MessageBody()` and
 * `@ConnectedSocket()` do not cover; numbered clear of Nest's own.
 */
export const CHANNEL_PARAMTYPE = {
  topic: 100,
  event: 101,
  connectInfo: 102,
} as const;

// ── Internal injection tokens ───────────────────────────────────────────────
export const CHANNELS_MOUNT_OPTIONS = Symbol('CHANNELS_MOUNT_OPTIONS');

// ── Wire names ─────────────────────────────────────
export const WIRE = {
  join: 'phx_join',
  leave: 'phx_leave',
  reply: 'phx_reply',
  error: 'phx_error',
  close: 'phx_close',
  heartbeat: 'heartbeat',
  phoenixTopic: 'phoenix',
  disconnect: 'disconnect',
  drain: 'phx_drain',
  /** Pushed on a topic with history when a client cannot get what it missed (see the history docs). */
  historyGap: 'history_gap',
} as const;

/** Topics the library broadcasts on for itself (Presence's replication): not reported as the app's broadcasts. */
export const INTERNAL_TOPIC_PREFIX = 'phx_';

/** WebSocket close codes the server uses. */
export const CLOSE_CODE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  invalidPayload: 1007,
  policyViolation: 1008,
  tooBig: 1009,
  internalError: 1011,
  serviceRestart: 1012,
} as const;

/** Reply reasons the protocol fixes (clients match on them). */
export const REASON = {
  unmatchedTopic: 'unmatched topic',
  tooManyChannels: 'too many channels joined',
  joinCrashed: 'join crashed',
  channelCrash: 'channel_crash',
  /** A guard refused a join or a request. */
  unauthorized: 'unauthorized',
  // Ours, for limits the protocol does not name.
  topicTooLong: 'topic too long',
  joinTooLarge: 'join payload too large',
  tooManyJoins: 'too many joins',
  tooManyMessages: 'too many messages',
  tooManyPending: 'too many pending replies',
  /** A join with `since` whose history cannot be read now (e.g. Redis is down); the client retries. */
  historyUnavailable: 'history unavailable',
} as const;

// ── Defaults (Phoenix's where Phoenix has one) ─────────────────────────────
export const DEFAULTS = {
  path: '/socket',
  heartbeatTimeoutMs: 60_000,
  maxChannelsPerSocket: 100,
  shutdownTimeoutMs: 5_000,
  /** Unsent bytes per connection before it is closed as a slow consumer. */
  maxBufferedBytes: 16 * 1024 * 1024,
  /** Largest client frame in bytes (ws's own default, 100 MiB, lets three frames take 300 MB). */
  maxFrameSize: 1024 * 1024,
  /** Nesting levels of arrays and objects a client payload may have. */
  maxPayloadDepth: 64,
  /** Tasks one channel's mailbox may hold (client frames, intercepted broadcasts, infos). */
  maxQueuedMessages: 1000,
  /** Milliseconds the socket handler's connect (guards included) may take before the upgrade is answered 503. */
  connectTimeoutMs: 10_000,
  /** Characters of a topic a client may join: the most a V2 binary frame's one-byte length can carry (ASCII). */
  maxTopicLength: 255,
  /** Bytes of one join message. */
  maxJoinPayloadSize: 64 * 1024,
  /** Joins per second per connection (token bucket of one second). */
  maxJoinsPerSecond: 100,
  /** Pushes per second per joined channel (token bucket of one second). */
  maxMessagesPerSecond: 1000,
  /** Client messages waiting for their handler, per connection. */
  maxPendingReplies: 1000,
  /** At most one log line per connection per this many ms for limits that do not close it. */
  limitLogIntervalMs: 10_000,
  logJoin: 'log',
  logHandleIn: 'debug',
} as const;

/** Long-poll defaults: Phoenix's `window_ms` and `pubsub_timeout_ms`, Plug's body limit, and our bounds. */
export const LONGPOLL_DEFAULTS = {
  windowMs: 10_000,
  maxSessions: 10_000,
  maxBufferedMessages: 10_000,
  maxBodySize: 8_000_000,
  pubsubTimeoutMs: 2_000,
} as const;
