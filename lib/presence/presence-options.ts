import { ChannelsConfigurationError } from '../errors/errors.js';
import { PRESENCE_MESSAGES } from './presence.messages.js';
import type { PresenceOptions, ResolvedPresenceOptions } from './presence.types.js';

/** Presence's defaults: a dead node's presences leave within downPeriod + heartbeatPeriod = 25 s (at least 20 s). */
export const PRESENCE_DEFAULTS = {
  broadcastPeriodMs: 50,
  heartbeatPeriodMs: 5_000,
  downPeriodMs: 20_000,
} as const;

/** Merges defaults and validates, once per `forRoot`; throws `ChannelsConfigurationError`. */
export function resolvePresenceOptions(options: PresenceOptions = {}): ResolvedPresenceOptions {
  const period = (name: keyof PresenceOptions, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new ChannelsConfigurationError(PRESENCE_MESSAGES.badOption(name, value));
    }
    return value;
  };
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new ChannelsConfigurationError(PRESENCE_MESSAGES.badFetch(options.fetch));
  }
  const heartbeatPeriodMs = period('heartbeatPeriod', options.heartbeatPeriod, PRESENCE_DEFAULTS.heartbeatPeriodMs);
  const downPeriodMs = period('downPeriod', options.downPeriod, PRESENCE_DEFAULTS.downPeriodMs);
  if (downPeriodMs < 2 * heartbeatPeriodMs) {
    throw new ChannelsConfigurationError(PRESENCE_MESSAGES.downTooShort(downPeriodMs, heartbeatPeriodMs));
  }
  return Object.freeze({
    fetch: options.fetch ?? null,
    broadcastPeriodMs: period('broadcastPeriod', options.broadcastPeriod, PRESENCE_DEFAULTS.broadcastPeriodMs),
    heartbeatPeriodMs,
    downPeriodMs,
  });
}
