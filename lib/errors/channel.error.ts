import { describe } from '../channels.messages.js';

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
    super(options?.message ?? `channel error: ${describe(payload)}`, { cause: options?.cause });
  }
}

