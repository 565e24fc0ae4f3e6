/**
 * V2 binary frames by hand, for wire-level tests: build a
 * client push, take a server frame apart. Every length is one byte.
 */

/** A client push (kind 0): `0 |jr| |ref| |topic| |event|` then the strings, then the payload. */
export function clientPush(joinRef: string, ref: string, topic: string, event: string, payload: Buffer): Buffer {
  const fields = [joinRef, ref, topic, event].map((field) => Buffer.from(field, 'utf8'));
  for (const field of fields) {
    if (field.length > 255) throw new Error(`binary field of ${field.length} bytes cannot be framed`);
  }
  return Buffer.concat([Buffer.from([0, ...fields.map((field) => field.length)]), ...fields, payload]);
}

/** A server frame taken apart; `ref` is absent from kind-0 and kind-2 frames, `joinRef` from kind 2. */
export interface ServerBinaryFrame {
  kind: number;
  joinRef?: string;
  ref?: string;
  topic: string;
  /** The event, or for a reply (kind 1) the status. */
  event: string;
  payload: Buffer;
}

/** Reads a server push (0), reply (1) or broadcast (2); throws on anything else. */
export function parseServerFrame(bytes: Buffer): ServerBinaryFrame {
  const kind = bytes[0];
  const counts: Record<number, string[]> = {
    0: ['joinRef', 'topic', 'event'],
    1: ['joinRef', 'ref', 'topic', 'event'],
    2: ['topic', 'event'],
  };
  const names = kind === undefined ? undefined : counts[kind];
  if (names === undefined) throw new Error(`unknown server frame kind ${kind}`);
  const out: Record<string, unknown> = { kind };
  let at = 1 + names.length;
  names.forEach((name, index) => {
    const length = bytes[1 + index]!;
    out[name] = bytes.toString('utf8', at, at + length);
    at += length;
  });
  out.payload = bytes.subarray(at);
  return out as unknown as ServerBinaryFrame;
}

/** `"00 02 03"` → bytes; whitespace ignored. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}
