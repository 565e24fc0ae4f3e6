import { describe } from '../channels.messages.js';
import type { ResolvedHistoryOptions } from './history.types.js';

/** The largest `size` accepted: a replay is written in one go, so it must stay a bounded burst. */
export const MAX_HISTORY_SIZE = 100_000;

/**
 * Checks `@Channel(…, { history })`: null when absent, the resolved options,
 * or a sentence saying what is wrong (the explorer lists it at start-up).
 */
export function resolveHistoryOptions(given: unknown): ResolvedHistoryOptions | null | string {
  if (given === undefined) return null;
  if (typeof given !== 'object' || given === null) {
    return `history must be { size, ttlMs }; got ${describe(given)}`;
  }
  const { size, ttlMs } = given as { size?: unknown; ttlMs?: unknown };
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > MAX_HISTORY_SIZE) {
    return `history.size must be an integer from 1 to ${MAX_HISTORY_SIZE}; got ${describe(size)}`;
  }
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < 1) {
    return `history.ttlMs must be a whole number of ms >= 1; got ${describe(ttlMs)}`;
  }
  return { size, ttlMs };
}
