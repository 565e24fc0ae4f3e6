/**
 * The wire format of a broadcast on Redis: one envelope per broadcast, built
 * once on the publishing node and decoded once on each receiving node.
 *
 * ```
 * field     bytes            content
 * kind      1                'J': the payload is JSON text; 'B': the payload is raw bytes
 *                            (Buffer/Uint8Array/ArrayBuffer). Also the version: anything else is refused.
 * origin    16               the publishing RedisPubSub's random id, lowercase hex (it drops its own copy)
 * topic     <len>:<topic>    UTF-8 byte length in decimal, ':', the topic
 * event     <len>:<event>    likewise
 * payload   rest             JSON text ('J') or the bytes as they are ('B')
 * ```
 *
 * e.g. `J3f9c0e6a1b2d4c5e10:room:lobby7:new_msg{"body":"hi"}`
 *
 * A broadcast on a topic that keeps history (kind 'H', JSON only) has two
 * more fields: after the origin `seq` (`<len>:<decimal>`, the publisher's
 * number for it, 0 unless it must skip a local sender), and after the event
 * its `position` (`<len>:<epoch>.<offset>`), which only Redis knows: the
 * publisher sends the part before the position and the JSON apart, and the
 * script that gives the position joins them, stores the envelope in the
 * topic's stream and PUBLISHes it, in one atomic step.
 *
 * e.g. `H3f9c0e6a1b2d4c5e1:010:room:lobby7:new_msg10:Xa3_9kQz1.7{"body":"hi"}`
 *
 * Why this shape (bench/redis-subscription-design.ts measures it against a
 * fixed binary header and against one JSON document with base64): a JSON
 * broadcast is one JS string built around one JSON.stringify, which ioredis
 * writes as it is (encoding costs about what plain JSON does and roughly
 * half of filling a binary header; the whole PUBLISH path is within noise of
 * both); a binary payload travels as raw bytes (16 KiB: 25% smaller and
 * about 4x less publisher CPU per PUBLISH than base64). A receiving node
 * reads origin and topic without parsing the payload, so its own copies and
 * broadcasts for topics it has no subscriber of cost no JSON.parse.
 */
import { randomBytes } from 'node:crypto';
import { SerializationError } from '../errors/errors.js';
import { isBinaryPayload, toBuffer, type Broadcast } from '../serializers/message.js';

const KIND_JSON = 0x4a; // 'J'
const KIND_BINARY = 0x42; // 'B'
/** 'H': a broadcast on a history topic. */
export const KIND_HISTORY = 0x48;
const COLON = 0x3a;
const ZERO = 0x30;
const ORIGIN_AT = 1;
const ORIGIN_CHARS = 16;
const FIELDS_AT = ORIGIN_AT + ORIGIN_CHARS;

/** A publishing identity: 8 random bytes as 16 hex characters, and the same as bytes for comparing. */
export interface Origin {
  readonly text: string;
  readonly bytes: Buffer;
}

/** A fresh random origin for one RedisPubSub instance. */
export function newOrigin(): Origin {
  const text = randomBytes(ORIGIN_CHARS / 2).toString('hex');
  return { text, bytes: Buffer.from(text, 'latin1') };
}

/**
 * Builds the envelope: a string for a JSON payload, a Buffer for a binary
 * one. Throws `SerializationError` when the payload is not JSON-serialisable.
 */
export function encodeEnvelope(origin: Origin, topic: string, event: string, payload: unknown): string | Buffer {
  if (isBinaryPayload(payload)) {
    const head = `B${origin.text}${Buffer.byteLength(topic)}:${topic}${Buffer.byteLength(event)}:${event}`;
    const bytes = toBuffer(payload);
    const headBytes = Buffer.byteLength(head);
    const out = Buffer.allocUnsafe(headBytes + bytes.length);
    out.write(head, 0, 'utf8');
    bytes.copy(out, headBytes);
    return out;
  }
  return `J${origin.text}${Buffer.byteLength(topic)}:${topic}${Buffer.byteLength(event)}:${event}${payloadJson(topic, event, payload)}`;
}

/** The payload as JSON text; throws `SerializationError` when JSON cannot carry it. */
function payloadJson(topic: string, event: string, payload: unknown): string {
  try {
    // JSON.stringify(undefined) is undefined: it travels as null, as it would to a client.
    return JSON.stringify(payload) ?? 'null';
  } catch (error) {
    throw new SerializationError(`broadcast '${event}' on ${topic}: the payload cannot be serialised to JSON for Redis`, {
      cause: error,
    });
  }
}

/** True when this envelope was published by `origin` (the node's own copy). */
export function isFromOrigin(message: Buffer, origin: Origin): boolean {
  return (
    message.length >= FIELDS_AT && message.compare(origin.bytes, 0, ORIGIN_CHARS, ORIGIN_AT, ORIGIN_AT + ORIGIN_CHARS) === 0
  );
}

/**
 * Decodes an envelope. Returns null without decoding the payload when
 * `wanted(topic)` is false; throws `EnvelopeError` on anything that is not a
 * version-1 envelope.
 */
export function decodeEnvelope(message: Buffer, wanted: ((topic: string) => boolean) | null): Broadcast | null {
  const kind = message[0];
  if (kind !== KIND_JSON && kind !== KIND_BINARY) {
    throw new EnvelopeError(kind === undefined ? 'empty' : `unknown kind byte 0x${kind.toString(16)}`);
  }
  const topicField = readField(message, FIELDS_AT, 'topic');
  const topic = message.toString('utf8', topicField.start, topicField.end);
  if (wanted !== null && !wanted(topic)) return null;
  const eventField = readField(message, topicField.end, 'event');
  const event = message.toString('utf8', eventField.start, eventField.end);
  let payload: unknown;
  if (kind === KIND_BINARY) {
    // A view, not a copy: the Redis reply decoder hands every message its own slice of a socket read.
    payload = message.subarray(eventField.end);
  } else {
    try {
      payload = JSON.parse(message.toString('utf8', eventField.end));
    } catch (error) {
      throw new EnvelopeError('the payload is not JSON', { cause: error });
    }
  }
  return { topic, event, payload };
}

/** Reads `<decimal length>:` at `at`; returns where the field's bytes start and end. */
function readField(message: Buffer, at: number, name: string): { start: number; end: number } {
  let length = 0;
  let i = at;
  for (; i < message.length && i < at + 10; i++) {
    const c = message[i]!;
    if (c === COLON) break;
    const digit = c - ZERO;
    if (digit < 0 || digit > 9) throw new EnvelopeError(`bad ${name} length`);
    length = length * 10 + digit;
  }
  if (i === at || message[i] !== COLON) throw new EnvelopeError(`bad ${name} length`);
  const start = i + 1;
  const end = start + length;
  if (end > message.length) throw new EnvelopeError(`${name} runs past the end`);
  return { start, end };
}

/** A message on our channels that is not a version-1 envelope. */
export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

// ── History envelopes ('H') ─────────────────────────────────────────────────

/** A decoded 'H' envelope: the broadcast with its position, split, and who sent it. */
export interface KeptEnvelope {
  readonly broadcast: Broadcast;
  readonly epoch: string;
  readonly offset: number;
  /** The publisher's number for it (0: none). */
  readonly seq: number;
  /** The publishing origin, as 16 hex characters. */
  readonly origin: string;
}

/**
 * The part of an 'H' envelope before the position, and the JSON after it.
 * Throws `SerializationError` when the payload is not JSON-serialisable.
 */
export function encodeHistoryParts(origin: Origin, seq: number, topic: string, event: string, payload: unknown): [string, string] {
  const json = payloadJson(topic, event, payload);
  const number = `${seq}`;
  return [`H${origin.text}${number.length}:${number}${Buffer.byteLength(topic)}:${topic}${Buffer.byteLength(event)}:${event}`, json];
}

/**
 * Decodes an 'H' envelope; null without decoding the payload when
 * `wanted(topic)` is false. Throws `EnvelopeError` when it is not one.
 */
export function decodeHistoryEnvelope(message: Buffer, wanted: ((topic: string) => boolean) | null): KeptEnvelope | null {
  if (message[0] !== KIND_HISTORY || message.length < FIELDS_AT) throw new EnvelopeError('not a history envelope');
  const seqField = readField(message, FIELDS_AT, 'seq');
  const topicField = readField(message, seqField.end, 'topic');
  const topic = message.toString('utf8', topicField.start, topicField.end);
  if (wanted !== null && !wanted(topic)) return null;
  const eventField = readField(message, topicField.end, 'event');
  const positionField = readField(message, eventField.end, 'position');
  const position = message.toString('latin1', positionField.start, positionField.end);
  const dot = position.lastIndexOf('.');
  const offset = Number(position.slice(dot + 1));
  if (dot <= 0 || !Number.isSafeInteger(offset)) throw new EnvelopeError('bad position');
  let payload: unknown;
  try {
    payload = JSON.parse(message.toString('utf8', positionField.end));
  } catch (error) {
    throw new EnvelopeError('the payload is not JSON', { cause: error });
  }
  return {
    broadcast: { topic, event: message.toString('utf8', eventField.start, eventField.end), payload, position },
    epoch: position.slice(0, dot),
    offset,
    seq: Number(message.toString('latin1', seqField.start, seqField.end)),
    origin: message.toString('latin1', ORIGIN_AT, ORIGIN_AT + ORIGIN_CHARS),
  };
}
