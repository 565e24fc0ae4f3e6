// Topic history on the wire, on one node (LocalPubSub), with hand-written frames: where the position
// rides, what a join with `since` gets, and that topics without history send what they always sent.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Test } from '@nestjs/testing';
import { Channel, ChannelsEndpoint, ChannelsModule, ERROR_CODE, Join, PubSub, SerializationError, type Subscriber } from '../../lib/index.js';
import { HistoryFixtures } from '../fixtures/history.channels.js';
import { LogCapture } from '../support/log-capture.js';
import { uniqueTopic } from '../support/phoenix-helpers.js';
import type { RawClient } from '../support/raw-client.js';
import { startApp, type TestApp } from '../support/test-app.js';

const POSITION = /^([A-Za-z0-9_-]+)\.(\d+)$/;

function split(position: unknown): { epoch: string; offset: number } {
  const match = POSITION.exec(String(position));
  assert.ok(match !== null, `not a position: ${String(position)}`);
  return { epoch: match[1]!, offset: Number(match[2]) };
}

/** The next `n` text frames' JSON. */
async function frames(client: RawClient, n: number, what: string): Promise<any[]> {
  const out: any[] = [];
  for (let i = 0; i < n; i++) out.push(await client.nextJson(3000, `${what} (${i + 1} of ${n})`));
  return out;
}

describe('topic history on the wire (one node)', () => {
  let app: TestApp;
  let endpoint: ChannelsEndpoint;

  before(async () => {
    app = await startApp(HistoryFixtures.app());
    endpoint = app.app.get(ChannelsEndpoint);
  });
  after(() => app.close());

  it('puts "<epoch>.<offset>" in the ref slot of each broadcast on a history topic, the offset one more each time, the payload untouched (V2)', async () => {
    const topic = uniqueTopic('kept');
    const client = await app.raw();
    assert.equal((await client.join(topic))[4].status, 'ok');
    for (let i = 0; i < 3; i++) await endpoint.broadcast(topic, 'msg', { i });
    const got = await frames(client, 3, 'the broadcasts');
    const positions = got.map((frame) => split(frame[1]));
    assert.deepEqual(
      got.map(([joinRef, , t, event, payload]) => [joinRef, t, event, payload]),
      [0, 1, 2].map((i) => [null, topic, 'msg', { i }]),
    );
    assert.equal(new Set(positions.map((p) => p.epoch)).size, 1);
    assert.deepEqual(
      positions.map((p) => p.offset - positions[0]!.offset),
      [0, 1, 2],
    );
    assert.equal(positions[0]!.offset, 1, 'a new topic starts at offset 1');
  });

  it('puts the position in the "ref" key of a V1 broadcast', async () => {
    const topic = uniqueTopic('kept');
    const client = await app.raw({ query: 'vsn=1.0.0' });
    client.send({ topic, event: 'phx_join', payload: {}, ref: '1' });
    assert.equal((await client.nextJson()).payload.status, 'ok');
    await endpoint.broadcast(topic, 'msg', { i: 7 });
    const frame = await client.nextJson();
    assert.deepEqual({ ...frame, ref: split(frame.ref).offset }, { topic, event: 'msg', payload: { i: 7 }, ref: 1 });
  });

  for (const vsn of ['2.0.0', '1.0.0'] as const) {
    it(`sends byte for byte what it always sent on a topic without history, whatever the join carries (vsn ${vsn})`, async () => {
      const topic = uniqueTopic('plain');
      const client = await app.raw({ query: `vsn=${vsn}` });
      const join = { since: 'abc.3' };
      if (vsn === '2.0.0') client.send(['1', '1', topic, 'phx_join', join]);
      else client.send({ topic, event: 'phx_join', payload: join, ref: '1' });
      const reply = await client.next();
      assert.equal(
        reply.binary ? '' : reply.text,
        vsn === '2.0.0'
          ? `["1","1","${topic}","phx_reply",{"status":"ok","response":{}}]`
          : `{"topic":"${topic}","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"1"}`,
      );
      await endpoint.broadcast(topic, 'msg', { i: 1, text: 'é' });
      const broadcast = await client.next();
      assert.equal(
        broadcast.binary ? '' : broadcast.text,
        vsn === '2.0.0'
          ? `[null,null,"${topic}","msg",{"i":1,"text":"é"}]`
          : `{"topic":"${topic}","event":"msg","payload":{"i":1,"text":"é"},"ref":null}`,
      );
      assert.deepEqual(await client.nothingFor(100), [], 'no history_gap or replay on a topic without history');
    });
  }

  it('answers a join with since: null with history_gap {since: null, epoch}, the position in its ref slot, right after the join reply', async () => {
    const topic = uniqueTopic('kept');
    await endpoint.broadcast(topic, 'msg', { i: 0 });
    await endpoint.broadcast(topic, 'msg', { i: 1 });
    const client = await app.raw();
    const reply = await client.join(topic, { since: null });
    assert.equal(reply[4].status, 'ok');
    const [joinRef, ref, t, event, payload] = await client.nextJson();
    const position = split(ref);
    assert.deepEqual([joinRef, t, event, payload], ['1', topic, 'history_gap', { since: null, epoch: position.epoch }]);
    assert.equal(position.offset, 2, 'the client starts after the 2 broadcasts made before it joined');
    await endpoint.broadcast(topic, 'msg', { i: 2 });
    assert.equal(split((await client.nextJson())[1]).offset, 3);
  });

  it('replays the broadcasts after since, in order, between the join reply and the live ones, none twice', async () => {
    const topic = uniqueTopic('kept');
    const first = await app.raw();
    await first.join(topic, { since: null });
    const start = (await first.nextJson())[1];
    for (let i = 0; i < 3; i++) await endpoint.broadcast(topic, 'msg', { i });
    const seen = await frames(first, 3, 'the first broadcasts');
    first.terminate();
    for (let i = 3; i < 8; i++) await endpoint.broadcast(topic, 'msg', { i });

    const again = await app.raw();
    const since = seen[1][1];
    again.send(['5', '5', topic, 'phx_join', { since }]);
    const reply = await again.nextJson();
    assert.deepEqual([reply[0], reply[1], reply[3], reply[4].status], ['5', '5', 'phx_reply', 'ok']);
    const replayed = await frames(again, 6, 'the replay');
    assert.deepEqual(
      replayed.map((frame) => frame[4].i),
      [2, 3, 4, 5, 6, 7],
    );
    assert.deepEqual(
      replayed.map((frame) => split(frame[1]).offset),
      [3, 4, 5, 6, 7, 8],
    );
    assert.equal(split(start).epoch, split(replayed[0][1]).epoch);
    await endpoint.broadcast(topic, 'msg', { i: 8 });
    const live = await again.nextJson();
    assert.deepEqual([live[4].i, split(live[1]).offset], [8, 9]);
    assert.deepEqual(await again.nothingFor(100), []);
  });

  it('writes nothing more after the join reply when since is the current position', async () => {
    const topic = uniqueTopic('kept');
    await endpoint.broadcast(topic, 'msg', { i: 0 });
    const client = await app.raw();
    await client.join(topic, { since: null });
    const position = (await client.nextJson())[1];
    const again = await app.raw();
    assert.equal((await again.join(topic, { since: position }))[4].status, 'ok');
    assert.deepEqual(await again.nothingFor(100), []);
  });

  it('answers history_gap {since, epoch} when since is from another epoch, then sends live broadcasts', async () => {
    const topic = uniqueTopic('kept');
    await endpoint.broadcast(topic, 'msg', { i: 0 });
    const client = await app.raw();
    await client.join(topic, { since: 'someOtherEpoch.12' });
    const [, ref, , event, payload] = await client.nextJson();
    assert.equal(event, 'history_gap');
    assert.deepEqual(payload, { since: 'someOtherEpoch.12', epoch: split(ref).epoch });
    assert.equal(split(ref).offset, 1);
    await endpoint.broadcast(topic, 'msg', { i: 1 });
    assert.equal((await client.nextJson())[4].i, 1);
  });

  it('answers history_gap when more broadcasts were missed than the window holds (size)', async () => {
    const topic = uniqueTopic('small');
    const client = await app.raw();
    await client.join(topic, { since: null });
    const since = (await client.nextJson())[1];
    client.terminate();
    for (let i = 0; i < 11; i++) await endpoint.broadcast(topic, 'msg', { i });
    const again = await app.raw();
    await again.join(topic, { since });
    const [, ref, , event, payload] = await again.nextJson();
    assert.deepEqual([event, payload, split(ref).offset], ['history_gap', { since, epoch: split(since).epoch }, 11]);

    // Ten missed fit the window: they are replayed.
    const third = await app.raw();
    await third.join(topic, { since: `${split(since).epoch}.1` });
    assert.deepEqual(
      (await frames(third, 10, 'the replay')).map((frame) => frame[4].i),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
  });

  it('answers history_gap when the missed broadcasts are older than ttlMs', async () => {
    const topic = uniqueTopic('brief');
    const client = await app.raw();
    await client.join(topic, { since: null });
    const since = (await client.nextJson())[1];
    await endpoint.broadcast(topic, 'msg', { i: 0 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    await endpoint.broadcast(topic, 'msg', { i: 1 });
    const again = await app.raw();
    await again.join(topic, { since });
    const [, , , event, payload] = await again.nextJson();
    assert.deepEqual([event, payload.since], ['history_gap', since]);
  });

  it('answers history_gap echoing since when since is not a position, and logs it', async () => {
    const logs = LogCapture.install();
    try {
      const topic = uniqueTopic('kept');
      const client = await app.raw();
      await client.join(topic, { since: 'not a position' });
      const [, , , event, payload] = await client.nextJson();
      assert.deepEqual([event, payload.since], ['history_gap', 'not a position']);
      const other = await app.raw();
      await other.join(uniqueTopic('kept'), { since: { deep: [1] } });
      assert.deepEqual((await other.nextJson())[4].since, null);
      const warned = logs.entries.filter((entry) => entry.level === 'warn' && entry.context === 'KeptChannel').map((entry) => entry.message);
      assert.deepEqual(warned, [
        `join of ${topic} with since "not a position", which is not a position "<epoch>.<offset>" or null; answered with history_gap`,
        warned[1],
      ]);
      assert.match(warned[1]!, /with since \{"deep":\[1\]\}, which is not a position/);
    } finally {
      logs.restore();
    }
  });

  it('refuses a binary broadcast on a history topic with SerializationError, delivering it nowhere', async () => {
    const topic = uniqueTopic('kept');
    const client = await app.raw();
    await client.join(topic);
    await assert.rejects(endpoint.broadcast(topic, 'bin', Buffer.from('abc')), (error: unknown) => {
      assert.ok(error instanceof SerializationError);
      assert.equal(error.code, ERROR_CODE.serialization);
      assert.match(error.message, /binary frame has no ref slot/);
      return true;
    });
    assert.deepEqual(await client.nothingFor(100), []);
  });

  it('keeps nothing of a localBroadcast, which carries no position', async () => {
    const topic = uniqueTopic('kept');
    const client = await app.raw();
    await client.join(topic, { since: null });
    const since = (await client.nextJson())[1];
    await endpoint.localBroadcast(topic, 'msg', { i: 0 });
    assert.equal((await client.nextJson())[1], null);
    const again = await app.raw();
    await again.join(topic, { since });
    assert.deepEqual(await again.nothingFor(100), []);
  });

  it('skips the sender of a broadcast_from on a history topic, and the position still advances for it', async () => {
    const topic = uniqueTopic('kept');
    const sender = await app.raw();
    const other = await app.raw();
    await sender.join(topic);
    await other.join(topic);
    sender.send(['1', '2', topic, 'blast_from', { n: 2 }]);
    assert.equal((await sender.nextJson())[4].status, 'ok');
    assert.deepEqual(await sender.nothingFor(100), []);
    assert.deepEqual(
      (await frames(other, 2, 'the broadcasts')).map((frame) => split(frame[1]).offset),
      [1, 2],
    );
  });

  describe('@HandleOut on a history channel', () => {
    it("gives the first push of @HandleOut the position of the broadcast it handles, and keeps intercepted and fastlaned broadcasts in position order (an async @HandleOut)", async () => {
      const topic = uniqueTopic('marked');
      const client = await app.raw();
      await client.join(topic);
      await endpoint.broadcast(topic, 'marked', { i: 0, delay: 50 });
      await endpoint.broadcast(topic, 'msg', { i: 1 });
      await endpoint.broadcast(topic, 'marked', { i: 2 });
      await endpoint.broadcast(topic, 'msg', { i: 3 });
      const got = await frames(client, 4, 'the broadcasts');
      assert.deepEqual(
        got.map(([joinRef, ref, , event, payload]) => [joinRef, split(ref).offset, event, payload.i, payload.seen ?? false]),
        [
          ['1', 1, 'marked', 0, true],
          [null, 2, 'msg', 1, false],
          ['1', 3, 'marked', 2, true],
          [null, 4, 'msg', 3, false],
        ],
      );
    });

    it('replays intercepted broadcasts through @HandleOut, in order with the fastlaned ones', async () => {
      const topic = uniqueTopic('marked');
      const client = await app.raw();
      await client.join(topic, { since: null });
      const since = (await client.nextJson())[1];
      client.terminate();
      await endpoint.broadcast(topic, 'marked', { i: 0, delay: 30 });
      await endpoint.broadcast(topic, 'msg', { i: 1 });
      await endpoint.broadcast(topic, 'marked', { i: 2, skip: true });
      await endpoint.broadcast(topic, 'marked', { i: 3 });
      const again = await app.raw();
      await again.join(topic, { since });
      assert.deepEqual(
        (await frames(again, 3, 'the replay')).map(([, ref, , event, payload]) => [split(ref).offset, event, payload.i]),
        [
          [1, 'marked', 0],
          [2, 'msg', 1],
          [4, 'marked', 3],
        ],
      );
      assert.deepEqual(await again.nothingFor(100), []);
    });
  });
});

describe('topic history configuration', () => {
  it('fails at start-up when a channel asks for history and the PubSub keeps none', async () => {
    @Channel('nohist:*', { history: { size: 10, ttlMs: 1000 } })
    class NoHistoryChannel {
      @Join()
      join() {
        return {};
      }
    }
    class BarePubSub extends PubSub {
      readonly node = 'bare';
      subscribe(_topic: string, _subscriber: Subscriber): void {}
      unsubscribe(_topic: string, _subscriber: Subscriber): void {}
      broadcast(): Promise<void> {
        return Promise.resolve();
      }
      localBroadcast(): Promise<void> {
        return Promise.resolve();
      }
    }
    const module = await Test.createTestingModule({
      imports: [ChannelsModule.forRoot({ pubsub: new BarePubSub() })],
      providers: [NoHistoryChannel],
    }).compile();
    await assert.rejects(module.init(), (error: Error) => {
      assert.equal((error as { code?: string }).code, ERROR_CODE.configuration);
      assert.match(error.message, /NoHistoryChannel ask\(s\) for history, but the PubSub \(BarePubSub\) keeps none/);
      return true;
    });
    await module.close();
  });

  it('names the class and the bad value of history options at start-up', async () => {
    @Channel('badhist:*', { history: { size: 0, ttlMs: 1000 } })
    class BadSizeChannel {
      @Join()
      join() {
        return {};
      }
    }
    @Channel('badttl:*', { history: { size: 5, ttlMs: -1 } })
    class BadTtlChannel {
      @Join()
      join() {
        return {};
      }
    }
    const module = await Test.createTestingModule({
      imports: [ChannelsModule.forRoot({ channels: [BadSizeChannel, BadTtlChannel] })],
      providers: [BadSizeChannel, BadTtlChannel],
    }).compile();
    await assert.rejects(module.init(), (error: Error) => {
      assert.match(error.message, /BadSizeChannel: history\.size must be an integer from 1 to 100000; got 0/);
      assert.match(error.message, /BadTtlChannel: history\.ttlMs must be a whole number of ms >= 1; got -1/);
      return true;
    });
    await module.close();
  });
});
