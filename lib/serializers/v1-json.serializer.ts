/**
 * The V1 JSON serializer, chosen for `vsn` 1.0.x and when
 * the client sends no `vsn` at all. Frames are JSON objects in text frames;
 * there is no binary form in either direction.
 */
import { DEFAULTS, WIRE } from '../channels.constants.js';
import { MalformedMessageError, SerializationError } from '../errors/errors.js';
import { describe } from '../channels.messages.js';
import { PREVIEW_CHARS, typeName } from './error-text.js';
import { nestsDeeperThan } from './json-depth.js';
import { isBinaryPayload, isRef, type Message, type Ref } from './message.js';
import type { Serializer } from './serializer.interface.js';

/**
 * Encodes and decodes V1 frames: `{"topic","event","payload","ref"}` objects.
 *
 * Outgoing frames never carry `join_ref`, even when the client sent one (P-46):
 * V1 clients match replies on `ref` alone.
 *
 * @example
 * new V1JsonSerializer().encodeReply('3', '7', 'room:1', 'ok', { id: 1 });
 * // '{"topic":"room:1","event":"phx_reply","payload":{"status":"ok","response":{"id":1}},"ref":"7"}'
 *
 * @publicApi
 */
export class V1JsonSerializer implements Serializer {
  readonly vsn = '1.0.0';

  /**
   * Decodes one V1 text frame. `ref` must be present (it may be null, P-47);
   * `join_ref` is optional and defaults to null. Throws `MalformedMessageError`
   * for binary frames, invalid JSON, a payload nesting arrays and objects
   * more than `maxDepth` levels deep, and any other shape.
   */
  decode(data: Buffer | string, isBinary: boolean, maxDepth: number = DEFAULTS.maxPayloadDepth): Message {
    if (isBinary) {
      // V1 has no binary format; the bytes are never parsed.
      throw new MalformedMessageError(
        `V1 accepts text frames only; got a binary frame of ${Buffer.byteLength(data)} bytes`,
      );
    }
    const text = typeof data === 'string' ? data : data.toString('utf8');
    // The frame object is one level around the payload.
    if (nestsDeeperThan(text, typeof data === 'string' ? null : data, maxDepth + 1)) {
      throw new MalformedMessageError(`V1 text frame: the payload nests deeper than ${maxDepth} levels (maxPayloadDepth)`);
    }
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch (error) {
      throw new MalformedMessageError(`V1 text frame is not valid JSON: ${describe(text, PREVIEW_CHARS)}`, {
        cause: error,
      });
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
      throw new MalformedMessageError(`V1 text frame must be a JSON object, got ${typeName(frame)}`);
    }
    const fields = frame as Record<string, unknown>;
    // Object.hasOwn rather than `in`: a frame can't smuggle a key in through the prototype.
    for (const key of REQUIRED_KEYS) {
      if (!Object.hasOwn(fields, key)) {
        throw new MalformedMessageError(`V1 frame is missing the "${key}" key`);
      }
    }
    const { topic, event, payload, ref } = fields;
    const joinRef = Object.hasOwn(fields, 'join_ref') ? fields.join_ref : null;
    if (typeof topic !== 'string') {
      throw new MalformedMessageError(`V1 frame: "topic" must be a string, got ${typeName(topic)}`);
    }
    if (typeof event !== 'string') {
      throw new MalformedMessageError(`V1 frame: "event" must be a string, got ${typeName(event)}`);
    }
    if (!isRef(ref)) {
      throw new MalformedMessageError(
        `V1 frame: "ref" must be a string, number or null, got ${typeName(ref)}`,
      );
    }
    if (!isRef(joinRef)) {
      throw new MalformedMessageError(
        `V1 frame: "join_ref" must be a string, number or null, got ${typeName(joinRef)}`,
      );
    }
    return { joinRef, ref, topic, event, payload };
  }

  /**
   * A push, `phx_close` or `phx_error` as `{topic, event, payload, ref}`; the
   * join_ref is dropped (P-46). V1 puts no constraint on the payload type, but
   * a binary payload cannot be sent and throws `SerializationError`.
   */
  encodeMessage(_joinRef: Ref, ref: Ref, topic: string, event: string, payload: unknown): string {
    if (isBinaryPayload(payload)) {
      throw new SerializationError(
        `cannot push a binary payload for "${event}" on a V1 connection: V1 has no binary frames`,
      );
    }
    if (payload === undefined) {
      // JSON.stringify would silently drop the key and the client would get a payload-less frame.
      throw new SerializationError(`cannot push "${event}" with an undefined payload`);
    }
    return stringify({ topic, event, payload, ref });
  }

  /**
   * A `phx_reply` with payload `{status, response}`; the
   * join_ref is dropped (P-46). An undefined response is sent as `{}`, the
   * status-only form. A binary response throws `SerializationError`.
   */
  encodeReply(_joinRef: Ref, ref: Ref, topic: string, status: string, response: unknown): string {
    if (isBinaryPayload(response)) {
      throw new SerializationError(
        `cannot reply with a binary response on a V1 connection: V1 has no binary frames`,
      );
    }
    return stringify({
      topic,
      event: WIRE.reply,
      payload: { status, response: response === undefined ? {} : response },
      ref,
    });
  }

  /**
   * A broadcast as `{topic, event, payload, "ref": null}`, with its history
   * position as `ref` when it has one. A binary payload throws `SerializationError`.
   */
  encodeBroadcast(topic: string, event: string, payload: unknown, ref: Ref = null): string {
    if (isBinaryPayload(payload)) {
      throw new SerializationError(
        `cannot broadcast a binary payload for "${event}" to a V1 connection: V1 has no binary frames`,
      );
    }
    if (payload === undefined) {
      throw new SerializationError(`cannot broadcast "${event}" with an undefined payload`);
    }
    return stringify({ topic, event, payload, ref });
  }
}

/** Keys every V1 client frame must have; `join_ref` is optional. */
const REQUIRED_KEYS = ['topic', 'event', 'payload', 'ref'] as const;

/** JSON.stringify whose failures (cycles, BigInt, a throwing toJSON) become `SerializationError`. */
function stringify(frame: object): string {
  try {
    return JSON.stringify(frame);
  } catch (error) {
    throw new SerializationError(`cannot encode V1 frame as JSON: ${describe(error)}`, {
      cause: error,
    });
  }
}
