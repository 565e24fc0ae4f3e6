import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { V1JsonSerializer } from '../serializers/v1-json.serializer.js';
import { V2JsonSerializer } from '../serializers/v2-json.serializer.js';
import type { Serializer } from '../serializers/serializer.interface.js';
import { FastlaneCache, FrameSlot, SharedFrame } from './fastlane.js';

/** A V2 serializer that counts its broadcast encodings. */
function counting(): Serializer & { encoded: number } {
  const inner = new V2JsonSerializer();
  const counter = Object.create(inner) as V2JsonSerializer & { encoded: number };
  counter.encoded = 0;
  counter.encodeBroadcast = (topic, event, payload, ref) => {
    counter.encoded++;
    return inner.encodeBroadcast(topic, event, payload, ref);
  };
  return counter;
}

const broadcast = { topic: 'room:1', event: 'new_msg', payload: { body: 'hi' } };

describe('FastlaneCache', () => {
  it('encodes a broadcast once per serializer, however many subscribers ask', () => {
    const v2 = counting();
    const cache = new FastlaneCache(broadcast);
    const first = cache.frameFor(v2)!;
    for (let i = 0; i < 10; i++) assert.equal(cache.frameFor(v2), first);
    assert.equal(v2.encoded, 1);
    assert.equal(first.data, '[null,null,"room:1","new_msg",{"body":"hi"}]');
  });

  it('keeps one frame per serializer object, also for two serializers of one vsn, and past two serializers', () => {
    const serializers = [counting(), counting(), counting(), new V1JsonSerializer(), counting()];
    const cache = new FastlaneCache(broadcast);
    const frames = serializers.map((serializer) => cache.frameFor(serializer));
    assert.equal(new Set(frames).size, serializers.length, 'a frame per serializer');
    serializers.forEach((serializer, i) => assert.equal(cache.frameFor(serializer), frames[i]));
    for (const serializer of serializers) {
      if ('encoded' in serializer) assert.equal(serializer.encoded, 1);
    }
    assert.equal(frames[3]!.data, '{"topic":"room:1","event":"new_msg","payload":{"body":"hi"},"ref":null}');
  });

  it('encodes a broadcast with a history position once per serializer, the position in its ref slot', () => {
    const v2 = counting();
    const cache = new FastlaneCache({ ...broadcast, position: 'Xa3_9kQz1.7' });
    const first = cache.frameFor(v2)!;
    for (let i = 0; i < 10; i++) assert.equal(cache.frameFor(v2), first);
    assert.equal(v2.encoded, 1);
    assert.equal(first.data, '[null,"Xa3_9kQz1.7","room:1","new_msg",{"body":"hi"}]');
    assert.equal(cache.frameFor(new V1JsonSerializer())!.data, '{"topic":"room:1","event":"new_msg","payload":{"body":"hi"},"ref":"Xa3_9kQz1.7"}');
  });

  it('remembers an encoding failure: the serializer is tried once per broadcast and null is returned', () => {
    const v2 = counting();
    const cache = new FastlaneCache({ topic: 'room:1', event: 'bad', payload: [1] });
    for (let i = 0; i < 5; i++) assert.equal(cache.frameFor(v2), null);
    assert.equal(v2.encoded, 1);
    assert.notEqual(cache.frameFor(new V1JsonSerializer()), null, 'another serializer still gets its frame');
  });
});

describe('FrameSlot', () => {
  it('gives each transport its own typed place on a shared frame', () => {
    const framed = new FrameSlot<Buffer>();
    const counted = new FrameSlot<number>();
    const frame = new SharedFrame('text');
    assert.equal(framed.get(frame), undefined);
    counted.set(frame, 4);
    assert.equal(framed.get(frame), undefined, 'a slot set by one transport is not seen by another');
    framed.set(frame, Buffer.from('x'));
    assert.deepEqual(framed.get(frame), Buffer.from('x'));
    assert.equal(counted.get(frame), 4);
    assert.equal(new FrameSlot<Buffer>().get(frame), undefined);
  });
});
