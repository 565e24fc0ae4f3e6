// Topic history across nodes on Redis Streams (RedisPubSub): one order of positions on every node,
// a rejoin on another node, a node restart, Redis restarts with and without persistence.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { ChannelsEndpoint, TELEMETRY, type JoinEvent } from '../../lib/index.js';
import { RedisPubSub, type RedisPubSubOptions } from '../../lib/redis/index.js';
import { HistoryFixtures } from '../fixtures/history.channels.js';
import { publishSteadily, receiveWithHistory, report } from '../support/history-load.js';
import { eventually, sleep, uniqueTopic } from '../support/phoenix-helpers.js';
import type { RawClient } from '../support/raw-client.js';
import { REDIS_URL, RedisServer, uniquePrefix } from '../support/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startApp, type TestApp } from '../support/test-app.js';

interface HistoryNode {
  readonly app: TestApp;
  readonly endpoint: ChannelsEndpoint;
  readonly pubsub: RedisPubSub;
}

async function startNode(url: string, keyPrefix: string, name: string, options: RedisPubSubOptions = {}): Promise<HistoryNode> {
  const pubsub = new RedisPubSub({ url, keyPrefix, node: name, maxReconnectDelayMs: 100, ...options });
  const app = await startApp(HistoryFixtures.app({ pubsub }));
  return { app, endpoint: app.app.get(ChannelsEndpoint), pubsub };
}

function split(position: unknown): { epoch: string; offset: number } {
  const text = String(position);
  const dot = text.lastIndexOf('.');
  return { epoch: text.slice(0, dot), offset: Number(text.slice(dot + 1)) };
}

async function frames(client: RawClient, n: number, what: string): Promise<any[]> {
  const out: any[] = [];
  for (let i = 0; i < n; i++) out.push(await client.nextJson(5000, `${what} (${i + 1} of ${n})`));
  return out;
}

describe('topic history across nodes (RedisPubSub, Redis Streams)', () => {
  describe('two nodes on the shared Redis', () => {
    let prefix: string;
    let nodes: HistoryNode[];
    let proxy: TcpProxy | undefined;

    before(async () => {
      prefix = uniquePrefix('history');
      nodes = [await startNode(REDIS_URL, prefix, 'node0'), await startNode(REDIS_URL, prefix, 'node1')];
    });
    after(async () => {
      await Promise.all(nodes.map((node) => node.app.close()));
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });
    afterEach(async () => {
      await proxy?.close();
      proxy = undefined;
    });

    it('gives every node the same broadcasts in the same position order while both nodes publish', async () => {
      const topic = uniqueTopic('kept');
      const watchers = [await nodes[0]!.app.raw(), await nodes[1]!.app.raw()];
      for (const watcher of watchers) assert.equal((await watcher.join(topic))[4].status, 'ok');
      await Promise.all(
        nodes.map((node, n) => Promise.all(Array.from({ length: 50 }, (_, i) => node.endpoint.broadcast(topic, 'msg', { n, i })))),
      );
      const seen = await Promise.all(watchers.map((watcher, w) => frames(watcher, 100, `node${w}'s broadcasts`)));
      for (const got of seen) {
        assert.deepEqual(
          got.map((frame) => split(frame[1]).offset),
          Array.from({ length: 100 }, (_, i) => i + 1),
        );
      }
      assert.deepEqual(
        seen[0]!.map((frame) => frame[4]),
        seen[1]!.map((frame) => frame[4]),
        'one order on both nodes',
      );
      for (const n of [0, 1]) {
        assert.deepEqual(
          seen[0]!.filter((frame) => frame[4].n === n).map((frame) => frame[4].i),
          Array.from({ length: 50 }, (_, i) => i),
          `node${n}'s broadcasts in the order it made them`,
        );
      }
    });

    it('replays on a node what was broadcast on another before the join, and skips a broadcast_from sender', async () => {
      const topic = uniqueTopic('kept');
      const first = await nodes[0]!.app.raw();
      await first.join(topic, { since: null });
      const since = (await first.nextJson())[1];
      first.send(['1', '2', topic, 'blast_from', { n: 3 }]);
      assert.equal((await first.nextJson())[4].status, 'ok');
      assert.deepEqual(await first.nothingFor(150), [], 'the sender does not get its own broadcast_from');
      const late = await nodes[1]!.app.raw();
      await late.join(topic, { since });
      assert.deepEqual(
        (await frames(late, 3, 'the replay')).map((frame) => [split(frame[1]).offset, frame[4].i]),
        [
          [1, 0],
          [2, 1],
          [3, 2],
        ],
      );
    });

    it('answers history_gap on Redis when more were missed than the window holds', async () => {
      const topic = uniqueTopic('small');
      const client = await nodes[0]!.app.raw();
      await client.join(topic, { since: null });
      const since = (await client.nextJson())[1];
      for (let i = 0; i < 11; i++) await nodes[1]!.endpoint.broadcast(topic, 'msg', { i });
      const again = await nodes[1]!.app.raw();
      await again.join(topic, { since });
      const [, ref, , event, payload] = await again.nextJson();
      assert.deepEqual([event, payload, split(ref).offset], ['history_gap', { since, epoch: split(since).epoch }, 11]);
    });

    it('delivers every broadcast exactly once and in order when the client comes back on the other node after a 2 s drop at 1,000 a second', async (t) => {
      proxy = await startTcpProxy(nodes[0]!.app.port);
      const topic = uniqueTopic('kept');
      const receiving = await receiveWithHistory(nodes[0]!.app.client({ base: proxy.wsBase }), topic);
      const publishing = publishSteadily(nodes[1]!.endpoint, topic, 1000, 5000);
      while (publishing.elapsed() < 1500) await sleep(5);
      proxy.cut();
      proxy.target = nodes[1]!.app.port;
      while (publishing.elapsed() < 3500) await sleep(5);
      proxy.resume();
      await publishing.done;
      await eventually(() => receiving.received.length >= publishing.sent, `all ${publishing.sent} broadcasts arrived`, 15_000);
      await sleep(100);
      const result = report(publishing.sent, receiving);
      t.diagnostic(`rejoin on another node: ${JSON.stringify(result)}`);
      assert.equal(publishing.sent, 5000);
      assert.deepEqual(receiving.gaps, []);
      assert.equal(result.joins, 2);
      assert.equal(result.delivered, result.sent);
      assert.equal(result.duplicates, 0);
      assert.equal(result.duplicateFrames, 0);
      assert.ok(result.inOrder);
    });
  });

  it("keeps one position order on every node in 'per-group' subscription mode too, and replays across nodes", async () => {
    const prefix = uniquePrefix('history-group');
    const nodes = [
      await startNode(REDIS_URL, prefix, 'node0', { subscriptionMode: 'per-group' }),
      await startNode(REDIS_URL, prefix, 'node1', { subscriptionMode: 'per-group' }),
    ];
    try {
      const topic = uniqueTopic('kept');
      const watcher = await nodes[0]!.app.raw();
      await watcher.join(topic, { since: null });
      const since = (await watcher.nextJson())[1];
      await Promise.all(nodes.map((node, n) => Promise.all(Array.from({ length: 20 }, (_, i) => node.endpoint.broadcast(topic, 'msg', { n, i })))));
      const live = await frames(watcher, 40, 'the live broadcasts');
      assert.deepEqual(
        live.map((frame) => split(frame[1]).offset),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      const late = await nodes[1]!.app.raw();
      await late.join(topic, { since });
      assert.deepEqual(
        (await frames(late, 40, 'the replay')).map((frame) => frame[4]),
        live.map((frame) => frame[4]),
      );
    } finally {
      await Promise.all(nodes.map((node) => node.app.close()));
    }
  });

  it('loses nothing when the node a client is on stops, and the client rejoins on another node', async (t) => {
    const prefix = uniquePrefix('history-restart');
    const [stopping, staying] = [await startNode(REDIS_URL, prefix, 'node0'), await startNode(REDIS_URL, prefix, 'node1')];
    const proxy = await startTcpProxy(stopping.app.port);
    try {
      const topic = uniqueTopic('kept');
      // The client belongs to the node that stays (closing a test app disconnects its own clients).
      const receiving = await receiveWithHistory(staying.app.client({ base: proxy.wsBase }), topic);
      const publishing = publishSteadily(staying.endpoint, topic, 1000, 4000);
      while (publishing.elapsed() < 1500) await sleep(5);
      // The node shuts down (its connections close with 1012); new connections go to the other one.
      proxy.target = staying.app.port;
      await stopping.app.close();
      await publishing.done;
      await eventually(() => receiving.received.length >= publishing.sent, `all ${publishing.sent} broadcasts arrived`, 15_000);
      await sleep(100);
      const result = report(publishing.sent, receiving);
      t.diagnostic(`node stopped: ${JSON.stringify(result)}`);
      assert.deepEqual(receiving.gaps, []);
      assert.equal(result.joins, 2, 'joined the stopping node, then the other one');
      assert.equal(result.delivered, result.sent);
      assert.equal(result.duplicates + result.duplicateFrames, 0);
      assert.ok(result.inOrder);
    } finally {
      await proxy.close();
      await Promise.all([stopping.app.close(), staying.app.close()]);
    }
  });

  describe('a Redis restart', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'nestjs-channels-aof-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('loses no acknowledged broadcast when Redis persists (AOF) and restarts within the window (awaitPublish on)', async (t) => {
      const redis = await RedisServer.start(undefined, ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]);
      const prefix = uniquePrefix('history-aof');
      const nodes = [
        await startNode(redis.url, prefix, 'node0', { awaitPublish: true }),
        await startNode(redis.url, prefix, 'node1', { awaitPublish: true }),
      ];
      try {
        const topic = uniqueTopic('kept');
        const receiving = await receiveWithHistory(nodes[0]!.app.client(), topic);
        const acknowledged: number[] = [];
        let issued = 0;
        let refused = 0;
        const publish = async (until: number): Promise<void> => {
          const started = performance.now();
          while (performance.now() - started < until) {
            const i = issued++;
            await nodes[1]!.endpoint.broadcast(topic, 'msg', { i }).then(
              () => acknowledged.push(i),
              () => refused++,
            );
            await sleep(2);
          }
        };
        const publishing = publish(3000);
        await sleep(1000);
        await redis.stop();
        await sleep(300);
        await redis.start();
        await publishing;
        await eventually(
          () => acknowledged.every((i) => receiving.received.includes(i)),
          `every acknowledged broadcast arrived (${acknowledged.length})`,
          15_000,
        );
        await sleep(200);
        t.diagnostic(
          `Redis restart with AOF: ${JSON.stringify({ issued, acknowledged: acknowledged.length, refused, delivered: receiving.received.length, gaps: receiving.gaps.length })}`,
        );
        assert.ok(refused > 0, 'some broadcasts were refused while Redis was down');
        assert.deepEqual(receiving.gaps, []);
        assert.equal(new Set(receiving.received).size, receiving.received.length, 'none twice');
        assert.deepEqual(
          receiving.received,
          [...receiving.received].sort((a, b) => a - b),
          'in order',
        );
        const missing = acknowledged.filter((i) => !receiving.received.includes(i));
        assert.deepEqual(missing, [], 'no acknowledged broadcast lost');
      } finally {
        await Promise.all(nodes.map((node) => node.app.close()));
        await redis.stop();
      }
    });

    it('tells subscribers history_gap with the new epoch when Redis restarts without its data, and a rejoin from the old epoch too', async () => {
      const redis = await RedisServer.start();
      const prefix = uniquePrefix('history-lost');
      const node = await startNode(redis.url, prefix, 'node0', { awaitPublish: true });
      try {
        const topic = uniqueTopic('kept');
        const receiving = await receiveWithHistory(node.app.client(), topic);
        await node.endpoint.broadcast(topic, 'msg', { i: 0 });
        await eventually(() => receiving.received.length === 1, 'the first broadcast arrived');
        const old = await node.app.raw();
        await old.join(topic, { since: null });
        const oldPosition = (await old.nextJson())[1];
        old.terminate();

        await redis.stop();
        await redis.start();
        await eventually(() => node.pubsub.isConnected, 'the node reconnected', 10_000);
        await eventually(() => receiving.gaps.length === 1, 'history_gap reached the connected client', 10_000);
        const gap = receiving.gaps[0]!;
        assert.equal(gap.since, oldPosition);
        assert.notEqual(gap.epoch, split(oldPosition).epoch);

        await node.endpoint.broadcast(topic, 'msg', { i: 1 });
        await eventually(() => receiving.received.length === 2, 'the next broadcast arrived');
        assert.deepEqual(receiving.received, [0, 1]);

        const again = await node.app.raw();
        await again.join(topic, { since: oldPosition });
        const [, , , event, payload] = await again.nextJson();
        assert.deepEqual([event, payload], ['history_gap', { since: oldPosition, epoch: gap.epoch }]);
      } finally {
        await node.app.close();
        await redis.stop();
      }
    });

    it('refuses a join with since while Redis is away ("history unavailable"), and answers it once Redis is back', async () => {
      const redis = await RedisServer.start();
      const prefix = uniquePrefix('history-away');
      const node = await startNode(redis.url, prefix, 'node0', { awaitPublish: true });
      try {
        const topic = uniqueTopic('kept');
        const client = await node.app.raw();
        await client.join(topic, { since: null });
        const since = (await client.nextJson())[1];
        await node.endpoint.broadcast(topic, 'msg', { i: 0 });
        await client.nextJson();
        await redis.stop();
        const joins: JoinEvent[] = [];
        const onJoin = (event: unknown): void => {
          if ((event as JoinEvent).topic === topic) joins.push(event as JoinEvent);
        };
        diagnostics.subscribe(TELEMETRY.join, onJoin);
        const during = await node.app.raw();
        const reply = await during.join(topic, { since });
        diagnostics.unsubscribe(TELEMETRY.join, onJoin);
        assert.deepEqual(reply[4], { status: 'error', response: { reason: 'history unavailable' } });
        // The join telemetry event says what the client got.
        assert.deepEqual(joins.map((event) => event.result), ['error']);
        await redis.start();
        await eventually(() => node.pubsub.isConnected, 'the node reconnected', 10_000);
        const after = await node.app.raw();
        assert.equal((await after.join(topic, { since }))[4].status, 'ok');
        // This Redis keeps no data: the history went with it, which the client is told.
        assert.equal((await after.nextJson())[3], 'history_gap');
      } finally {
        await node.app.close();
        await redis.stop();
      }
    });
  });
});
