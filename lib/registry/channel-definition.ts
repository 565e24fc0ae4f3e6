import type { Type } from '@nestjs/common';
import type { ChannelSocket } from '../channel/channel-socket.js';
import type { ResolvedHistoryOptions } from '../history/history.types.js';
import type { ChannelOptions } from '../interfaces/channels-module-options.interface.js';
import type { TopicPattern } from './topic-matcher.js';

/**
 * Builds one channel instance for a join: a plain object, or a promise when
 * Nest must resolve it per join (a request-scoped dependency, a transient
 * class). Decided once per class at bootstrap.
 */
export type ChannelFactory = (socket: ChannelSocket) => object | Promise<object>;

/**
 * A handler called through Nest's context machinery (guards, interceptors,
 * pipes, filters, parameter decorators). Called with the execution context's
 * arguments `(socket, payload, event)` (`(socket, params, info, 'connect')`
 * for a socket handler's connect); resolves with `Returned` (from
 * `channel/results.ts`) when the
 * handler (and its interceptors) returned, with a filter's answer when a
 * filter caught what was thrown, and rejects with what nothing caught.
 */
export type EnhancedCall = (client: object, payload: unknown, ...rest: unknown[]) => Promise<unknown>;

/** One handler method of a channel class, as the runtime calls it. */
export interface ChannelHandler {
  readonly method: string;
  /** `Class.method`, for log lines. */
  readonly where: string;
  /** Index of this handler's enhanced call in a channel's cache; -1 when called directly. */
  readonly slot: number;
  /**
   * Null when nothing enhances the handler: it is called directly with
   * positional arguments, the path that costs nothing extra per frame.
   * Otherwise binds Nest's enhanced call to one channel instance.
   */
  readonly enhance: ((instance: object) => EnhancedCall) | null;
}

/** A `@HandleIn('prefix*')` handler, tried when no exact event matches. */
export interface PrefixHandler {
  readonly prefix: string;
  readonly handler: ChannelHandler;
}

/** Everything the runtime needs to know about one `@Channel` class. */
export interface ChannelDefinition {
  readonly type: Type<object>;
  readonly name: string;
  readonly topic: TopicPattern;
  readonly options: Required<Omit<ChannelOptions, 'history'>>;
  /** `@Channel(…, { history })`, validated; null for a channel without history. */
  readonly history: ResolvedHistoryOptions | null;
  readonly join: ChannelHandler;
  readonly handleIn: ReadonlyMap<string, ChannelHandler>;
  /** `@HandleIn('ctl:*')` handlers, longest prefix first; empty when there are none. */
  readonly handleInPrefixes: readonly PrefixHandler[];
  readonly handleOut: ReadonlyMap<string, ChannelHandler>;
  /** Events routed through `@HandleOut`; null when the channel intercepts nothing (all fastlane). */
  readonly intercepts: ReadonlySet<string> | null;
  readonly handleInfo: ChannelHandler | null;
  readonly terminate: ChannelHandler | null;
  /** How many handlers have an enhanced call (the size of a channel's cache of bound calls). */
  readonly enhancedCount: number;
  readonly create: ChannelFactory;
}
