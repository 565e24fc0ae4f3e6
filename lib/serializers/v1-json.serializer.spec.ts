import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ERROR_CODE, MalformedMessageError, SerializationError } from '../errors/errors.js';
import type { Ref } from './message.js';
import { V1JsonSerializer } from './v1-json.serializer.js';

const v1 = new V1JsonSerializer();

function assertMalformed(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof MalformedMessageError, `expected MalformedMessageError, got ${String(error)}`);
    assert.equal(error.code, ERROR_CODE.malformedMessage);
    assert.match(error.message, message);
    return true;
  });
}

function assertSerializationError(fn: () => unknown, message: RegExp): SerializationError {
  let caught: SerializationError | undefined;
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SerializationError, `expected SerializationError, got ${String(error)}`);
    assert.equal(error.code, ERROR_CODE.serialization);
    assert.match(error.message, message);
    caught = error;
    return true;
  });
  return caught!;
}

/** Parses an encoded V1 frame and checks it has exactly the four V1 keys (P-02, P-46). */
function parseV1(frame: unknown): Record<string, unknown> {
  assert.equal(typeof frame, 'string');
  const parsed = JSON.parse(frame as string) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed).sort(), ['event', 'payload', 'ref', 'topic']);
  return parsed;
}

describe('V1JsonSerializer', () => {
  it('answers to vsn 1.0.0', () => {
    assert.equal(v1.vsn, '1.0.0');
  });

  describe('decode', () => {
    it('decodes a frame carrying all five keys', () => {
      // A join from a client that does send join_ref.
      const frame = '{"topic":"room:1","event":"phx_join","payload":{"token":"t"},"ref":"3","join_ref":"3"}';
      assert.deepEqual(v1.decode(frame, false), {
        joinRef: '3',
        ref: '3',
        topic: 'room:1',
        event: 'phx_join',
        payload: { token: 't' },
      });
    });

    it('defaults a missing join_ref to null', () => {
      // The classic V1 frame: no join_ref key at all.
      const frame = '{"topic":"room:1","event":"new_msg","payload":{"body":"hi"},"ref":"4"}';
      assert.deepEqual(v1.decode(frame, false), {
        joinRef: null,
        ref: '4',
        topic: 'room:1',
        event: 'new_msg',
        payload: { body: 'hi' },
      });
    });

    it('decodes a Buffer holding a text frame, as ws delivers it', () => {
      // Heartbeat.
      const frame = Buffer.from('{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"1"}');
      assert.equal(v1.decode(frame, false).event, 'heartbeat');
    });

    it('keeps the JSON type of refs: string, number and null (P-40)', () => {
      // Non-numeric string refs.
      const strings = v1.decode('{"topic":"t","event":"e","payload":{},"ref":"abc","join_ref":"x"}', false);
      assert.equal(strings.ref, 'abc');
      assert.equal(strings.joinRef, 'x');
      // Numeric refs.
      const numbers = v1.decode('{"topic":"t","event":"e","payload":{},"ref":7,"join_ref":1}', false);
      assert.equal(numbers.ref, 7);
      assert.equal(numbers.joinRef, 1);
      // Explicit nulls.
      const nulls = v1.decode('{"topic":"t","event":"e","payload":{},"ref":null,"join_ref":null}', false);
      assert.equal(nulls.ref, null);
      assert.equal(nulls.joinRef, null);
    });

    it('rejects a frame without "ref" but accepts "ref": null (P-47)', () => {
      assertMalformed(() => v1.decode('{"topic":"t","event":"e","payload":{}}', false), /missing the "ref" key/);
      assert.equal(v1.decode('{"topic":"t","event":"e","payload":{},"ref":null}', false).ref, null);
    });

    it('rejects a frame missing topic, event or payload', () => {
      assertMalformed(() => v1.decode('{"event":"e","payload":{},"ref":"1"}', false), /missing the "topic" key/);
      assertMalformed(() => v1.decode('{"topic":"t","payload":{},"ref":"1"}', false), /missing the "event" key/);
      assertMalformed(() => v1.decode('{"topic":"t","event":"e","ref":"1"}', false), /missing the "payload" key/);
    });

    it('accepts any JSON value as a payload, null included', () => {
      for (const payload of [null, [1], 'text', 0, false]) {
        const frame = JSON.stringify({ topic: 't', event: 'e', payload, ref: '1' });
        assert.deepEqual(v1.decode(frame, false).payload, payload);
      }
    });

    it('ignores keys it does not know', () => {
      const frame = '{"topic":"t","event":"e","payload":{},"ref":"1","extra":true}';
      assert.deepEqual(v1.decode(frame, false), { joinRef: null, ref: '1', topic: 't', event: 'e', payload: {} });
    });

    it('rejects a topic or event that is not a string', () => {
      assertMalformed(
        () => v1.decode('{"topic":1,"event":"e","payload":{},"ref":"1"}', false),
        /"topic" must be a string, got number/,
      );
      assertMalformed(
        () => v1.decode('{"topic":"t","event":null,"payload":{},"ref":"1"}', false),
        /"event" must be a string, got null/,
      );
    });

    it('rejects refs that are not a string, number or null', () => {
      assertMalformed(
        () => v1.decode('{"topic":"t","event":"e","payload":{},"ref":{}}', false),
        /"ref" must be .*got object/,
      );
      assertMalformed(
        () => v1.decode('{"topic":"t","event":"e","payload":{},"ref":"1","join_ref":[1]}', false),
        /"join_ref" must be .*got an array/,
      );
      assertMalformed(
        () => v1.decode('{"topic":"t","event":"e","payload":{},"ref":"1","join_ref":true}', false),
        /"join_ref" must be .*got boolean/,
      );
    });

    it('rejects a JSON value that is not an object', () => {
      // A V2 array sent on a V1 connection.
      assertMalformed(() => v1.decode('["1","2","t","e",{}]', false), /must be a JSON object, got an array/);
      assertMalformed(() => v1.decode('null', false), /got null/);
      assertMalformed(() => v1.decode('"frame"', false), /got string/);
    });

    it('rejects invalid JSON, quoting at most about 100 characters of it', () => {
      assertMalformed(() => v1.decode('{"topic":', false), /not valid JSON/);
      assertMalformed(() => v1.decode('', false), /not valid JSON/);
      assert.throws(
        () => v1.decode(`{${'x'.repeat(10_000)}`, false),
        (error: unknown) => error instanceof MalformedMessageError && error.message.length < 200,
      );
    });

    it('rejects every binary frame, even one holding a valid V1 object', () => {
      const bytes = Buffer.from('{"topic":"t","event":"e","payload":{},"ref":"1"}');
      assertMalformed(() => v1.decode(bytes, true), /text frames only/);
      assertMalformed(() => v1.decode(Buffer.alloc(0), true), /text frames only/);
    });
  });

  describe('encode', () => {
    it('encodes the reply example of the V1 format with exactly four keys (P-46)', () => {
      // The join_ref '3' is dropped: V1 frames never carry it.
      const frame = v1.encodeReply('3', '2', 'room:1', 'ok', {});
      assert.equal(frame, '{"topic":"room:1","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"2"}');
      assert.deepEqual(parseV1(frame), {
        topic: 'room:1',
        event: 'phx_reply',
        ref: '2',
        payload: { status: 'ok', response: {} },
      });
    });

    it('encodes a channel push with "ref": null and no join_ref (P-46)', () => {
      const frame = v1.encodeMessage('3', null, 'room:1', 'new_msg', { body: 'hi' });
      assert.equal(frame, '{"topic":"room:1","event":"new_msg","payload":{"body":"hi"},"ref":null}');
      parseV1(frame);
    });

    it('encodes phx_close with the join_ref in the ref slot only (P-46)', () => {
      const frame = v1.encodeMessage('3', '3', 'room:1', 'phx_close', {});
      assert.equal(frame, '{"topic":"room:1","event":"phx_close","payload":{},"ref":"3"}');
    });

    it('encodes a broadcast with "ref": null', () => {
      const frame = v1.encodeBroadcast('room:1', 'new_msg', { body: 'hi' });
      assert.equal(frame, '{"topic":"room:1","event":"new_msg","payload":{"body":"hi"},"ref":null}');
    });

    it('encodes a broadcast with a history position as its "ref", and a null one as before', () => {
      assert.equal(
        v1.encodeBroadcast('room:1', 'new_msg', { body: 'hi' }, 'Xa3_9kQz1.7'),
        '{"topic":"room:1","event":"new_msg","payload":{"body":"hi"},"ref":"Xa3_9kQz1.7"}',
      );
      assert.equal(v1.encodeBroadcast('room:1', 'new_msg', { body: 'hi' }, null), v1.encodeBroadcast('room:1', 'new_msg', { body: 'hi' }));
    });

    it('echoes refs with the JSON type the client used (P-40)', () => {
      assert.equal(parseV1(v1.encodeReply(null, 7, 't', 'ok', {})).ref, 7);
      assert.equal(parseV1(v1.encodeReply(null, 'abc', 't', 'ok', {})).ref, 'abc');
      assert.equal(parseV1(v1.encodeReply(null, null, 't', 'ok', {})).ref, null);
    });

    it('sends an undefined reply response as {} and keeps any other response unchanged (P-38, P-39)', () => {
      const payloadOf = (status: string, response: unknown) =>
        parseV1(v1.encodeReply(null, '1', 't', status, response)).payload;
      assert.deepEqual(payloadOf('ok', undefined), { status: 'ok', response: {} });
      assert.deepEqual(payloadOf('ok', [1, 2]), { status: 'ok', response: [1, 2] });
      assert.deepEqual(payloadOf('error', 'no'), { status: 'error', response: 'no' });
    });

    it('puts no constraint on push and broadcast payload types', () => {
      assert.equal(v1.encodeMessage('1', null, 't', 'e', [1]), '{"topic":"t","event":"e","payload":[1],"ref":null}');
      assert.equal(v1.encodeBroadcast('t', 'e', 'text'), '{"topic":"t","event":"e","payload":"text","ref":null}');
      assert.equal(v1.encodeBroadcast('t', 'e', null), '{"topic":"t","event":"e","payload":null,"ref":null}');
    });

    it('refuses an undefined push or broadcast payload, which JSON would silently drop', () => {
      assertSerializationError(() => v1.encodeMessage('1', null, 't', 'e', undefined), /undefined payload/);
      assertSerializationError(() => v1.encodeBroadcast('t', 'e', undefined), /undefined payload/);
    });

    it('refuses binary payloads and responses: V1 has no binary frames', () => {
      const bytes = Buffer.from('efg');
      assertSerializationError(() => v1.encodeMessage('1', null, 't', 'e', bytes), /V1 has no binary frames/);
      assertSerializationError(() => v1.encodeReply('1', '2', 't', 'ok', new Uint8Array(2)), /V1 has no binary frames/);
      assertSerializationError(() => v1.encodeBroadcast('t', 'e', new ArrayBuffer(2)), /V1 has no binary frames/);
    });

    it('turns JSON.stringify failures into SerializationError with the cause', () => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const cycle = assertSerializationError(
        () => v1.encodeMessage('1', null, 't', 'e', cyclic),
        /cannot encode V1 frame/,
      );
      assert.ok(cycle.cause instanceof TypeError);
      assert.doesNotMatch(cycle.message, /\n/);
      const bigint = assertSerializationError(() => v1.encodeReply('1', '2', 't', 'ok', 1n), /BigInt/);
      assert.ok(bigint.cause instanceof TypeError);
    });
  });

  describe('properties', () => {
    const anyString = fc.oneof(
      fc.string({ unit: 'binary' }),
      // UTF-16 code units, so lone surrogates appear too.
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) }),
    );
    const anyJson = fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value));
    // Objects with a random subset of the V1 keys holding random values.
    const nearFrames = fc
      .record(
        {
          topic: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 })),
          event: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 })),
          payload: fc.jsonValue({ maxDepth: 2 }),
          ref: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.jsonValue({ maxDepth: 1 })),
          join_ref: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.jsonValue({ maxDepth: 1 })),
        },
        { requiredKeys: [] },
      )
      .map((frame) => JSON.stringify(frame));
    const anyBytes = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));

    function decodesOrMalformed(data: Buffer | string, isBinary: boolean): void {
      try {
        v1.decode(data, isBinary);
      } catch (error) {
        if (!(error instanceof MalformedMessageError)) throw error;
      }
    }

    it('throws nothing but MalformedMessageError for arbitrary text', () => {
      fc.assert(
        fc.property(fc.oneof(anyString, anyJson, nearFrames), (text) => decodesOrMalformed(text, false)),
        { numRuns: 500 },
      );
    });

    it('throws nothing but MalformedMessageError for arbitrary bytes, as text and as binary', () => {
      fc.assert(
        fc.property(anyBytes, (bytes) => {
          decodesOrMalformed(bytes, false);
          decodesOrMalformed(bytes, true);
        }),
        { numRuns: 500 },
      );
    });

    it('decodes any valid V1 client frame field for field', () => {
      const ref: fc.Arbitrary<Ref> = fc.oneof(fc.string({ unit: 'binary' }), fc.integer(), fc.constant(null));
      fc.assert(
        fc.property(
          fc.record({
            topic: fc.string({ unit: 'binary' }),
            event: fc.string({ unit: 'binary' }),
            payload: fc.jsonValue({ maxDepth: 3 }),
            ref,
            join_ref: ref,
          }),
          (frame) => {
            const decoded = v1.decode(JSON.stringify(frame), false);
            // What survives JSON (e.g. -0 arrives as 0) is what the client sent.
            const sent = JSON.parse(JSON.stringify(frame)) as typeof frame;
            assert.deepEqual(decoded, {
              joinRef: sent.join_ref,
              ref: sent.ref,
              topic: sent.topic,
              event: sent.event,
              payload: sent.payload,
            });
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
