/**
 * Positions on the wire: `"<epoch>.<offset>"`, the epoch a string of
 * `[A-Za-z0-9_-]`, the offset a decimal integer.
 */
import { randomBytes } from 'node:crypto';
import type { HistoryPosition } from './history.types.js';

const POSITION = /^([A-Za-z0-9_-]{1,64})\.(0|[1-9][0-9]{0,15})$/;

/** The position in `value`, or null when it is not one. */
export function parsePosition(value: unknown): HistoryPosition | null {
  if (typeof value !== 'string') return null;
  const match = POSITION.exec(value);
  if (match === null) return null;
  const offset = Number(match[2]);
  return Number.isSafeInteger(offset) ? { epoch: match[1]!, offset } : null;
}

export function formatPosition(epoch: string, offset: number): string {
  return `${epoch}.${offset}`;
}

/**
 * New epochs: 8 random characters for this process, then a counter, so two
 * processes never make the same epoch and one process never makes the same
 * one twice (a topic's history lost and made again gets a new epoch).
 */
export class EpochSource {
  private readonly stem = randomBytes(6).toString('base64url');
  private count = 0;

  next(): string {
    return `${this.stem}${(++this.count).toString(36)}`;
  }
}
