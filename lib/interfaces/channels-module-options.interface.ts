import type { LogLevel, ModuleMetadata, Type } from '@nestjs/common';
import type { PresenceOptions, ResolvedPresenceOptions } from '../presence/presence.types.js';
import type { PubSub } from '../pubsub/pubsub.js';
import type { Serializer } from '../serializers/serializer.interface.js';
import type { SocketHandler } from './socket-handler.interface.js';

/** `checkOrigin`: see PROTOCOL.md 1.7. */
export type CheckOrigin = boolean | readonly string[] | ((origin: URL) => boolean);

/**
 * Options of one mount (`ChannelsModule.forRoot`). All optional.
 *
 * @publicApi
 */
export interface ChannelsModuleOptions {
  /** Base path; WebSocket at `<path>/websocket`. @default '/socket' */
  path?: string;
  /** The connect/id handler, a provider class. @default accept everyone, id null */
  socket?: Type<SocketHandler>;
  /** The PubSub; one per app (give it on one mount only). @default new LocalPubSub() */
  pubsub?: PubSub;
  /** Presence: the `fetch` hook and the timings across nodes; one per app (give it on one mount only). @default see `PresenceOptions` */
  presence?: PresenceOptions;
  /** Restricts this mount to these channel classes, in declaration order. @default every `@Channel` class */
  channels?: Type<object>[];
  /** Milliseconds the server waits for any client frame before closing with 1002. @default 60000 */
  heartbeatTimeout?: number;
  /** Largest client frame in bytes; larger closes with 1009. @default unlimited (ws's 100 MiB) */
  maxFrameSize?: number;
  /** Channels one connection may join. @default 100 */
  maxChannelsPerSocket?: number;
  /** Origin check for the upgrade. @default true */
  checkOrigin?: CheckOrigin;
  /** The long-poll transport. @default false (not available yet) */
  longpoll?: boolean | Record<string, unknown>;
  /** Serializers offered for `vsn` negotiation. @default [V1JsonSerializer, V2JsonSerializer] */
  serializers?: Serializer[];
  /** permessage-deflate. @default false */
  perMessageDeflate?: boolean;
  /** Unsent bytes one connection may hold before it is closed as a slow consumer. @default 16 MiB */
  maxBufferedBytes?: number;
  /** Milliseconds each channel's terminate may take at shutdown or duplicate join. @default 5000 */
  shutdownTimeout?: number;
  /** Logging: `false` silences connect logs; `connect` sets the level of connect lines. @default { connect: 'log' } */
  logger?: false | { connect?: LogLevel | false };
}

/**
 * `ChannelsModule.forRootAsync` options.
 *
 * @publicApi
 */
export interface ChannelsModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: any[]) => ChannelsModuleOptions | Promise<ChannelsModuleOptions>;
  inject?: any[];
  /** The socket handler class, needed statically so it can be registered as a provider. */
  socket?: Type<SocketHandler>;
}

/** Options after defaults are merged and validated; internals see only these. */
export interface ResolvedChannelsOptions {
  readonly path: string;
  readonly websocketPath: string;
  readonly socket: Type<SocketHandler> | null;
  readonly pubsub: PubSub | null;
  /** Null when this mount does not set it. */
  readonly presence: ResolvedPresenceOptions | null;
  readonly channels: Type<object>[] | null;
  readonly heartbeatTimeoutMs: number;
  readonly maxFrameSize: number | null;
  readonly maxChannelsPerSocket: number;
  readonly checkOrigin: CheckOrigin;
  readonly serializers: readonly Serializer[];
  readonly perMessageDeflate: boolean;
  readonly maxBufferedBytes: number;
  readonly shutdownTimeoutMs: number;
  readonly connectLogLevel: LogLevel | false;
}

/**
 * Per-channel options: `@Channel('room:*', { logJoin, logHandleIn })`.
 *
 * @publicApi
 */
export interface ChannelOptions {
  /** Level of the join log line, or false. @default 'log' */
  logJoin?: LogLevel | false;
  /** Level of the handle_in log line, or false. @default 'debug' */
  logHandleIn?: LogLevel | false;
}
