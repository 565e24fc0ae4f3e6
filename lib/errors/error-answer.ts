import { HttpException } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { ChannelError } from './channel.error.js';

/** `answerFor` found nothing to answer: the error crashes the channel. */
export const NO_ANSWER: unique symbol = Symbol('NO_ANSWER');

/**
 * The error reply (or join refusal) a thrown error stands for, or
 * `NO_ANSWER`: `ChannelError` answers its payload, `WsException` its error,
 * `HttpException` its response (a string as `{ reason: string }`). A guard
 * that answered false arrives here as a `WsException` whose error is
 * `{ reason: 'unauthorized' }`. Anything else has no answer.
 */
export function answerFor(error: unknown): unknown {
  if (error instanceof ChannelError) return error.payload;
  if (error instanceof WsException) return asPayload(error.getError(), error);
  if (error instanceof HttpException) return asPayload(error.getResponse(), error);
  return NO_ANSWER;
}

function asPayload(value: unknown, error: Error): unknown {
  if (typeof value === 'object' && value !== null) return value;
  return { reason: typeof value === 'string' ? value : error.message };
}
