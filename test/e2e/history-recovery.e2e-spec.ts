// Nothing lost across a reconnect, one node (LocalPubSub): the stock `phoenix` client with
// `nestjs-channels/client`, behind a TCP proxy the test cuts while the server broadcasts.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { ChannelsEndpoint } from '../../lib/index.js';
import { HistoryFixtures } from '../fixtures/history.channels.js';
import { publishSteadily, receiveWithHistory, report, type DeliveryReport } from '../support/history-load.js';
import { eventually, sleep, uniqueTopic } from '../support/phoenix-helpers.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startApp, type TestApp } from '../support/test-app.js';

const RATE = 1000;

/** Cuts the proxy at each `[from, to]` ms of the publisher's clock. */
async function cutDuring(proxy: TcpProxy, clock: () => number, windows: ReadonlyArray<readonly [number, number]>): Promise<void> {
  for (const [from, to] of windows) {
    while (clock() < from) await sleep(5);
    proxy.cut();
    while (clock() < to) await sleep(5);
    proxy.resume();
  }
}

function assertExactlyOnceInOrder(t: TestContext, what: string, result: DeliveryReport, refused = 0): void {
  t.diagnostic(`${what}: ${JSON.stringify({ ...result, refused })}`);
  assert.equal(result.delivered, result.sent, 'every broadcast delivered');
  assert.equal(result.duplicates, 0, 'no broadcast given to the app twice');
  assert.equal(result.duplicateFrames, 0, 'no broadcast sent twice by the server');
  assert.ok(result.inOrder, 'in the order sent');
}

describe('recovery across dropped connections (one node, phoenix client through a TCP proxy)', () => {
  let app: TestApp;
  let endpoint: ChannelsEndpoint;
  let proxy: TcpProxy;

  before(async () => {
    app = await startApp(HistoryFixtures.app());
    endpoint = app.app.get(ChannelsEndpoint);
  });
  after(() => app.close());
  afterEach(() => proxy?.close());

  for (const vsn of ['2.0.0', '1.0.0'] as const) {
    it(`delivers every broadcast exactly once and in order through a 2 s drop during 1,000 broadcasts a second (vsn ${vsn})`, async (t) => {
      proxy = await startTcpProxy(app.port);
      const topic = uniqueTopic('kept');
      const socket = app.client({ base: proxy.wsBase, vsn });
      const receiving = await receiveWithHistory(socket, topic);
      const publishing = publishSteadily(endpoint, topic, RATE, 5000);
      await cutDuring(proxy, publishing.elapsed, [[1500, 3500]]);
      await publishing.done;
      await eventually(() => receiving.received.length >= publishing.sent, `all ${publishing.sent} broadcasts arrived`, 15_000);
      await sleep(100);
      const result = report(publishing.sent, receiving);
      assert.equal(publishing.sent, 5000);
      assert.ok(proxy.refused > 0, 'the client tried to reconnect while cut');
      assert.equal(result.joins, 2, 'joined, and rejoined once');
      assert.deepEqual(receiving.gaps, []);
      assertExactlyOnceInOrder(t, `2 s drop, vsn ${vsn}`, result);
    });
  }

  it('delivers every broadcast exactly once and in order through repeated 2 s drops', async (t) => {
    proxy = await startTcpProxy(app.port);
    const topic = uniqueTopic('kept');
    const receiving = await receiveWithHistory(app.client({ base: proxy.wsBase }), topic);
    const publishing = publishSteadily(endpoint, topic, RATE, 10_000);
    await cutDuring(proxy, publishing.elapsed, [
      [1000, 3000],
      [4000, 6000],
      [7000, 9000],
    ]);
    await publishing.done;
    await eventually(() => receiving.received.length >= publishing.sent, `all ${publishing.sent} broadcasts arrived`, 15_000);
    await sleep(100);
    const result = report(publishing.sent, receiving);
    assert.equal(result.joins, 4, 'joined, and rejoined after each of the 3 drops');
    assert.deepEqual(receiving.gaps, []);
    assertExactlyOnceInOrder(t, '3 × 2 s drops', result);
  });

  it('delivers through a slow link (50 ms each way) and a drop, exactly once and in order', async (t) => {
    proxy = await startTcpProxy(app.port);
    proxy.delayMs = 50;
    const topic = uniqueTopic('kept');
    const receiving = await receiveWithHistory(app.client({ base: proxy.wsBase }), topic);
    const publishing = publishSteadily(endpoint, topic, RATE, 3000);
    await cutDuring(proxy, publishing.elapsed, [[1000, 2000]]);
    await publishing.done;
    await eventually(() => receiving.received.length >= publishing.sent, `all ${publishing.sent} broadcasts arrived`, 15_000);
    assertExactlyOnceInOrder(t, 'slow link and a 1 s drop', report(publishing.sent, receiving));
  });

  it('tells the app history_gap when the drop outlasts the window, then goes on live', async () => {
    proxy = await startTcpProxy(app.port);
    const topic = uniqueTopic('small');
    const receiving = await receiveWithHistory(app.client({ base: proxy.wsBase }), topic);
    await endpoint.broadcast(topic, 'msg', { i: 0 });
    await eventually(() => receiving.received.length === 1, 'the first broadcast arrived');
    proxy.cut();
    await sleep(100);
    for (let i = 1; i <= 20; i++) await endpoint.broadcast(topic, 'msg', { i });
    proxy.resume();
    await eventually(() => receiving.gaps.length === 1, 'history_gap arrived', 5000);
    assert.match(receiving.gaps[0]!.since ?? '', /\.1$/, 'since is the position of the last broadcast the app had');
    assert.deepEqual(receiving.received, [0], 'nothing of the lost stretch is given');
    await endpoint.broadcast(topic, 'msg', { i: 21 });
    await eventually(() => receiving.received.length === 2, 'the next live broadcast arrived');
    assert.deepEqual(receiving.received, [0, 21]);
    assert.equal(receiving.gaps.length, 1);
  });

  it('recovers a client that dropped before any broadcast reached it (it had only the join position)', async (t) => {
    proxy = await startTcpProxy(app.port);
    const topic = uniqueTopic('kept');
    const receiving = await receiveWithHistory(app.client({ base: proxy.wsBase }), topic);
    proxy.cut();
    await sleep(50);
    for (let i = 0; i < 5; i++) await endpoint.broadcast(topic, 'msg', { i });
    proxy.resume();
    await eventually(() => receiving.received.length >= 5, 'the 5 broadcasts made while away arrived', 5000);
    assert.deepEqual(receiving.gaps, [], 'the answer to since: null is not shown to the app');
    assertExactlyOnceInOrder(t, 'dropped before the first broadcast', report(5, receiving));
  });

  it('tells the app history_gap with the new epoch when it comes back to a node that does not know its epoch', async () => {
    proxy = await startTcpProxy(app.port);
    const topic = uniqueTopic('kept');
    const receiving = await receiveWithHistory(app.client({ base: proxy.wsBase }), topic);
    await endpoint.broadcast(topic, 'msg', { i: 0 });
    await eventually(() => receiving.received.length === 1, 'the first broadcast arrived');
    // Another node, its own LocalPubSub: the topic's history there is another epoch.
    const other = await startApp(HistoryFixtures.app());
    try {
      proxy.cut();
      proxy.target = other.port;
      await other.app.get(ChannelsEndpoint).broadcast(topic, 'msg', { i: 1 });
      proxy.resume();
      await eventually(() => receiving.gaps.length === 1, 'history_gap arrived', 5000);
      const gap = receiving.gaps[0]!;
      assert.notEqual(gap.epoch, (gap.since ?? '').split('.')[0], 'the epoch changed');
      await other.app.get(ChannelsEndpoint).broadcast(topic, 'msg', { i: 2 });
      await eventually(() => receiving.received.length === 2, 'a live broadcast of the new node arrived');
      assert.deepEqual(receiving.received, [0, 2]);
    } finally {
      await other.close();
    }
  });
});
