import type { LogLevel, ModuleMetadata, Type } from '@nestjs/common';
import type { HistoryOptions } from '../history/history.types.js';
import type { PresenceOptions, ResolvedPresenceOptions } from '../presence/presence.types.js';
import type { PubSub } from '../pubsub/pubsub.js';
import type { Serializer } from '../serializers/serializer.interface.js';
import type { SocketHandler } from './socket-handler.interface.js';

/** `checkOrigin`: `true` (same host as the request), `false` (any), or a list of allowed origins. */
export type CheckOrigin = boolean | readonly string[] | ((origin: URL) => boolean);

/**
 * Options of one mount (`ChannelsModule.forRoot`). All optional.
 *
 * @publicApi
 */
export interface ChannelsModuleOptions {
  /** Base path; WebSocket at `<path>/websocket`, long-poll at `<path>/longpoll`. @default '/socket' */
  path?: string;
  /** The connect/id handler, a provider class. @default accept everyone, id null */
  socket?: Type<SocketHandler>;
  /** The PubSub; one per app (give it on one mount only). @default new LocalPubSub() */
  pubsub?: PubSub;
  /** Presence: the `fetch` hook and the timings across nodes; one per app (give it on one mount only). @default see `PresenceOptions` */
  presence?: PresenceOptions;
  /** Restricts this mount to these channel classes, in declaration order. @default every `@Channel` class */
  channels?: Type<object>[];
  /** Milliseconds the server waits for any client frame before closing with 1002 (checked every tenth of it, so within 1.1× this). @default 60000 */
  heartbeatTimeout?: number;
  /**
   * Largest client frame in bytes; a larger one closes its connection with
   * 1009. It bounds what one frame can make the server hold (ws buffers a
   * whole message before handing it over). Raise it for large binary pushes.
   * @default 1048576 (1 MiB)
   */
  maxFrameSize?: number;
  /**
   * Deepest nesting of arrays and objects in a client payload (`{}` is one
   * level, `{"a":[]}` two). A deeper frame is malformed: no reply, the
   * connection closes with 1011. It is checked before the frame is parsed,
   * and keeps every later recursive walk of the payload (`JSON.stringify`
   * when a handler pushes or broadcasts it, your own code) far from the
   * stack limit, which `JSON.stringify` hits at a few thousand levels.
   * @default 64
   */
  maxPayloadDepth?: number;
  /**
   * Messages one channel may have waiting in its mailbox (client frames for
   * its topic, intercepted broadcasts, `socket.send` infos) while a handler
   * runs. One more closes the connection with 1008 and one warning: a client
   * that outpaces its channel, or a handler that never finishes, cannot grow
   * memory without bound.
   * @default 1000
   */
  maxQueuedMessages?: number;
  /** Channels one connection may join; the join past it gets an error reply `{"reason":"too many channels joined"}`. @default 100 */
  maxChannelsPerSocket?: number;
  /**
   * Longest topic a client may join, in characters. A longer join gets an
   * error reply `{"reason":"topic too long"}` before any channel sees it.
   * The default is the longest (ASCII) topic a V2 binary frame can carry.
   * @default 255
   */
  maxTopicLength?: number;
  /**
   * Largest join message in bytes, as it arrived (the payload plus the few
   * bytes of topic and refs around it). A larger join gets an error reply
   * `{"reason":"join payload too large"}` before any channel sees it.
   * @default 65536 (64 KiB)
   */
  maxJoinPayloadSize?: number;
  /**
   * Joins one connection may send per second, as a token bucket holding one
   * second's worth (so a reconnecting client may rejoin that many channels
   * at once). A join past it gets an error reply `{"reason":"too many joins"}`
   * (the `phoenix` client retries it later). `Infinity` turns it off.
   * @default 100
   */
  maxJoinsPerSecond?: number;
  /**
   * Messages (pushes) a client may send to one joined channel per second,
   * as a token bucket holding one second's worth. What happens to a message
   * past it is `messageRateExceeded`'s choice. Leaves and heartbeats are not
   * counted. `Infinity` turns it off.
   * @default 1000
   */
  maxMessagesPerSecond?: number;
  /**
   * What a message past `maxMessagesPerSecond` gets: `'reply'` drops it
   * with an error reply `{"reason":"too many messages"}` (its handler does
   * not run); `'close'` closes the connection with 1008.
   * @default 'reply'
   */
  messageRateExceeded?: 'reply' | 'close';
  /**
   * Client messages (joins, pushes, leaves) one connection may have waiting
   * for their handler, over all its channels: each holds its payload until
   * its handler starts, so this bounds what one connection makes the server
   * hold (at most this × `maxFrameSize` bytes). A join or push past it gets
   * an error reply `{"reason":"too many pending replies"}` and is dropped;
   * leaves are always accepted.
   * @default 1000
   */
  maxPendingReplies?: number;
  /** Origin check for the WebSocket upgrade and every long-poll request. @default true */
  checkOrigin?: CheckOrigin;
  /**
   * The long-poll transport at `<path>/longpoll`, the `phoenix` client's
   * fallback (`longPollFallbackMs`, or `transport: LongPoll`). `true` serves
   * it with the defaults; an object serves it with those settings.
   * @default false
   */
  longpoll?: boolean | LongPollOptions;
  /**
   * Reads the `phoenix` client's `authToken`: from the
   * `Sec-WebSocket-Protocol` offer on WebSocket (answered with
   * `Sec-WebSocket-Protocol: phoenix`), from `x-phoenix-authtoken` when a
   * long-poll session is created. `connect` sees it as `info.authToken`.
   * @default false
   */
  authToken?: boolean;
  /**
   * WebSocket subprotocols the server accepts, in order of preference: the
   * first one the client offers is selected, and an upgrade offering only
   * others is refused with 403. Unset, offered subprotocols are ignored.
   * @default unset
   */
  subprotocols?: string[];
  /** Serializers offered for `vsn` negotiation. @default [V1JsonSerializer, V2JsonSerializer] */
  serializers?: Serializer[];
  /** permessage-deflate. @default false */
  perMessageDeflate?: boolean;
  /** Unsent bytes one connection may hold before it is closed as a slow consumer. @default 16 MiB */
  maxBufferedBytes?: number;
  /** Milliseconds each channel's terminate may take at shutdown or duplicate join. @default 5000 */
  shutdownTimeout?: number;
  /**
   * Milliseconds the socket handler's `connect` (its guards included) may
   * take. One that has not settled by then is logged and the upgrade is
   * answered 503 (a long-poll session request too), so a hung `connect` never
   * holds the socket. 0 waits forever.
   * @default 10000
   */
  connectTimeout?: number;
  /** Logging: `false` silences connect logs; `connect` sets the level of connect lines. @default { connect: 'log' } */
  logger?: false | { connect?: LogLevel | false };
}

/**
 * Settings of the long-poll transport (`longpoll: { ... }`). All optional.
 *
 * @publicApi
 */
export interface LongPollOptions {
  /**
   * Milliseconds a poll is held when nothing is pending (then it answers
   * `204`), and the longest a POSTed frame may wait to be handled (then the
   * POST answers `408`). A session not polled for 1.5 × this ends.
   * @default 10000
   */
  windowMs?: number;
  /** Long-poll sessions one node holds; a new session past it gets HTTP 503 and the client retries. @default 10000 */
  maxSessions?: number;
  /** Frames one session may hold for its next poll; past it (or past `maxBufferedBytes`) the session ends. @default 10000 */
  maxBufferedMessages?: number;
  /** Largest POST body in bytes; larger gets HTTP 400. @default 8000000 */
  maxBodySize?: number;
  /**
   * Milliseconds a node waits for the node holding a session to answer a
   * request routed to it through the PubSub (several nodes, no sticky
   * balancer); past it the session counts as gone.
   * @default 2000
   */
  pubsubTimeoutMs?: number;
}

/** Long-poll settings after defaults are merged; null when long-poll is off. */
export interface ResolvedLongPollOptions {
  readonly windowMs: number;
  readonly maxSessions: number;
  readonly maxBufferedMessages: number;
  readonly maxBodySize: number;
  readonly pubsubTimeoutMs: number;
}

/**
 * Makes a mount's options for `ChannelsModule.forRootAsync({ useClass })` or
 * `({ useExisting })`, as `JwtOptionsFactory` does for `JwtModule`.
 *
 * @example
 * @Injectable()
 * class ChannelsConfig implements ChannelsOptionsFactory {
 *   constructor(private readonly config: ConfigService) {}
 *   createChannelsOptions() { return { path: this.config.get('SOCKET_PATH') }; }
 * }
 * @publicApi
 */
export interface ChannelsOptionsFactory {
  createChannelsOptions(): ChannelsModuleOptions | Promise<ChannelsModuleOptions>;
}

/**
 * `ChannelsModule.forRootAsync` options: exactly one of `useFactory` (with
 * `inject`), `useClass` or `useExisting`, as Nest's own modules take them.
 *
 * @publicApi
 */
export interface ChannelsModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Builds the options from the injected providers. */
  useFactory?: (...args: any[]) => ChannelsModuleOptions | Promise<ChannelsModuleOptions>;
  /** What `useFactory` receives. */
  inject?: any[];
  /** A `ChannelsOptionsFactory` class this mount instantiates (with its dependencies) to make the options. */
  useClass?: Type<ChannelsOptionsFactory>;
  /** A `ChannelsOptionsFactory` provider that exists already (e.g. exported by an imported module). */
  useExisting?: Type<ChannelsOptionsFactory>;
  /** The socket handler class, needed statically so it can be registered as a provider. */
  socket?: Type<SocketHandler>;
}

/** Options after defaults are merged and validated; internals see only these. */
export interface ResolvedChannelsOptions {
  readonly path: string;
  readonly websocketPath: string;
  readonly longpollPath: string;
  readonly socket: Type<SocketHandler> | null;
  readonly pubsub: PubSub | null;
  /** Null when this mount does not set it. */
  readonly presence: ResolvedPresenceOptions | null;
  readonly channels: Type<object>[] | null;
  readonly heartbeatTimeoutMs: number;
  readonly maxFrameSize: number;
  readonly maxPayloadDepth: number;
  readonly maxQueuedMessages: number;
  readonly maxChannelsPerSocket: number;
  readonly maxTopicLength: number;
  readonly maxJoinPayloadSize: number;
  readonly maxJoinsPerSecond: number;
  readonly maxMessagesPerSecond: number;
  readonly messageRateExceeded: 'reply' | 'close';
  readonly maxPendingReplies: number;
  readonly checkOrigin: CheckOrigin;
  readonly longpoll: ResolvedLongPollOptions | null;
  readonly authToken: boolean;
  readonly subprotocols: readonly string[] | null;
  readonly serializers: readonly Serializer[];
  readonly perMessageDeflate: boolean;
  readonly maxBufferedBytes: number;
  readonly shutdownTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly connectLogLevel: LogLevel | false;
}

/**
 * Per-channel options: `@Channel('room:*', { logJoin, logHandleIn, history })`.
 *
 * @publicApi
 */
export interface ChannelOptions {
  /** Level of the join log line, or false. @default 'log' */
  logJoin?: LogLevel | false;
  /** Level of the handle_in log line, or false. @default 'debug' */
  logHandleIn?: LogLevel | false;
  /**
   * Keep each topic's recent broadcasts so a client that rejoins with
   * `since` gets what it missed; each broadcast then carries its position
   * in the frame's ref slot. @default none (no history)
   */
  history?: HistoryOptions;
}
