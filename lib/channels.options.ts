import { DEFAULTS } from './channels.constants.js';
import { ChannelsConfigurationError } from './errors/errors.js';
import type {
  ChannelsModuleOptions,
  ResolvedChannelsOptions,
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
  if (options.longpoll !== undefined && options.longpoll !== false) {
    throw new ChannelsConfigurationError(
      'ChannelsModule option longpoll: the long-poll transport is not available in this version; leave it unset or false',
    );
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
    socket: options.socket ?? null,
    pubsub: options.pubsub ?? null,
    presence: options.presence === undefined ? null : resolvePresenceOptions(options.presence),
    channels: options.channels ?? null,
    heartbeatTimeoutMs: positive('heartbeatTimeout', options.heartbeatTimeout, DEFAULTS.heartbeatTimeoutMs, true),
    maxFrameSize: options.maxFrameSize === undefined ? null : positive('maxFrameSize', options.maxFrameSize, 0),
    maxChannelsPerSocket: positive('maxChannelsPerSocket', options.maxChannelsPerSocket, DEFAULTS.maxChannelsPerSocket),
    checkOrigin,
    serializers,
    perMessageDeflate: options.perMessageDeflate ?? false,
    maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes, DEFAULTS.maxBufferedBytes),
    shutdownTimeoutMs: positive('shutdownTimeout', options.shutdownTimeout, DEFAULTS.shutdownTimeoutMs, true),
    connectLogLevel: logger === false ? false : (logger?.connect ?? 'log'),
  });
}

function normalizePath(path: string): string {
  if (typeof path !== 'string') throw new ChannelsConfigurationError('ChannelsModule option path must be a string');
  const trimmed = `/${path}`.replace(/\/+/g, '/').replace(/\/$/, '');
  return trimmed === '' ? '/' : trimmed;
}
