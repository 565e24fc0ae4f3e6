import { DEFAULTS, LONGPOLL_DEFAULTS } from './channels.constants.js';
import { ChannelsConfigurationError } from './errors/errors.js';
import type {
  ChannelsModuleOptions,
  LongPollOptions,
  ResolvedChannelsOptions,
  ResolvedLongPollOptions,
} from './interfaces/channels-module-options.interface.js';
import { resolvePresenceOptions } from './presence/presence-options.js';
import { V1JsonSerializer } from './serializers/v1-json.serializer.js';
import { V2JsonSerializer } from './serializers/v2-json.serializer.js';

/** The serializers every mount offers unless told otherwise; stateless, so shared. */
export const DEFAULT_SERIALIZERS = Object.freeze([new V1JsonSerializer(), new V2JsonSerializer()]);

/**
 * Merges defaults and validates, once, for `forRoot` and `forRootAsync`
 * alike. Throws `ChannelsConfigurationError` with one exact message per
 * problem.
 */
export function resolveOptions(options: ChannelsModuleOptions = {}): ResolvedChannelsOptions {
  const path = normalizePath(options.path ?? DEFAULTS.path);
  const positive = (name: string, value: number | undefined, fallback: number, allowZero = false): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
      throw new ChannelsConfigurationError(
        `ChannelsModule option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number; got ${String(value)}`,
      );
    }
    return value;
  };
  const count = (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ChannelsConfigurationError(`ChannelsModule option ${name} must be a positive integer; got ${String(value)}`);
    }
    return value;
  };
  const rate = (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
      throw new ChannelsConfigurationError(
        `ChannelsModule option ${name} must be a positive number of messages per second (Infinity for no limit); got ${String(value)}`,
      );
    }
    return value;
  };
  const messageRateExceeded = options.messageRateExceeded ?? 'reply';
  if (messageRateExceeded !== 'reply' && messageRateExceeded !== 'close') {
    throw new ChannelsConfigurationError(
      `ChannelsModule option messageRateExceeded must be 'reply' or 'close'; got ${String(messageRateExceeded)}`,
    );
  }
  const longpoll = resolveLongPoll(options.longpoll, positive);
  const subprotocols = options.subprotocols ?? null;
  if (subprotocols !== null && (!Array.isArray(subprotocols) || !subprotocols.every((p) => typeof p === 'string' && p !== ''))) {
    throw new ChannelsConfigurationError('ChannelsModule option subprotocols must be a list of non-empty strings');
  }
  if (options.authToken !== undefined && typeof options.authToken !== 'boolean') {
    throw new ChannelsConfigurationError(`ChannelsModule option authToken must be true or false; got ${String(options.authToken)}`);
  }
  const serializers = options.serializers ?? DEFAULT_SERIALIZERS;
  if (!Array.isArray(serializers) || serializers.length === 0) {
    throw new ChannelsConfigurationError('ChannelsModule option serializers must be a non-empty array');
  }
  const checkOrigin = options.checkOrigin ?? true;
  if (
    typeof checkOrigin !== 'boolean' &&
    typeof checkOrigin !== 'function' &&
    !(Array.isArray(checkOrigin) && checkOrigin.every((entry) => typeof entry === 'string'))
  ) {
    throw new ChannelsConfigurationError(
      'ChannelsModule option checkOrigin must be true, false, a list of origins or a function',
    );
  }
  const logger = options.logger;
  return Object.freeze({
    path,
    websocketPath: `${path === '/' ? '' : path}/websocket`,
    longpollPath: `${path === '/' ? '' : path}/longpoll`,
    socket: options.socket ?? null,
    pubsub: options.pubsub ?? null,
    presence: options.presence === undefined ? null : resolvePresenceOptions(options.presence),
    channels: options.channels ?? null,
    heartbeatTimeoutMs: positive('heartbeatTimeout', options.heartbeatTimeout, DEFAULTS.heartbeatTimeoutMs, true),
    maxFrameSize: count('maxFrameSize', options.maxFrameSize, DEFAULTS.maxFrameSize),
    maxPayloadDepth: count('maxPayloadDepth', options.maxPayloadDepth, DEFAULTS.maxPayloadDepth),
    maxQueuedMessages: count('maxQueuedMessages', options.maxQueuedMessages, DEFAULTS.maxQueuedMessages),
    maxChannelsPerSocket: positive('maxChannelsPerSocket', options.maxChannelsPerSocket, DEFAULTS.maxChannelsPerSocket),
    maxTopicLength: count('maxTopicLength', options.maxTopicLength, DEFAULTS.maxTopicLength),
    maxJoinPayloadSize: count('maxJoinPayloadSize', options.maxJoinPayloadSize, DEFAULTS.maxJoinPayloadSize),
    maxJoinsPerSecond: rate('maxJoinsPerSecond', options.maxJoinsPerSecond, DEFAULTS.maxJoinsPerSecond),
    maxMessagesPerSecond: rate('maxMessagesPerSecond', options.maxMessagesPerSecond, DEFAULTS.maxMessagesPerSecond),
    messageRateExceeded,
    maxPendingReplies: count('maxPendingReplies', options.maxPendingReplies, DEFAULTS.maxPendingReplies),
    checkOrigin,
    longpoll,
    authToken: options.authToken ?? false,
    subprotocols: subprotocols === null ? null : Object.freeze([...subprotocols]),
    serializers,
    perMessageDeflate: options.perMessageDeflate ?? false,
    maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes, DEFAULTS.maxBufferedBytes),
    shutdownTimeoutMs: positive('shutdownTimeout', options.shutdownTimeout, DEFAULTS.shutdownTimeoutMs, true),
    connectTimeoutMs: positive('connectTimeout', options.connectTimeout, DEFAULTS.connectTimeoutMs, true),
    connectLogLevel: logger === false ? false : (logger?.connect ?? 'log'),
  });
}

type PositiveCheck = (name: string, value: number | undefined, fallback: number, allowZero?: boolean) => number;

const LONGPOLL_KEYS = Object.keys(LONGPOLL_DEFAULTS);

function resolveLongPoll(given: ChannelsModuleOptions['longpoll'], positive: PositiveCheck): ResolvedLongPollOptions | null {
  if (given === undefined || given === false) return null;
  const settings: LongPollOptions = given === true ? {} : given;
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw new ChannelsConfigurationError('ChannelsModule option longpoll must be true, false or an object of long-poll settings');
  }
  const unknown = Object.keys(settings).filter((key) => !LONGPOLL_KEYS.includes(key));
  if (unknown.length > 0) {
    throw new ChannelsConfigurationError(
      `ChannelsModule option longpoll: unknown setting(s) ${unknown.join(', ')}; accepted: ${LONGPOLL_KEYS.join(', ')}`,
    );
  }
  return Object.freeze({
    windowMs: positive('longpoll.windowMs', settings.windowMs, LONGPOLL_DEFAULTS.windowMs),
    maxSessions: positive('longpoll.maxSessions', settings.maxSessions, LONGPOLL_DEFAULTS.maxSessions),
    maxBufferedMessages: positive('longpoll.maxBufferedMessages', settings.maxBufferedMessages, LONGPOLL_DEFAULTS.maxBufferedMessages),
    maxBodySize: positive('longpoll.maxBodySize', settings.maxBodySize, LONGPOLL_DEFAULTS.maxBodySize),
    pubsubTimeoutMs: positive('longpoll.pubsubTimeoutMs', settings.pubsubTimeoutMs, LONGPOLL_DEFAULTS.pubsubTimeoutMs),
  });
}

function normalizePath(path: string): string {
  if (typeof path !== 'string') throw new ChannelsConfigurationError('ChannelsModule option path must be a string');
  const trimmed = `/${path}`.replace(/\/+/g, '/').replace(/\/$/, '');
  return trimmed === '' ? '/' : trimmed;
}
