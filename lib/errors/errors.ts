/**
 * Internal error classes with stable codes (the "Errors" tables of docs/api.md).
 * `ChannelError`, the one users throw, lives in `channel.error.ts`.
 */
import { WsException } from '@nestjs/websockets';
import { REASON } from '../channels.constants.js';

/** The stable `code` of each error the library throws (the "Errors" table of docs/api.md). @publicApi */
export const ERROR_CODE = {
  malformedMessage: 'ERR_CHANNELS_MALFORMED_MESSAGE',
  serialization: 'ERR_CHANNELS_SERIALIZATION',
  invalidResult: 'ERR_CHANNELS_INVALID_RESULT',
  configuration: 'ERR_CHANNELS_CONFIGURATION',
  notJoined: 'ERR_CHANNELS_NOT_JOINED',
  noRef: 'ERR_CHANNELS_NO_REF',
  pubsubUnavailable: 'ERR_CHANNELS_PUBSUB_UNAVAILABLE',
  closed: 'ERR_CHANNELS_CLOSED',
  guardRefused: 'ERR_CHANNELS_GUARD_REFUSED',
  invalidArgument: 'ERR_CHANNELS_INVALID_ARGUMENT',
  alreadyTracked: 'ERR_CHANNELS_ALREADY_TRACKED',
  noPresence: 'ERR_CHANNELS_NO_PRESENCE',
} as const;

/** One of the `ERROR_CODE` values. @publicApi */
export type ErrorCode = (typeof ERROR_CODE)[keyof typeof ERROR_CODE];

/** Base of every error the library throws on purpose. */
export class ChannelsError extends Error {
  override name = 'ChannelsError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A client frame the protocol calls malformed (not a frame this server can route). */
export class MalformedMessageError extends ChannelsError {
  override name = 'MalformedMessageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR_CODE.malformedMessage, message, options);
  }
}

/** An outgoing frame that cannot be encoded (a field over 255 bytes, binary on V1, a non-object push payload). */
export class SerializationError extends ChannelsError {
  override name = 'SerializationError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR_CODE.serialization, message, options);
  }
}

/** Start-up configuration errors: bad patterns, duplicate handlers, bad options. */
export class ChannelsConfigurationError extends ChannelsError {
  override name = 'ChannelsConfigurationError';
  constructor(message: string) {
    super(ERROR_CODE.configuration, message);
  }
}

/** The PubSub could not publish (e.g. Redis is down): the broadcast went nowhere. */
export class PubSubUnavailableError extends ChannelsError {
  override name = 'PubSubUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR_CODE.pubsubUnavailable, message, options);
  }
}

/**
 * A guard answered false. It is a `WsException` whose error is
 * `{ reason: 'unauthorized' }`, as the client sees it, so an exception filter
 * written for gateways (`@Catch(WsException)`) catches it too.
 */
export class GuardRefusedError extends WsException {
  override name = 'GuardRefusedError';
  readonly code = ERROR_CODE.guardRefused;
  constructor() {
    super({ reason: REASON.unauthorized });
    this.message = 'a guard refused the request';
  }
}
