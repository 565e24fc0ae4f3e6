/**
 * The V2 serializer, chosen for `vsn` 2.0.x and the
 * phoenix.js default. Text frames are JSON arrays
 * `[join_ref, ref, topic, event, payload]`; a binary payload travels in a
 * WebSocket binary frame whose first byte says what it is:
 *
 *   client push (kind 0)  0 |jr| |ref| |topic| |event|   jr ref topic event  payload
 *   server push (kind 0)  0 |jr| |topic| |event|         jr topic event      payload  (no ref)
 *   reply       (kind 1)  1 |jr| |ref| |topic| |status|  jr ref topic status response
 *   broadcast   (kind 2)  2 |topic| |event|              topic event         payload
 *
 * Each length is one byte, so a string field is at most 255 bytes of UTF-8.
 */
import { DEFAULTS, WIRE } from '../channels.constants.js';
import { MalformedMessageError, SerializationError } from '../errors/errors.js';
import { describe } from '../channels.messages.js';
import { PREVIEW_CHARS, typeName } from './error-text.js';
import { nestsDeeperThan } from './json-depth.js';
import { isBinaryPayload, isRef, toBuffer, type Message, type Ref } from './message.js';
import type { Serializer } from './serializer.interface.js';

const KIND_PUSH = 0;
const KIND_REPLY = 1;
const KIND_BROADCAST = 2;

/** Kind byte plus four length bytes: the only header a client sends. */
const CLIENT_PUSH_HEADER = 5;

/** One unsigned length byte per field. */
const MAX_FIELD_BYTES = 255;

/**
 * Encodes and decodes V2 frames, JSON text and binary.
 *
 * A frame is binary exactly when its payload (or reply response) is a
 * `Uint8Array` or `ArrayBuffer`; decoded binary payloads are `Buffer`s that
 * share memory with the received frame.
 *
 * @example
 * const v2 = new V2JsonSerializer();
 * v2.encodeReply('3', '7', 'room:1', 'ok', { id: 42 });
 * // '["3","7","room:1","phx_reply",{"status":"ok","response":{"id":42}}]'
 * v2.encodeBroadcast('topic', 'event', Buffer.from('efg'));
 * // <Buffer 02 05 05 74 6f 70 69 63 65 76 65 6e 74 65 66 67>  (P-52)
 *
 * @publicApi
 */
export class V2JsonSerializer implements Serializer {
  readonly vsn = '2.0.0';

  /**
   * Decodes a V2 text frame (a JSON array of at least five elements; extras
   * are ignored, P-48) or a binary kind-0 client push (P-49). Throws
   * `MalformedMessageError` for anything else, including a
   * payload nesting arrays and objects more than `maxDepth` levels deep.
   */
  decode(data: Buffer | string, isBinary: boolean, maxDepth: number = DEFAULTS.maxPayloadDepth): Message {
    if (isBinary) {
      // ws always hands binary frames over as Buffers; a string here is taken as its UTF-8 bytes.
      return decodeBinary(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    }
    return typeof data === 'string' ? decodeText(data, null, maxDepth) : decodeText(data.toString('utf8'), data, maxDepth);
  }

  /**
   * A push, `phx_close` or `phx_error`. A binary payload becomes a kind-0
   * frame, which has no ref slot (P-51); otherwise the payload must be a JSON
   * object. Throws `SerializationError` when it is neither,
   * when JSON cannot encode it, or when a binary field exceeds 255 bytes (P-53).
   */
  encodeMessage(joinRef: Ref, ref: Ref, topic: string, event: string, payload: unknown): string | Buffer {
    if (isBinaryPayload(payload)) {
      return binaryFrame(KIND_PUSH, 'push', PUSH_FIELDS, [refToWire(joinRef), topic, event], toBuffer(payload));
    }
    assertObjectPayload(payload, 'push', event);
    return stringify([joinRef, ref, topic, event, payload]);
  }

  /**
   * A `phx_reply`. A binary response becomes a kind-1 frame
   * with the status in the event slot (P-50); any other response may be any
   * JSON value (P-39), and an undefined one is sent as `{}`, the status-only
   * form. Throws `SerializationError` as `encodeMessage` does.
   */
  encodeReply(joinRef: Ref, ref: Ref, topic: string, status: string, response: unknown): string | Buffer {
    if (isBinaryPayload(response)) {
      return binaryFrame(KIND_REPLY, 'reply', REPLY_FIELDS, [refToWire(joinRef), refToWire(ref), topic, status], toBuffer(response));
    }
    return stringify([
      joinRef,
      ref,
      topic,
      WIRE.reply,
      { status, response: response === undefined ? {} : response },
    ]);
  }

  /**
   * A fastlaned broadcast, `[null, null, topic, event, payload]` (P-42), or
   * `[null, "<epoch>.<offset>", topic, event, payload]` when it has a history
   * position (`ref`), or a kind-2 frame when the payload is binary (P-52):
   * that frame has no ref slot, so a position cannot ride on it. Non-binary
   * payloads must be JSON objects. Throws `SerializationError`.
   */
  encodeBroadcast(topic: string, event: string, payload: unknown, ref: Ref = null): string | Buffer {
    if (isBinaryPayload(payload)) {
      return binaryFrame(KIND_BROADCAST, 'broadcast', BROADCAST_FIELDS, [topic, event], toBuffer(payload));
    }
    assertObjectPayload(payload, 'broadcast', event);
    return stringify([null, ref, topic, event, payload]);
  }
}

// ── Decoding ───────────────────────────────────────────────────────────────

function decodeText(text: string, bytes: Buffer | null, maxDepth: number): Message {
  // The frame array is one level around the payload.
  if (nestsDeeperThan(text, bytes, maxDepth + 1)) {
    throw new MalformedMessageError(`V2 text frame: the payload nests deeper than ${maxDepth} levels (maxPayloadDepth)`);
  }
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch (error) {
    throw new MalformedMessageError(`V2 text frame is not valid JSON: ${describe(text, PREVIEW_CHARS)}`, {
      cause: error,
    });
  }
  if (!Array.isArray(frame)) {
    throw new MalformedMessageError(`V2 text frame must be a JSON array, got ${typeName(frame)}`);
  }
  if (frame.length < 5) {
    throw new MalformedMessageError(
      `V2 text frame has ${frame.length} elements; expected [join_ref, ref, topic, event, payload]`,
    );
  }
  // Elements past the fifth are ignored, as Phoenix does (P-48).
  const [joinRef, ref, topic, event, payload] = frame as unknown[];
  if (!isRef(joinRef)) {
    throw new MalformedMessageError(
      `V2 frame: join_ref must be a string, number or null, got ${typeName(joinRef)}`,
    );
  }
  if (!isRef(ref)) {
    throw new MalformedMessageError(`V2 frame: ref must be a string, number or null, got ${typeName(ref)}`);
  }
  if (typeof topic !== 'string') {
    throw new MalformedMessageError(`V2 frame: topic must be a string, got ${typeName(topic)}`);
  }
  if (typeof event !== 'string') {
    throw new MalformedMessageError(`V2 frame: event must be a string, got ${typeName(event)}`);
  }
  return { joinRef, ref, topic, event, payload };
}

/**
 * A kind-0 client push: `[0, J, R, T, E]`, then join_ref, ref, topic and event
 * (J, R, T and E bytes of UTF-8), then the payload up to the end of the frame.
 */
function decodeBinary(frame: Buffer): Message {
  if (frame.length === 0) {
    throw new MalformedMessageError('V2 binary frame is empty');
  }
  // Clients only ever send pushes; kinds 1 and 2 flow server → client.
  if (frame[0] !== KIND_PUSH) {
    throw new MalformedMessageError(`V2 binary frame has kind ${frame[0]}; clients may only send kind 0 (push)`);
  }
  if (frame.length < CLIENT_PUSH_HEADER) {
    throw new MalformedMessageError(
      `V2 binary frame of ${frame.length} bytes is shorter than its ${CLIENT_PUSH_HEADER}-byte header`,
    );
  }
  const refStart = CLIENT_PUSH_HEADER + frame[1];
  const topicStart = refStart + frame[2];
  const eventStart = topicStart + frame[3];
  const payloadStart = eventStart + frame[4];
  if (frame.length < payloadStart) {
    throw new MalformedMessageError(
      `V2 binary frame of ${frame.length} bytes is shorter than the ${payloadStart} bytes its header declares`,
    );
  }
  return {
    // Binary refs are always strings: an empty field is '' and never null.
    joinRef: frame.toString('utf8', CLIENT_PUSH_HEADER, refStart),
    ref: frame.toString('utf8', refStart, topicStart),
    topic: frame.toString('utf8', topicStart, eventStart),
    event: frame.toString('utf8', eventStart, payloadStart),
    // A view, not a copy: binary payloads can be large and the frame is not reused.
    payload: frame.subarray(payloadStart),
  };
}

// ── Binary encoding ────────────────────────────────────────────────────────
// The three server frames share one layout: the kind byte, one length byte
// per string field, the fields, then the payload. The frame is measured,
// allocated once and written in place.

const PUSH_FIELDS = ['join_ref', 'topic', 'event'] as const;
const REPLY_FIELDS = ['join_ref', 'ref', 'topic', 'status'] as const;
const BROADCAST_FIELDS = ['topic', 'event'] as const;

/**
 * Push `[0, J, T, E]` (no ref slot, P-51), reply `[1, J, R, T, S]` (P-50),
 * broadcast `[2, T, E]` (P-52): `fields` in the order of `names`.
 */
function binaryFrame(
  kind: number,
  what: string,
  names: readonly string[],
  fields: readonly string[],
  payload: Buffer,
): Buffer {
  const header = 1 + fields.length;
  const lengths = fields.map((field, i) => fieldBytes(field, names[i]!, what));
  let size = header + payload.length;
  for (const length of lengths) size += length;
  const frame = Buffer.allocUnsafe(size);
  frame[0] = kind;
  let at = header;
  for (let i = 0; i < fields.length; i++) {
    frame[1 + i] = lengths[i]!;
    at += frame.write(fields[i]!, at, lengths[i], 'utf8');
  }
  payload.copy(frame, at);
  return frame;
}

/**
 * The UTF-8 size of one string field. Over 255 bytes it cannot be framed:
 * Phoenix raises and phoenix.js refuses likewise, so we throw rather than
 * truncate (P-53).
 */
function fieldBytes(value: string, field: string, frame: string): number {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_FIELD_BYTES) {
    throw new SerializationError(
      `cannot encode binary ${frame}: ${field} is ${bytes} bytes of UTF-8, the limit is ${MAX_FIELD_BYTES}`,
    );
  }
  return bytes;
}

/** Binary frames carry refs as strings; null becomes the empty field. */
function refToWire(ref: Ref): string {
  // `== null` also covers a caller that passed undefined despite the type.
  return ref == null ? '' : String(ref);
}

// ── JSON encoding ──────────────────────────────────────────────────────────

/**
 * A server push or broadcast carries an object (or binary)
 * payload. phoenix.js would accept anything, but Phoenix raises here, and
 * matching it keeps code written against us portable.
 */
function assertObjectPayload(payload: unknown, frame: 'push' | 'broadcast', event: string): void {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new SerializationError(
      `cannot ${frame} "${event}" on V2: the payload must be an object or binary, got ${typeName(payload)}`,
    );
  }
}

/**
 * JSON.stringify of the whole array. Measured against concatenating the
 * stringified parts, it was as fast or faster on small and large payloads.
 * Failures (cycles, BigInt, a throwing toJSON) become `SerializationError`.
 */
function stringify(frame: readonly unknown[]): string {
  try {
    return JSON.stringify(frame);
  } catch (error) {
    throw new SerializationError(`cannot encode V2 frame as JSON: ${describe(error)}`, { cause: error });
  }
}
