/**
 * Words for errors about client input (frames, `vsn`), shared by the
 * serializers and negotiation. Values themselves are quoted with
 * `describe` (channels.messages.ts), which shows a short, escaped preview,
 * never the whole value.
 */

/** How much of a bad frame or `vsn` an error message may quote, so a log line stays short. */
export const PREVIEW_CHARS = 100;

/** A type name for error messages; never the value itself. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
