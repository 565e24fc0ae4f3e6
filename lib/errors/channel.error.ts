import { IntrinsicException } from '@nestjs/common';
import { describe } from '../channels.messages.js';

/**
 * Thrown from `@Join` it refuses the join with `payload` as the error reply;
 * thrown from `@HandleIn` it becomes an `error` reply carrying `payload`.
 * The payload is what the client sees; the message is for logs. Like Nest's
 * `HttpException` it is an `IntrinsicException`: an expected answer, which
 * Nest's default exception handler does not log.
 *
 * @example throw new ChannelError({ reason: 'unauthorized' });
 * @publicApi
 */
export class ChannelError extends IntrinsicException {
  override name = 'ChannelError';
  readonly code = 'ERR_CHANNELS_CHANNEL_ERROR';

  constructor(
    readonly payload: unknown = {},
    options?: { cause?: unknown; message?: string },
  ) {
    super(options?.message ?? `channel error: ${describe(payload)}`, { cause: options?.cause });
  }
}

