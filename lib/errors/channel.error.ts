/**
 * Thrown from `@Join` it refuses the join with `payload` as the error reply;
 * thrown from `@HandleIn` it becomes an `error` reply carrying `payload`.
 * The payload is what the client sees; the message is for logs.
 *
 * @example throw new ChannelError({ reason: 'unauthorized' });
 * @publicApi
 */
export class ChannelError extends Error {
  override name = 'ChannelError';
  readonly code = 'ERR_CHANNELS_CHANNEL_ERROR';

  constructor(
    readonly payload: unknown = {},
    options?: { cause?: unknown; message?: string },
  ) {
    super(options?.message ?? `channel error: ${safeJson(payload)}`, { cause: options?.cause });
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 200) ?? String(value);
  } catch {
    // a payload that cannot be stringified still makes a usable message
    return String(value);
  }
}
