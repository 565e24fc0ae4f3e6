/**
 * Telemetry on Node's `diagnostics_channel`, in the manner of Phoenix's
 * `:telemetry` events: one named channel per kind of event, a plain object
 * per event with a duration and what it was about.
 *
 * Nothing is built unless someone listens: every emitting site checks the
 * channel's `hasSubscribers` (a property read) before it takes a time or
 * makes an object, so a server with no subscriber pays one check per event.
 * `join` and `handle_in` are also `TracingChannel`s that wrap the user's
 * handler (for spans, or an `AsyncLocalStorage` bound to their `start`).
 */
import { channel, tracingChannel, type Channel, type TracingChannel } from 'node:diagnostics_channel';
import type { ConnectInfo } from '../interfaces/socket-handler.interface.js';

/**
 * The names of the `diagnostics_channel` channels nestjs-channels publishes on.
 * Subscribe with `diagnostics_channel.subscribe(TELEMETRY.join, listener)`.
 *
 * @publicApi
 */
export const TELEMETRY = {
  /** A connect step finished (accepted or refused): `ConnectEvent`. */
  connect: 'nestjs-channels:connect',
  /** A join was answered by its channel (ok, refused or crashed): `JoinEvent`. */
  join: 'nestjs-channels:join',
  /** A `@HandleIn` handler finished: `HandleInEvent`. */
  handleIn: 'nestjs-channels:handle_in',
  /** A broadcast was delivered to this node's subscribers: `BroadcastEvent`. */
  broadcast: 'nestjs-channels:broadcast',
  /** A channel ended and its `@Terminate` (if any) ran: `TerminateEvent`. */
  terminate: 'nestjs-channels:terminate',
  /** A client passed a limit: `LimitEvent`. */
  limit: 'nestjs-channels:limit',
  /** A connection was closed for not reading what it was sent: `SlowConsumerEvent`. */
  slowConsumer: 'nestjs-channels:slow_consumer',
  /** A PUBLISH that `RedisPubSub` had written was lost with its connection: `PublishLostEvent`. */
  publishLost: 'nestjs-channels:publish_lost',
} as const;

/** The `TracingChannel` names (`tracing:<name>:start`, `:end`, `:asyncStart`, `:asyncEnd`, `:error`). @publicApi */
export const TELEMETRY_TRACING = {
  /** Wraps the `@Join` handler (with its guards, interceptors and pipes, when it has any): context `JoinTrace`. */
  join: 'nestjs-channels:join',
  /** Wraps each `@HandleIn` handler (with its guards, interceptors and pipes, when it has any): context `HandleInTrace`. */
  handleIn: 'nestjs-channels:handle_in',
} as const;

/** How a connect step ended. */
export type ConnectResult = 'ok' | 'error';
/**
 * How a join ended: the join reply's status, or `crashed` when `@Join` threw
 * something that is no answer (not a `ChannelError`, `WsException`,
 * `HttpException` or a guard's refusal).
 */
export type JoinResult = 'ok' | 'error' | 'crashed';
/** What a `@HandleIn` handler answered: a reply (`ok` or another status), nothing, a stop, or a crash. */
export type HandleInResult = 'reply' | 'noreply' | 'stop' | 'crashed';

/** `nestjs-channels:connect`. @publicApi */
export interface ConnectEvent {
  /** Milliseconds the connect step took (`vsn` negotiation, `connect` and `id`). */
  readonly durationMs: number;
  readonly result: ConnectResult;
  /** `'websocket'`, `'longpoll'` or `'test'`. */
  readonly transport: string;
  /** The serializer's version, null when `vsn` was refused. */
  readonly vsn: string | null;
  /** The socket handler's class name. */
  readonly handler: string;
  /** The socket id `id()` gave, null without one (or when refused). */
  readonly socketId: string | null;
  /** The connect params (the query string, parsed). */
  readonly params: Readonly<Record<string, unknown>>;
  readonly info: ConnectInfo;
}

/** `nestjs-channels:join`. @publicApi */
export interface JoinEvent {
  /** Milliseconds from `@Join` being called to the join reply (subscribing included). */
  readonly durationMs: number;
  readonly result: JoinResult;
  readonly topic: string;
  /** The channel class name. */
  readonly channel: string;
  /** The join payload. */
  readonly params: unknown;
  readonly socketId: string | null;
  readonly transport: string;
}

/** `nestjs-channels:handle_in`. @publicApi */
export interface HandleInEvent {
  /** Milliseconds the handler took, to its promise settling when it returns one. */
  readonly durationMs: number;
  readonly result: HandleInResult;
  readonly topic: string;
  readonly event: string;
  /** The channel class name. */
  readonly channel: string;
  readonly payload: unknown;
  readonly socketId: string | null;
  readonly transport: string;
}

/** `nestjs-channels:broadcast`: one per broadcast delivered on this node (from this node or another). @publicApi */
export interface BroadcastEvent {
  /** Milliseconds the local delivery took: encoding once per serializer and writing to every local subscriber. */
  readonly durationMs: number;
  readonly topic: string;
  readonly event: string;
  /** Local subscribers it was delivered to (0 when the topic has none on this node). */
  readonly subscribers: number;
}

/** `nestjs-channels:terminate`. @publicApi */
export interface TerminateEvent {
  /** Milliseconds `@Terminate` took (0 without one). */
  readonly durationMs: number;
  readonly topic: string;
  readonly channel: string;
  /** The `TerminateReason` `@Terminate` received. */
  readonly reason: unknown;
  readonly socketId: string | null;
  readonly transport: string;
}

/** The option a `LimitEvent` is about. */
export type LimitName =
  | 'maxFrameSize'
  | 'maxTopicLength'
  | 'maxJoinPayloadSize'
  | 'maxChannelsPerSocket'
  | 'maxJoinsPerSecond'
  | 'maxMessagesPerSecond'
  | 'maxPendingReplies'
  | 'maxQueuedMessages'
  | 'longpoll.maxSessions';

/** What the server did about it: answered the message with an error reply, closed the connection, or refused a new one. */
export type LimitAction = 'reply' | 'close' | 'refuse';

/** `nestjs-channels:limit`: one per message (or connection) a limit stopped. @publicApi */
export interface LimitEvent {
  readonly limit: LimitName;
  /** The limit's configured value. */
  readonly max: number;
  readonly action: LimitAction;
  /** The topic the message was for, when there is one. */
  readonly topic: string | null;
  /** The client's address and port, for correlation with logs. */
  readonly peer: string;
  readonly transport: string;
}

/** `nestjs-channels:slow_consumer`. @publicApi */
export interface SlowConsumerEvent {
  /** Bytes written and not yet read by the client when it was closed. */
  readonly bufferedBytes: number;
  readonly maxBufferedBytes: number;
  readonly peer: string;
  readonly transport: string;
}

/** `nestjs-channels:publish_lost` (RedisPubSub, `awaitPublish: false`). @publicApi */
export interface PublishLostEvent {
  /** The node that published. */
  readonly node: string;
  /** PUBLISHes this RedisPubSub has lost so far, this one included. */
  readonly lost: number;
  readonly error: unknown;
}

/** The context a `TELEMETRY_TRACING.join` tracing channel publishes. @publicApi */
export interface JoinTrace {
  readonly topic: string;
  readonly channel: string;
  readonly params: unknown;
  readonly socketId: string | null;
  /** What `@Join` returned (resolved to), or an exception filter's answer; set before `end` / `asyncEnd`. */
  result?: unknown;
  /** What `@Join` threw (rejected with), set before `error`. */
  error?: unknown;
}

/** The context a `TELEMETRY_TRACING.handleIn` tracing channel publishes. @publicApi */
export interface HandleInTrace {
  readonly topic: string;
  readonly event: string;
  readonly channel: string;
  readonly payload: unknown;
  readonly socketId: string | null;
  result?: unknown;
  error?: unknown;
}

// ── The channels (one object each, looked up once) ─────────────────────────

/** @internal */
export const channels = {
  connect: channel(TELEMETRY.connect) as Channel,
  join: channel(TELEMETRY.join) as Channel,
  handleIn: channel(TELEMETRY.handleIn) as Channel,
  broadcast: channel(TELEMETRY.broadcast) as Channel,
  terminate: channel(TELEMETRY.terminate) as Channel,
  limit: channel(TELEMETRY.limit) as Channel,
  slowConsumer: channel(TELEMETRY.slowConsumer) as Channel,
  publishLost: channel(TELEMETRY.publishLost) as Channel,
};

/** @internal */
export const tracing = {
  join: tracingChannel(TELEMETRY_TRACING.join) as TracingChannel<object, JoinTrace & object>,
  handleIn: tracingChannel(TELEMETRY_TRACING.handleIn) as TracingChannel<object, HandleInTrace & object>,
};

/**
 * True when any of a tracing channel's five channels has a subscriber.
 * `TracingChannel.hasSubscribers` says so in one read, but only from Node
 * 20.13; before that the five are asked.
 */
export function isTracing(trace: TracingChannel<object, object>): boolean {
  const own = (trace as { hasSubscribers?: boolean }).hasSubscribers;
  if (own !== undefined) return own;
  return (
    trace.start.hasSubscribers ||
    trace.end.hasSubscribers ||
    trace.asyncStart.hasSubscribers ||
    trace.asyncEnd.hasSubscribers ||
    trace.error.hasSubscribers
  );
}

/** The `limit` telemetry event, built only when someone listens. */
export function publishLimit(limit: LimitName, max: number, action: LimitAction, topic: string | null, peer: string, transport: string): void {
  if (!channels.limit.hasSubscribers) return;
  const event: LimitEvent = { limit, max, action, topic, peer, transport };
  channels.limit.publish(event);
}

/** The `slow_consumer` telemetry event, built only when someone listens. */
export function publishSlowConsumer(peer: string, transport: string, bufferedBytes: number, maxBufferedBytes: number): void {
  if (!channels.slowConsumer.hasSubscribers) return;
  const event: SlowConsumerEvent = { bufferedBytes, maxBufferedBytes, peer, transport };
  channels.slowConsumer.publish(event);
}

function asIs(value: unknown): unknown {
  return value;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Calls `call` inside a tracing channel, publishing what
 * `TracingChannel.traceSync` and `tracePromise` do: `start` (with its bound
 * stores entered for the call), `end` when it returns, and for a returned
 * promise `asyncStart` / `asyncEnd` once it settles; `error` for a throw or
 * a rejection. Unlike those two it takes a handler that may return either a
 * value or a promise, and hands back what the handler returned (a thenable
 * replaced by one that settles after the events). `resultOf` turns what
 * `call` returned into the context's `result` (by default, as it is).
 */
export function traced<C extends { result?: unknown; error?: unknown }>(
  trace: TracingChannel<object, C & object>,
  context: C & object,
  call: () => unknown,
  resultOf: (value: unknown) => unknown = asIs,
): unknown {
  return trace.start.runStores(context, () => {
    let result: unknown;
    try {
      result = call();
    } catch (error) {
      context.error = error;
      trace.error.publish(context);
      trace.end.publish(context);
      throw error;
    }
    if (!isThenable(result)) {
      context.result = resultOf(result);
      trace.end.publish(context);
      return result;
    }
    trace.end.publish(context);
    return Promise.resolve(result).then(
      (value) => {
        context.result = resultOf(value);
        trace.asyncStart.publish(context);
        trace.asyncEnd.publish(context);
        return value;
      },
      (error: unknown) => {
        context.error = error;
        trace.error.publish(context);
        trace.asyncStart.publish(context);
        trace.asyncEnd.publish(context);
        throw error;
      },
    );
  });
}
