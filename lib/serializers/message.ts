/**
 * The logical messages of the Phoenix protocol. A binary payload is a `Buffer`
 * (decoding) or any `Uint8Array` / `ArrayBuffer` (encoding); anything else is
 * a JSON value.
 */

/** A ref or join_ref exactly as the client sent it (echoed with its JSON type). */
export type Ref = string | number | null;

/** A client frame, decoded once. */
export interface Message {
  readonly joinRef: Ref;
  readonly ref: Ref;
  readonly topic: string;
  readonly event: string;
  readonly payload: unknown;
}

/**
 * A broadcast as the PubSub carries it: no refs. On a topic that keeps
 * history it has a `position`, `"<epoch>.<offset>"`, given once by the
 * PubSub; it travels in the ref slot of the frame. Absent elsewhere, so
 * what `@HandleInfo` and `ChannelsEndpoint.subscribe` listeners receive on
 * other topics is `{ topic, event, payload }` as before.
 */
export interface Broadcast<T = unknown> {
  readonly topic: string;
  readonly event: string;
  readonly payload: T;
  readonly position?: string | null;
}

/** True when the payload travels as a binary frame. */
export function isBinaryPayload(payload: unknown): payload is Uint8Array | ArrayBuffer {
  return payload instanceof Uint8Array || payload instanceof ArrayBuffer;
}

/** Broadcast payloads must be objects or binary; checked before publishing. */
export function isBroadcastPayload(payload: unknown): boolean {
  if (isBinaryPayload(payload)) return true;
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload);
}

/** True for a ref or join_ref a client may send: a string, a number or null. */
export function isRef(value: unknown): value is Ref {
  return value === null || typeof value === 'string' || typeof value === 'number';
}

/** A binary payload as a Buffer, without copying. */
export function toBuffer(payload: Uint8Array | ArrayBuffer): Buffer {
  if (Buffer.isBuffer(payload)) return payload;
  if (payload instanceof ArrayBuffer) return Buffer.from(payload);
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}
