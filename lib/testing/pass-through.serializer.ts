/**
 * The test kit's serializer. It encodes with the real V2 serializer, so the
 * kit fails exactly where the wire would (a non-object push, a binary field
 * over 255 bytes), then hands the frame over as a plain object instead of
 * bytes. Client messages arrive as objects and are JSON round-tripped, as a
 * payload over the wire would be.
 */
import { WIRE } from '../channels.constants.js';
import { MalformedMessageError } from '../errors/errors.js';
import { isBinaryPayload, toBuffer, type Message, type Ref } from '../serializers/message.js';
import type { Serializer } from '../serializers/serializer.interface.js';
import { V2JsonSerializer } from '../serializers/v2-json.serializer.js';

/**
 * What the kit receives from the server. A push or broadcast on a topic that
 * keeps history has its `position` (the frame's ref slot); others have none.
 */
export type ReceivedFrame =
  | {
      readonly kind: 'push';
      readonly joinRef: Ref;
      readonly topic: string;
      readonly event: string;
      readonly payload: unknown;
      readonly position?: string;
    }
  | { readonly kind: 'broadcast'; readonly topic: string; readonly event: string; readonly payload: unknown; readonly position?: string }
  | {
      readonly kind: 'reply';
      readonly joinRef: Ref;
      readonly ref: Ref;
      readonly topic: string;
      readonly status: string;
      readonly response: unknown;
    }
  | { readonly kind: 'close' | 'error'; readonly joinRef: Ref; readonly topic: string; readonly payload: unknown };

const wire = new V2JsonSerializer();

function roundTrip(payload: unknown): unknown {
  if (isBinaryPayload(payload)) return Buffer.from(toBuffer(payload));
  return payload === undefined ? undefined : JSON.parse(JSON.stringify(payload));
}

/** Encodes as V2 would (so it fails where the wire would), and hands frames over as `ReceivedFrame` objects. */
export class PassThroughSerializer implements Serializer {
  readonly vsn = 'test';

  decode(data: Buffer | string, _isBinary: boolean): Message {
    const message = data as unknown as Message;
    if (typeof message !== 'object' || message === null || Buffer.isBuffer(message)) {
      throw new MalformedMessageError('the test kit sends messages as objects');
    }
    return { ...message, payload: roundTrip(message.payload) };
  }

  encodeMessage(joinRef: Ref, ref: Ref, topic: string, event: string, payload: unknown): ReceivedFrame {
    wire.encodeMessage(joinRef, ref, topic, event, payload);
    if (event === WIRE.close || event === WIRE.error) {
      return { kind: event === WIRE.close ? 'close' : 'error', joinRef, topic, payload: roundTrip(payload) };
    }
    const push = { kind: 'push', joinRef, topic, event, payload: roundTrip(payload) } as const;
    return ref === null ? push : { ...push, position: String(ref) };
  }

  encodeReply(joinRef: Ref, ref: Ref, topic: string, status: string, response: unknown): ReceivedFrame {
    wire.encodeReply(joinRef, ref, topic, status, response);
    return { kind: 'reply', joinRef, ref, topic, status, response: response === undefined ? {} : roundTrip(response) };
  }

  encodeBroadcast(topic: string, event: string, payload: unknown, ref: Ref = null): ReceivedFrame {
    wire.encodeBroadcast(topic, event, payload, ref);
    const broadcast = { kind: 'broadcast', topic, event, payload: roundTrip(payload) } as const;
    return ref === null ? broadcast : { ...broadcast, position: String(ref) };
  }
}
