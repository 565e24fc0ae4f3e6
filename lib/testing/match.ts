/**
 * Partial matching in the manner of Elixir patterns:
 * object patterns match subsets at every level, arrays and scalars match
 * exactly, a function is a guard on the value.
 */

/** A pattern: a value to match partially, or a guard function. */
export type Pattern = unknown;

/** True when `value` matches `pattern`. */
export function matches(pattern: Pattern, value: unknown): boolean {
  if (typeof pattern === 'function') return (pattern as (v: unknown) => unknown)(value) === true;
  if (pattern === value) return true;
  if (pattern instanceof Uint8Array || value instanceof Uint8Array) {
    return (
      pattern instanceof Uint8Array &&
      value instanceof Uint8Array &&
      Buffer.compare(Buffer.from(pattern.buffer, pattern.byteOffset, pattern.byteLength), Buffer.from(value.buffer, value.byteOffset, value.byteLength)) === 0
    );
  }
  if (Array.isArray(pattern)) {
    return Array.isArray(value) && value.length === pattern.length && pattern.every((item, i) => matches(item, value[i]));
  }
  if (typeof pattern === 'object' && pattern !== null) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    return Object.entries(pattern).every(
      ([key, expected]) => Object.prototype.hasOwnProperty.call(value, key) && matches(expected, (value as Record<string, unknown>)[key]),
    );
  }
  return Number.isNaN(pattern) && Number.isNaN(value);
}
