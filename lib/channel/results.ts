/**
 * The values a handler returns to say what goes on the wire: `reply`,
 * `noreply`, `stop`, or any other value as the ok reply's response.
 */

/** A reply with a status and a response. @publicApi */
export class Reply<Response = unknown> {
  /** Tells a reply apart from other results in the typings. */
  declare private readonly kind: 'reply';

  constructor(
    readonly status: string,
    readonly response: Response,
  ) {}
}

/** Send nothing. @publicApi */
export class NoReply {
  static readonly instance = new NoReply();
  /** Tells `noreply()` apart from other results in the typings. */
  declare private readonly kind: 'noreply';
  private constructor() {}
}

/** A reason the channel ends with `phx_close` and no error log. */
export type GracefulReason = 'normal' | 'shutdown' | { shutdown: unknown };

/** Stop the channel, after sending the reply if there is one. @publicApi */
export class Stop {
  /** Tells a stop apart from other results in the typings. */
  declare private readonly kind: 'stop';

  constructor(
    readonly reason: unknown,
    readonly reply: Reply | null,
  ) {}
}

/**
 * What `@HandleOut` and `@HandleInfo` may return (or resolve with): nothing,
 * `noreply()`, or `stop(reason)`.
 *
 * @publicApi
 */
export type CallbackResult = void | undefined | NoReply | Stop;

/** What `@Terminate` may return (or resolve with): nothing, or `noreply()`. @publicApi */
export type TerminateResult = void | undefined | NoReply;

/** `reply('ok', payload)`: answers the request; `reply('ok')` answers `{}`. @publicApi */
export function reply(status: string): Reply<Record<string, never>>;
export function reply<Response>(status: string, payload: Response): Reply<Response>;
export function reply(status: string, payload?: unknown): Reply {
  if (typeof status !== 'string') throw new TypeError(`reply(status, payload?): status must be a string, got ${typeof status}`);
  return new Reply(status, payload === undefined ? {} : payload);
}

/** `noreply()`: send nothing. @publicApi */
export function noreply(): NoReply {
  return NoReply.instance;
}

/**
 * `stop(reason, reply?)`: end the channel. `'normal'`, `'shutdown'` and
 * `{ shutdown: x }` end it with `phx_close`; any other reason with
 * `phx_error` and an error log.
 *
 * @publicApi
 */
export function stop(reason: unknown, replyValue?: Reply): Stop {
  return new Stop(reason, replyValue ?? null);
}

/** True for `normal`, `shutdown` and `{ shutdown: x }`: the channel ends with phx_close. */
export function isGracefulReason(reason: unknown): reason is GracefulReason {
  if (reason === 'normal' || reason === 'shutdown') return true;
  return typeof reason === 'object' && reason !== null && 'shutdown' in reason;
}

/**
 * What a handler returned when it was called through Nest's context
 * machinery, kept apart from an exception filter's answer (which arrives
 * unwrapped). Internal: handlers never see it.
 */
export class Returned {
  constructor(readonly value: unknown) {}
}
