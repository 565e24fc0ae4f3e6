/**
 * The values a handler returns to say what goes on the wire (API.md,
 * "Rules behind the example"; PROTOCOL.md 5.2).
 */

/** A reply with a status and a response. @publicApi */
export class Reply {
  constructor(
    readonly status: string,
    readonly response: unknown,
  ) {}
}

/** Send nothing. @publicApi */
export class NoReply {
  static readonly instance = new NoReply();
  private constructor() {}
}

/** A reason the channel ends with `phx_close` and no error log. */
export type GracefulReason = 'normal' | 'shutdown' | { shutdown: unknown };

/** Stop the channel, after sending the reply if there is one. @publicApi */
export class Stop {
  constructor(
    readonly reason: unknown,
    readonly reply: Reply | null,
  ) {}
}

/** `reply('ok', payload)`: answers the request; `reply('ok')` answers `{}`. @publicApi */
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

/** True for `normal`, `shutdown` and `{ shutdown: x }` (PROTOCOL.md 4.6). */
export function isGracefulReason(reason: unknown): reason is GracefulReason {
  if (reason === 'normal' || reason === 'shutdown') return true;
  return typeof reason === 'object' && reason !== null && 'shutdown' in reason;
}
