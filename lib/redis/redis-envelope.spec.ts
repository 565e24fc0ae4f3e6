import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODE, SerializationError } from '../errors/errors.js';
import {
  EnvelopeError,
  decodeEnvelope,
  decodeHistoryEnvelope,
  encodeEnvelope,
  encodeHistoryParts,
  isFromOrigin,
  newOrigin,
  type Origin,
} from './redis-envelope.js';

const origin: Origin = { text: '0123456789abcdef', bytes: Buffer.from('0123456789abcdef', 'latin1') };

function asBuffer(envelope: string | Buffer): Buffer {
  return typeof envelope === 'string' ? Buffer.from(envelope) : envelope;
}

describe('Redis envelope', () => {
  it('encodes a JSON broadcast as one string (golden)', () => {
    // kind J, 16 hex chars of origin, "10:" + topic, "7:" + event, then the payload's JSON.
    assert.equal(encodeEnvelope(origin, 'room:lobby', 'new_msg', { body: 'hi' }), 'J0123456789abcdef10:room:lobby7:new_msg{"body":"hi"}');
  });

  it('encodes a binary broadcast as header + the raw bytes (golden)', () => {
    const envelope = encodeEnvelope(origin, 'r', 'bin', new Uint8Array([0, 255, 10]));
    assert.ok(Buffer.isBuffer(envelope));
    assert.deepEqual(envelope, Buffer.concat([Buffer.from('B0123456789abcdef1:r3:bin'), Buffer.from([0, 255, 10])]));
  });

  it('round-trips JSON, multi-byte topics and events, and every binary form', () => {
    const cases: Array<[string, string, unknown, unknown]> = [
      ['room:ü€😀', 'évé', { nested: [1, 'two', null] }, { nested: [1, 'two', null] }],
      ['t', 'e', undefined, null],
      ['t', 'e', Buffer.from([1, 2, 3]), Buffer.from([1, 2, 3])],
      ['t', 'e', new Uint8Array([9, 8, 7, 6]).subarray(1, 3), Buffer.from([8, 7])],
      ['t', 'e', new Uint8Array([5, 4]).buffer, Buffer.from([5, 4])],
      ['', '', {}, {}],
    ];
    for (const [topic, event, payload, expected] of cases) {
      assert.deepEqual(decodeEnvelope(asBuffer(encodeEnvelope(origin, topic, event, payload)), null), { topic, event, payload: expected });
    }
  });

  it('tells its own envelopes from others', () => {
    const mine = asBuffer(encodeEnvelope(origin, 't', 'e', {}));
    assert.equal(isFromOrigin(mine, origin), true);
    assert.equal(isFromOrigin(mine, newOrigin()), false);
    assert.equal(isFromOrigin(Buffer.from('J01'), origin), false);
  });

  it('skips the payload of an unwanted topic', () => {
    const envelope = Buffer.from('J0123456789abcdef1:t1:e{not json');
    assert.equal(decodeEnvelope(envelope, (topic) => topic !== 't'), null);
    assert.throws(() => decodeEnvelope(envelope, null), EnvelopeError);
  });

  it('refuses what is not a version-1 envelope', () => {
    for (const bad of ['', 'X0123456789abcdef1:t1:e{}', 'J0123456789abcdef', 'J0123456789abcdef9:t1:e{}', 'J0123456789abcdefx:t', 'J0123456789abcdef1:t', 'J0123456789abcdef:t1:e{}']) {
      assert.throws(() => decodeEnvelope(Buffer.from(bad), null), EnvelopeError, JSON.stringify(bad));
    }
  });

  it('reports a payload JSON cannot carry as SerializationError', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(
      () => encodeEnvelope(origin, 'room:1', 'ev', cyclic),
      (error: unknown) => error instanceof SerializationError && error.code === ERROR_CODE.serialization && error.cause instanceof TypeError,
    );
  });

  describe("history envelopes ('H')", () => {
    /** What the APPEND script does with the two parts: joins them around the position. */
    function withPosition([head, json]: [string, string], position: string): Buffer {
      return Buffer.from(`${head}${Buffer.byteLength(position)}:${position}${json}`);
    }

    it('encodes the part before the position and the JSON apart (golden)', () => {
      // kind H, origin, "1:0" (seq 0), "10:" + topic, "7:" + event; the script adds "11:<epoch>.<offset>".
      assert.deepEqual(encodeHistoryParts(origin, 0, 'room:lobby', 'new_msg', { body: 'hi' }), [
        'H0123456789abcdef1:010:room:lobby7:new_msg',
        '{"body":"hi"}',
      ]);
      assert.equal(encodeHistoryParts(origin, 1234, 't', 'e', {})[0], 'H0123456789abcdef4:12341:t1:e');
    });

    it('round-trips with the position the script adds, multi-byte topics included', () => {
      const envelope = withPosition(encodeHistoryParts(origin, 42, 'room:ü€😀', 'évé', { nested: [1, null] }), 'Xa3_9kQz-1.123');
      assert.equal(isFromOrigin(envelope, origin), true);
      assert.deepEqual(decodeHistoryEnvelope(envelope, null), {
        broadcast: { topic: 'room:ü€😀', event: 'évé', payload: { nested: [1, null] }, position: 'Xa3_9kQz-1.123' },
        epoch: 'Xa3_9kQz-1',
        offset: 123,
        seq: 42,
        origin: origin.text,
      });
    });

    it('skips the payload of an unwanted topic and refuses what is not one', () => {
      const envelope = Buffer.from('H0123456789abcdef1:01:t1:e3:a.1{not json');
      assert.equal(decodeHistoryEnvelope(envelope, (topic) => topic !== 't'), null);
      assert.throws(() => decodeHistoryEnvelope(envelope, null), EnvelopeError);
      for (const bad of ['J0123456789abcdef1:01:t1:e3:a.1{}', 'H0123456789abcdef1:01:t1:e2:.1{}', 'H0123456789abcdef1:01:t1:e3:a.x{}', 'H0123']) {
        assert.throws(() => decodeHistoryEnvelope(Buffer.from(bad), null), EnvelopeError, bad);
      }
    });
  });
});
