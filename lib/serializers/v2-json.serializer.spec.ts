import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ERROR_CODE, MalformedMessageError, SerializationError } from '../errors/errors.js';
import type { Message, Ref } from './message.js';
import { V2JsonSerializer } from './v2-json.serializer.js';

const v2 = new V2JsonSerializer();

/** Bytes from the spaced hex of the V2 binary format, e.g. `'00 02 03'`. */
function hex(spaced: string): Buffer {
  return Buffer.from(spaced.replace(/\s+/g, ''), 'hex');
}

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

describe('V2JsonSerializer', () => {
  it('answers to vsn 2.0.0', () => {
    assert.equal(v2.vsn, '2.0.0');
  });

  describe('decode, text frames', () => {
    it('decodes a phoenix.js join frame', () => {
      // phoenix.js join: join_ref equals its own ref.
      const frame = '["3","3","room:1","phx_join",{"token":"t"}]';
      assert.deepEqual(v2.decode(frame, false), {
        joinRef: '3',
        ref: '3',
        topic: 'room:1',
        event: 'phx_join',
        payload: { token: 't' },
      });
    });

    it('decodes a Buffer holding a text frame, as ws delivers it', () => {
      // Heartbeat: join_ref null.
      const frame = Buffer.from('[null,"1","phoenix","heartbeat",{}]');
      assert.deepEqual(v2.decode(frame, false), {
        joinRef: null,
        ref: '1',
        topic: 'phoenix',
        event: 'heartbeat',
        payload: {},
      });
    });

    it('keeps the JSON type of refs: string, number and null (P-40)', () => {
      // Non-numeric string refs.
      const strings = v2.decode('["abc","def","t","e",{}]', false);
      assert.equal(strings.joinRef, 'abc');
      assert.equal(strings.ref, 'def');
      // Numeric refs stay numbers, so the reply echoes 7, not "7".
      const numbers = v2.decode('[1,7,"t","e",{}]', false);
      assert.equal(numbers.joinRef, 1);
      assert.equal(numbers.ref, 7);
      // Both refs null.
      const nulls = v2.decode('[null,null,"t","e",{}]', false);
      assert.equal(nulls.joinRef, null);
      assert.equal(nulls.ref, null);
    });

    it('accepts more than five elements and ignores the extras (P-48)', () => {
      // Two trailing elements of any type.
      const frame = '["1","2","room:1","new_msg",{"body":"hi"},"extra",{"more":[1,2]}]';
      assert.deepEqual(v2.decode(frame, false), {
        joinRef: '1',
        ref: '2',
        topic: 'room:1',
        event: 'new_msg',
        payload: { body: 'hi' },
      });
    });

    it('accepts any JSON value as a client payload', () => {
      for (const payload of [[1, 2], 'text', 42, true, null, {}]) {
        const decoded = v2.decode(JSON.stringify(['1', '2', 't', 'e', payload]), false);
        assert.deepEqual(decoded.payload, payload);
      }
    });

    it('rejects invalid JSON, quoting at most about 100 characters of it', () => {
      assertMalformed(() => v2.decode('["1","2","t","e",{}', false), /not valid JSON/);
      assertMalformed(() => v2.decode('', false), /not valid JSON/);
      const long = `[${'x'.repeat(10_000)}`;
      assert.throws(
        () => v2.decode(long, false),
        (error: unknown) => error instanceof MalformedMessageError && error.message.length < 200,
      );
    });

    it('rejects a JSON value that is not an array', () => {
      // A V1 object sent on a V2 connection.
      assertMalformed(
        () => v2.decode('{"topic":"t","event":"e","payload":{},"ref":"1"}', false),
        /must be a JSON array, got object/,
      );
      assertMalformed(() => v2.decode('"frame"', false), /got string/);
      assertMalformed(() => v2.decode('null', false), /got null/);
      assertMalformed(() => v2.decode('5', false), /got number/);
    });

    it('rejects an array of fewer than five elements', () => {
      assertMalformed(() => v2.decode('[]', false), /has 0 elements/);
      // Payload missing.
      assertMalformed(() => v2.decode('["1","2","t","e"]', false), /has 4 elements/);
    });

    it('rejects a topic or event that is not a string', () => {
      assertMalformed(() => v2.decode('["1","2",5,"e",{}]', false), /topic must be a string, got number/);
      assertMalformed(() => v2.decode('["1","2",null,"e",{}]', false), /topic must be a string, got null/);
      assertMalformed(() => v2.decode('["1","2","t",["e"],{}]', false), /event must be a string, got an array/);
    });

    it('rejects refs that are not a string, number or null', () => {
      assertMalformed(() => v2.decode('[{},"2","t","e",{}]', false), /join_ref must be .*got object/);
      assertMalformed(() => v2.decode('["1",true,"t","e",{}]', false), /ref must be .*got boolean/);
      assertMalformed(() => v2.decode('["1",["2"],"t","e",{}]', false), /ref must be .*got an array/);
    });
  });

  describe('decode, binary frames', () => {
    it('decodes the client push of the V2 binary format into raw bytes "efg" with ref "123" (P-49)', () => {
      // kind 0, lengths 2 3 5 5, "12" "123" "topic" "event", payload "efg"; 23 bytes.
      const frame = hex('00 02 03 05 05 31 32 31 32 33 74 6F 70 69 63 65 76 65 6E 74 65 66 67');
      assert.equal(frame.length, 23);
      assert.deepEqual(v2.decode(frame, true), {
        joinRef: '12',
        ref: '123',
        topic: 'topic',
        event: 'event',
        payload: Buffer.from('efg'),
      });
    });

    it('decodes the phoenix.js push("upload", buf) example of the V2 binary format', () => {
      // kind 0, lengths 1 1 6 6, "3" "4" "room:1" "upload", payload 01 02; 21 bytes.
      const frame = hex('00 01 01 06 06 33 34 72 6F 6F 6D 3A 31 75 70 6C 6F 61 64 01 02');
      assert.equal(frame.length, 21);
      assert.deepEqual(v2.decode(frame, true), {
        joinRef: '3',
        ref: '4',
        topic: 'room:1',
        event: 'upload',
        payload: hex('01 02'),
      });
    });

    it('returns the payload as a view on the frame, not a copy', () => {
      const frame = hex('00 02 03 05 05 31 32 31 32 33 74 6F 70 69 63 65 76 65 6E 74 65 66 67');
      const payload = v2.decode(frame, true).payload;
      assert.ok(Buffer.isBuffer(payload));
      assert.equal(payload.buffer, frame.buffer);
      assert.equal(payload.byteOffset, frame.byteOffset + 20);
    });

    it('decodes empty join_ref and ref as empty strings, never null', () => {
      // kind 0, lengths 0 0 1 1, "t" "e", no payload.
      const message = v2.decode(hex('00 00 00 01 01 74 65'), true);
      assert.equal(message.joinRef, '');
      assert.equal(message.ref, '');
      assert.deepEqual(message.payload, Buffer.alloc(0));
    });

    it('decodes multi-byte UTF-8 fields by their byte lengths', () => {
      const topic = 'salle:été';
      const frame = clientBinaryFrame({ joinRef: '1', ref: '2', topic, event: 'ü', payload: hex('ff') });
      assert.equal(frame[3], Buffer.byteLength(topic));
      const message = v2.decode(frame, true);
      assert.equal(message.topic, topic);
      assert.equal(message.event, 'ü');
      assert.deepEqual(message.payload, hex('ff'));
    });

    it('rejects an empty binary frame', () => {
      assertMalformed(() => v2.decode(Buffer.alloc(0), true), /empty/);
    });

    it('rejects binary kinds other than 0, including the server-only kinds 1 and 2', () => {
      // The server reply and broadcast examples of the V2 binary format, echoed back.
      assertMalformed(
        () => v2.decode(hex('01 02 03 05 02 31 32 31 32 33 74 6F 70 69 63 6F 6B 65 66 67'), true),
        /kind 1/,
      );
      assertMalformed(() => v2.decode(hex('02 05 05 74 6F 70 69 63 65 76 65 6E 74 65 66 67'), true), /kind 2/);
      assertMalformed(() => v2.decode(hex('FF 00 00 00 00'), true), /kind 255/);
      // A JSON text frame sent with the binary opcode starts with '[' (0x5B).
      assertMalformed(() => v2.decode(Buffer.from('["1","2","t","e",{}]'), true), /kind 91/);
    });

    it('rejects a frame shorter than its 5-byte header', () => {
      for (const frame of ['00', '00 02', '00 02 03', '00 02 03 05']) {
        assertMalformed(() => v2.decode(hex(frame), true), /shorter than its 5-byte header/);
      }
    });

    it('rejects a frame shorter than the fields its header declares', () => {
      const full = hex('00 02 03 05 05 31 32 31 32 33 74 6F 70 69 63 65 76 65 6E 74');
      // Cut inside the event, inside the topic, inside the ref and inside the join_ref.
      for (const length of [19, 15, 8, 6]) {
        assertMalformed(() => v2.decode(full.subarray(0, length), true), /shorter than the 20 bytes/);
      }
      // Exactly the declared fields and no payload is fine.
      assert.deepEqual(v2.decode(full, true).payload, Buffer.alloc(0));
    });
  });

  describe('encode, JSON text', () => {
    it('encodes a channel push as [jr, null, topic, event, payload] (P-41)', () => {
      assert.equal(
        v2.encodeMessage('3', null, 'room:1', 'new_msg', { body: 'hi' }),
        '["3",null,"room:1","new_msg",{"body":"hi"}]',
      );
    });

    it('encodes phx_close and phx_error with the stored join_ref in both ref slots', () => {
      // Graceful close after leave (P-26).
      assert.equal(v2.encodeMessage('3', '3', 'room:1', 'phx_close', {}), '["3","3","room:1","phx_close",{}]');
      // Crash (P-35).
      assert.equal(
        v2.encodeMessage('3', '3', 'room:1', 'phx_error', { reason: 'channel_crash' }),
        '["3","3","room:1","phx_error",{"reason":"channel_crash"}]',
      );
    });

    it('encodes the reply example of the wire format', () => {
      assert.equal(
        v2.encodeReply('3', '7', 'room:1', 'ok', { id: 42 }),
        '["3","7","room:1","phx_reply",{"status":"ok","response":{"id":42}}]',
      );
    });

    it('encodes a status-only reply with response {} (P-38)', () => {
      // Heartbeat reply (P-13).
      assert.equal(
        v2.encodeReply(null, '1', 'phoenix', 'ok', {}),
        '[null,"1","phoenix","phx_reply",{"status":"ok","response":{}}]',
      );
      // An undefined response is the status-only form too.
      assert.equal(
        v2.encodeReply('1', '2', 't', 'ok', undefined),
        '["1","2","t","phx_reply",{"status":"ok","response":{}}]',
      );
    });

    it('delivers reply responses of any JSON type unchanged (P-39)', () => {
      const cases: Array<[status: string, response: unknown, frame: string]> = [
        // An array.
        ['ok', [1, 'a'], '["1","2","t","phx_reply",{"status":"ok","response":[1,"a"]}]'],
        // A string.
        ['error', 'nope', '["1","2","t","phx_reply",{"status":"error","response":"nope"}]'],
        // null and a number.
        ['ok', null, '["1","2","t","phx_reply",{"status":"ok","response":null}]'],
        ['ok', 0, '["1","2","t","phx_reply",{"status":"ok","response":0}]'],
      ];
      for (const [status, response, frame] of cases) {
        assert.equal(v2.encodeReply('1', '2', 't', status, response), frame);
      }
    });

    it('echoes refs with the JSON type the client used (P-40)', () => {
      // Numeric refs, as some non-phoenix.js clients send them.
      assert.equal(v2.encodeReply(1, 7, 't', 'ok', {}), '[1,7,"t","phx_reply",{"status":"ok","response":{}}]');
      // Non-numeric string refs.
      assert.equal(
        v2.encodeReply('abc', 'def', 't', 'ok', {}),
        '["abc","def","t","phx_reply",{"status":"ok","response":{}}]',
      );
      // A null join_ref, as for the "unmatched topic" reply (P-30).
      assert.equal(
        v2.encodeReply(null, '5', 'nowhere', 'error', { reason: 'unmatched topic' }),
        '[null,"5","nowhere","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]',
      );
    });

    it('encodes a broadcast as [null, null, topic, event, payload] (P-42)', () => {
      assert.equal(
        v2.encodeBroadcast('room:1', 'new_msg', { body: 'hi' }),
        '[null,null,"room:1","new_msg",{"body":"hi"}]',
      );
    });

    it('puts a history position in the ref slot of a broadcast, and a null one gives the frame of P-42', () => {
      assert.equal(
        v2.encodeBroadcast('room:1', 'new_msg', { body: 'hi' }, 'Xa3_9kQz1.7'),
        '[null,"Xa3_9kQz1.7","room:1","new_msg",{"body":"hi"}]',
      );
      assert.equal(v2.encodeBroadcast('room:1', 'new_msg', { body: 'hi' }, null), '[null,null,"room:1","new_msg",{"body":"hi"}]');
    });

    it('refuses push and broadcast payloads that are not objects', () => {
      for (const payload of [[1], 'text', 42, true, null, undefined]) {
        assertSerializationError(() => v2.encodeMessage('1', null, 't', 'e', payload), /must be an object or binary/);
        assertSerializationError(() => v2.encodeBroadcast('t', 'e', payload), /must be an object or binary/);
      }
    });

    it('does not limit field lengths in JSON frames', () => {
      const topic = 'x'.repeat(300);
      assert.equal(v2.encodeBroadcast(topic, 'e', {}), `[null,null,"${topic}","e",{}]`);
    });

    it('turns JSON.stringify failures into SerializationError with the cause', () => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const cycle = assertSerializationError(
        () => v2.encodeMessage('1', null, 't', 'e', cyclic),
        /cannot encode V2 frame/,
      );
      assert.ok(cycle.cause instanceof TypeError);
      const bigint = assertSerializationError(() => v2.encodeReply('1', '2', 't', 'ok', { n: 1n }), /BigInt/);
      assert.ok(bigint.cause instanceof TypeError);
      assertSerializationError(() => v2.encodeBroadcast('t', 'e', { n: 1n }), /cannot encode V2 frame/);
    });
  });

  describe('encode, binary frames', () => {
    const efg = Buffer.from('efg');

    it('encodes the server push example of the V2 binary format as kind 0 with a 4-byte header and no ref (P-51)', () => {
      // kind 0, lengths 2 5 5, "12" "topic" "event", payload "efg"; 19 bytes.
      const expected = hex('00 02 05 05 31 32 74 6F 70 69 63 65 76 65 6E 74 65 66 67');
      assert.equal(expected.length, 19);
      assert.deepEqual(v2.encodeMessage('12', null, 'topic', 'event', efg), expected);
      // A ref has no slot in a server push and is dropped.
      assert.deepEqual(v2.encodeMessage('12', '99', 'topic', 'event', efg), expected);
    });

    it('encodes the server reply example of the V2 binary format as kind 1 with the status in the event slot (P-50)', () => {
      // kind 1, lengths 2 3 5 2, "12" "123" "topic" "ok", response "efg"; 20 bytes.
      const expected = hex('01 02 03 05 02 31 32 31 32 33 74 6F 70 69 63 6F 6B 65 66 67');
      assert.equal(expected.length, 20);
      assert.deepEqual(v2.encodeReply('12', '123', 'topic', 'ok', efg), expected);
    });

    it('encodes the broadcast example of the V2 binary format as kind 2 with a 3-byte header (P-52)', () => {
      // kind 2, lengths 5 5, "topic" "event", payload "efg"; 16 bytes.
      const expected = hex('02 05 05 74 6F 70 69 63 65 76 65 6E 74 65 66 67');
      assert.equal(expected.length, 16);
      assert.deepEqual(v2.encodeBroadcast('topic', 'event', efg), expected);
      // Kind 2 has no ref slot: a position cannot ride on it.
      assert.deepEqual(v2.encodeBroadcast('topic', 'event', efg, 'Xa3_9kQz1.7'), expected);
    });

    it('encodes the reply to the phoenix.js upload example of the V2 binary format', () => {
      // kind 1, lengths 1 1 6 2, "3" "4" "room:1" "ok", response 01 02 03 04; 19 bytes.
      const expected = hex('01 01 01 06 02 33 34 72 6F 6F 6D 3A 31 6F 6B 01 02 03 04');
      assert.equal(expected.length, 19);
      assert.deepEqual(v2.encodeReply('3', '4', 'room:1', 'ok', hex('01 02 03 04')), expected);
    });

    it('treats Buffer, Uint8Array views and ArrayBuffer payloads alike', () => {
      const expected = hex('02 05 05 74 6F 70 69 63 65 76 65 6E 74 65 66 67');
      // A Uint8Array view into a larger buffer: only its own bytes are sent.
      const backing = new Uint8Array([0xaa, 0x65, 0x66, 0x67, 0xbb]);
      assert.deepEqual(v2.encodeBroadcast('topic', 'event', backing.subarray(1, 4)), expected);
      assert.deepEqual(v2.encodeBroadcast('topic', 'event', new Uint8Array([0x65, 0x66, 0x67]).buffer), expected);
    });

    it('writes numeric refs as decimal strings and null refs as empty fields', () => {
      // kind 1, lengths 0 2 1 2, "" "42" "t" "ok", empty response.
      assert.deepEqual(v2.encodeReply(null, 42, 't', 'ok', Buffer.alloc(0)), hex('01 00 02 01 02 34 32 74 6F 6B'));
      // kind 0, lengths 1 1 1, "7" "t" "e", empty payload.
      assert.deepEqual(v2.encodeMessage(7, null, 't', 'e', new Uint8Array(0)), hex('00 01 01 01 37 74 65'));
    });

    it('measures fields in UTF-8 bytes, not characters', () => {
      // "é" is 2 bytes: kind 2, lengths 2 1, "é" "e", payload 00.
      assert.deepEqual(v2.encodeBroadcast('é', 'e', hex('00')), hex('02 02 01 C3 A9 65 00'));
    });

    it('refuses a binary push whose topic exceeds 255 bytes (P-53)', () => {
      assertSerializationError(
        () => v2.encodeMessage('1', null, 'x'.repeat(256), 'e', efg),
        /push: topic is 256 bytes of UTF-8, the limit is 255/,
      );
      // 128 characters but 256 bytes.
      assertSerializationError(() => v2.encodeMessage('1', null, 'é'.repeat(128), 'e', efg), /topic is 256 bytes/);
      // Exactly 255 bytes still fits.
      const frame = v2.encodeMessage('1', null, 'x'.repeat(255), 'e', efg);
      assert.ok(Buffer.isBuffer(frame));
      assert.equal(frame[2], 255);
    });

    it('refuses every other binary field over 255 bytes (P-53)', () => {
      const long = 'y'.repeat(256);
      assertSerializationError(() => v2.encodeMessage(long, null, 't', 'e', efg), /push: join_ref is 256 bytes/);
      assertSerializationError(() => v2.encodeMessage('1', null, 't', long, efg), /push: event is 256 bytes/);
      assertSerializationError(() => v2.encodeReply(long, '1', 't', 'ok', efg), /reply: join_ref/);
      assertSerializationError(() => v2.encodeReply('1', long, 't', 'ok', efg), /reply: ref/);
      assertSerializationError(() => v2.encodeReply('1', '1', long, 'ok', efg), /reply: topic/);
      assertSerializationError(() => v2.encodeReply('1', '1', 't', long, efg), /reply: status/);
      assertSerializationError(() => v2.encodeBroadcast(long, 'e', efg), /broadcast: topic/);
      assertSerializationError(() => v2.encodeBroadcast('t', long, efg), /broadcast: event/);
    });

    it('sends large payloads whole after the header', () => {
      const payload = Buffer.alloc(70_000, 7);
      const frame = v2.encodeBroadcast('t', 'e', payload);
      assert.ok(Buffer.isBuffer(frame));
      assert.equal(frame.length, 3 + 2 + 70_000);
      assert.deepEqual(frame.subarray(5), payload);
    });
  });

  describe('properties', () => {
    const anyString = fc.oneof(
      fc.string({ unit: 'binary' }),
      // UTF-16 code units, so lone surrogates appear too.
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) }),
    );
    const anyJson = fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value));
    // Arrays around the five-element boundary, so the shape checks see real candidates.
    const nearFrames = fc
      .array(fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string(), fc.constant(null)), { minLength: 3, maxLength: 7 })
      .map((elements) => JSON.stringify(elements));
    const anyBytes = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));
    // Kind 0 with random lengths and random content: exercises the bounds checks.
    const nearBinary = fc
      .tuple(fc.uint8Array({ minLength: 4, maxLength: 4, max: 12 }), fc.uint8Array({ maxLength: 40 }))
      .map(([lengths, rest]) => Buffer.concat([Buffer.of(0), lengths, rest]));

    function decodesOrMalformed(data: Buffer | string, isBinary: boolean): void {
      try {
        v2.decode(data, isBinary);
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
        fc.property(fc.oneof(anyBytes, nearBinary), (bytes) => {
          decodesOrMalformed(bytes, false);
          decodesOrMalformed(bytes, true);
        }),
        { numRuns: 500 },
      );
    });

    // Up to 60 code points of at most 4 bytes each stays under the 255-byte field limit.
    const field = fc.string({ unit: 'binary', maxLength: 60 });
    const jsonRef: fc.Arbitrary<Ref> = fc.oneof(
      field,
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constant(null),
    );

    it('decodes what a phoenix.js-style client encodes as JSON, field for field', () => {
      fc.assert(
        fc.property(
          fc.record({
            joinRef: jsonRef,
            ref: jsonRef,
            topic: field,
            event: field,
            payload: fc.jsonValue({ maxDepth: 3 }),
          }),
          (message) => {
            const decoded = v2.decode(clientJsonFrame(message), false);
            // Compare with what survives JSON (e.g. -0 arrives as 0), which is what the client sent.
            assert.deepEqual(decoded, JSON.parse(JSON.stringify(message)));
          },
        ),
        { numRuns: 300 },
      );
    });

    it('decodes what a phoenix.js-style client encodes as binary, field for field', () => {
      fc.assert(
        fc.property(
          fc.record({
            joinRef: field,
            ref: field,
            topic: field,
            event: field,
            payload: fc.uint8Array({ maxLength: 200 }),
          }),
          (message) => {
            const decoded = v2.decode(clientBinaryFrame(message), true);
            assert.deepEqual(decoded, { ...message, payload: Buffer.from(message.payload) });
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});

// ── A test-only client encoder, after phoenix.js's documented layout ───────

/** A V2 text frame as phoenix.js sends it: one JSON array. */
function clientJsonFrame(message: Message): string {
  return JSON.stringify([message.joinRef, message.ref, message.topic, message.event, message.payload]);
}

/** A kind-0 client push: 5-byte header, UTF-8 fields, raw payload. */
function clientBinaryFrame(message: {
  joinRef: string;
  ref: string;
  topic: string;
  event: string;
  payload: Uint8Array;
}): Buffer {
  const fields = [message.joinRef, message.ref, message.topic, message.event].map((text) => Buffer.from(text, 'utf8'));
  return Buffer.concat([Buffer.from([0, ...fields.map((bytes) => bytes.length)]), ...fields, message.payload]);
}
