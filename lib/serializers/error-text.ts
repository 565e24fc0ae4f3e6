/**
 * Words for errors about client input (frames, `vsn`), shared by the
 * serializers and negotiation: they name a value's type or quote a short,
 * escaped preview, never the whole value.
 */

/** How much of a bad frame or `vsn` an error message may quote, so a log line stays short. */
const PREVIEW_CHARS = 100;

/** A type name for error messages; never the value itself. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** The start of the client's text, quoted and escaped so it is safe on one log line. */
export function preview(text: string): string {
  return JSON.stringify(text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text);
}

/** The first line of a thrown error's message (V8 spells out cycles over several lines). */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n', 1)[0] ?? '') : 'a non-Error was thrown';
}
