/**
 * RedisPubSub with several Nest apps in one process (each its own node) on
 * the shared Redis at REDIS_URL, with `phoenix` clients on every node; the
 * fault tests run their own throwaway redis-server.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import type { Channel } from 'phoenix';
import { ChannelsConfigurationError, ERROR_CODE, PubSubUnavailableError } from '../../lib/index.js';
import { RedisPubSub } from '../../lib/redis/index.js';
import { LogCapture } from '../support/log-capture.js';
import { collect, eventually, joined, nextEvent, outcome, sleep, uniqueTopic } from '../support/phoenix-helpers.js';
import { RawClient } from '../support/raw-client.js';
import { RedisClusterServers, hasRedisCli } from '../support/redis-cluster.js';
import { startNodes, type RedisNode, type RedisNodes } from '../support/redis-nodes.js';
import { REDIS_URL, RedisServer, freePort, uniquePrefix } from '../support/redis-server.js';

const VSNS = ['1.0.0', '2.0.0'] as const;

/** Joins `topic` from a fresh client of each vsn on each node; returns the channels, node by node. */
async function joinEverywhere(cluster: RedisNodes, topic: string, params: Record<string, string> = {}): Promise<Channel[][]> {
  return Promise.all(
    cluster.nodes.map((node) =>
      Promise.all(
        VSNS.map(async (vsn) => {
          const channel = node.app.client({ vsn, params }).channel(topic);
          await joined(channel);
          return channel;
        }),
      ),
    ),
  );
}

describe('RedisPubSub: three nodes in one process', () => {
  let cluster: RedisNodes;
  afterEach(async () => {
    await cluster?.close();
  });

  it('delivers 500 numbered broadcasts from one node to every subscriber on 3 nodes exactly once and in order', async () => {
    cluster = await startNodes(3);
    const topic = uniqueTopic();
    const channels = (await joinEverywhere(cluster, topic)).flat();
    const seen = channels.map((channel) => collect(channel, 'seq'));
    const sent: Promise<void>[] = [];
    // Not awaited one by one: ordering must hold with many PUBLISHes in flight.
    for (let n = 0; n < 500; n++) sent.push(cluster.nodes[0]!.endpoint.broadcast(topic, 'seq', { n }));
    await Promise.all(sent);
    await eventually(() => seen.every((s) => s.length >= 500), 'every subscriber has 500 broadcasts', 10_000);
    // A last broadcast from the same publisher: once it arrived, nothing of the 500 is still in flight.
    const barriers = channels.map((channel) => nextEvent(channel, 'barrier', 5000));
    await cluster.nodes[0]!.endpoint.broadcast(topic, 'barrier', {});
    await Promise.all(barriers);
    const expected = Array.from({ length: 500 }, (_, n) => n);
    seen.forEach((s, i) => assert.deepEqual(s.map((p) => p.n), expected, `subscriber ${i} (node ${Math.floor(i / 2)})`));
  });

  it('carries a client push on one node to clients on every node (RoomChannel broadcast)', async () => {
    cluster = await startNodes(3);
    const topic = uniqueTopic();
    const byNode = await joinEverywhere(cluster, topic);
    const shouts = byNode.flat().map((channel) => nextEvent(channel, 'shout'));
    const reply = await outcome(byNode[1]![1]!.push('broadcast', { body: 'hello nodes' }), 3000, 'broadcast');
    assert.equal(reply.status, 'ok');
    for (const payload of await Promise.all(shouts)) assert.deepEqual(payload, { body: 'hello nodes' });
  });

  it('broadcastFrom excludes the sender only, on its node and the others', async () => {
    cluster = await startNodes(2);
    const topic = uniqueTopic();
    const sender = cluster.nodes[0]!.app.client().channel(topic);
    const sameNode = cluster.nodes[0]!.app.client({ vsn: '1.0.0' }).channel(topic);
    const otherNode = cluster.nodes[1]!.app.client().channel(topic);
    await Promise.all([sender, sameNode, otherNode].map((channel) => joined(channel)));
    const senderSaw = collect(sender, 'shout');
    const received = [nextEvent(sameNode, 'shout'), nextEvent(otherNode, 'shout')];
    assert.equal((await outcome(sender.push('broadcast_from', { body: 'not to me' }))).status, 'ok');
    for (const payload of await Promise.all(received)) assert.deepEqual(payload, { body: 'not to me' });
    // Same publisher, same topic: once the barrier is in, a shout for the sender would be too.
    const barrier = nextEvent(sender, 'barrier');
    assert.equal((await outcome(sender.push('broadcast', { event: 'barrier' }))).status, 'ok');
    await barrier;
    assert.deepEqual(senderSaw, []);
  });

  it('localBroadcast reaches its own node only', async () => {
    cluster = await startNodes(2);
    const topic = uniqueTopic();
    const [[here], [there]] = await joinEverywhere(cluster, topic);
    const thereSaw = collect(there!, 'local');
    const hereGot = nextEvent(here!, 'local');
    await cluster.nodes[0]!.endpoint.localBroadcast(topic, 'local', { only: 'here' });
    assert.deepEqual(await hereGot, { only: 'here' });
    const barrier = nextEvent(there!, 'barrier');
    await cluster.nodes[0]!.endpoint.broadcast(topic, 'barrier', {});
    await barrier;
    assert.deepEqual(thereSaw, []);
  });

  it('carries binary payloads across nodes as bytes (V2 binary frames)', async () => {
    cluster = await startNodes(2);
    const topic = uniqueTopic();
    const sender = cluster.nodes[0]!.app.client().channel(topic);
    const receiver = cluster.nodes[1]!.app.client().channel(topic);
    await Promise.all([joined(sender), joined(receiver)]);
    const bin = nextEvent(receiver, 'bin');
    assert.equal((await outcome(sender.push('binary_broadcast', {}))).status, 'ok');
    const payload = await bin;
    assert.ok(payload instanceof ArrayBuffer, `expected an ArrayBuffer, got ${Object.prototype.toString.call(payload)}`);
    assert.deepEqual([...new Uint8Array(payload)], [9, 8, 7]);
  });

  it('routes intercepted events through @HandleOut on the receiving node', async () => {
    cluster = await startNodes(2);
    const topic = uniqueTopic();
    const alice = cluster.nodes[1]!.app.client({ params: { user: 'alice' } }).channel(topic);
    const bob = cluster.nodes[1]!.app.client({ params: { user: 'bob' } }).channel(topic);
    await Promise.all([joined(alice), joined(bob)]);
    const bobSaw = collect(bob, 'filtered');
    const forAlice = nextEvent(alice, 'filtered');
    await cluster.nodes[0]!.endpoint.broadcast(topic, 'filtered', { body: 'psst', to: 'alice' });
    assert.deepEqual(await forAlice, { body: 'psst', to: 'alice' });
    const barrier = nextEvent(bob, 'barrier');
    await cluster.nodes[0]!.endpoint.broadcast(topic, 'barrier', {});
    await barrier;
    assert.deepEqual(bobSaw, []);
  });

  it('a join reply means broadcasts from other nodes arrive (SUBSCRIBE confirmed before the reply)', async () => {
    cluster = await startNodes(2);
    const socket = cluster.nodes[1]!.app.client();
    for (let i = 0; i < 20; i++) {
      const channel = socket.channel(uniqueTopic());
      await joined(channel);
      const got = nextEvent(channel, 'right_after', 3000);
      await cluster.nodes[0]!.endpoint.broadcast(channel.topic, 'right_after', { i });
      assert.deepEqual(await got, { i });
    }
  });

  it('subscribes a topic on Redis once per node, while it has local subscribers (reference-counted)', async () => {
    cluster = await startNodes(2);
    const admin = new Redis(REDIS_URL);
    try {
      const topic = uniqueTopic();
      const redisChannel = cluster.nodes[0]!.pubsub.channelFor(topic);
      assert.equal(redisChannel, `${cluster.prefix}t:${topic}`);
      const numsub = async (): Promise<number> => Number(((await admin.pubsub('NUMSUB', redisChannel)) as unknown[])[1]);
      assert.equal(await numsub(), 0);
      const first = cluster.nodes[0]!.app.client().channel(topic);
      const second = cluster.nodes[0]!.app.client().channel(topic);
      await joined(first);
      await joined(second);
      assert.equal(await numsub(), 1, 'two local subscribers, one Redis subscription');
      await outcome(first.leave(), 3000, 'leave');
      assert.equal(await numsub(), 1, 'one local subscriber left');
      await outcome(second.leave(), 3000, 'leave');
      const deadline = Date.now() + 3000;
      while ((await numsub()) !== 0) {
        assert.ok(Date.now() < deadline, 'the last leave UNSUBSCRIBEs within 3s');
        await sleep(20);
      }
    } finally {
      admin.disconnect();
    }
  });

  it("ChannelsEndpoint.disconnect(id) on one node closes that id's connections on another with 1001", async () => {
    cluster = await startNodes(2);
    const id = `users_socket:${uniqueTopic('u')}`;
    const target = await RawClient.connect(cluster.nodes[1]!.app.wsBase, { query: `vsn=2.0.0&id=${encodeURIComponent(id)}` });
    const bystander = await RawClient.connect(cluster.nodes[1]!.app.wsBase, { query: 'vsn=2.0.0&id=someone_else' });
    try {
      const topic = uniqueTopic();
      // The id topic's SUBSCRIBE went out before this join's, on the same connection: once the join
      // is confirmed, so is the id subscription.
      const reply = await target.join(topic);
      assert.equal(reply[4].status, 'ok');
      await cluster.nodes[0]!.endpoint.disconnect(id);
      assert.equal(await target.closedWith(3000), 1001);
      await eventually(
        () => cluster.nodes[1]!.recorder.of('terminate', topic).length === 1,
        'the channel on node 1 terminated',
      );
      assert.deepEqual(cluster.nodes[1]!.recorder.of('terminate', topic), [{ shutdown: 'disconnected' }]);
      bystander.send(['1', '1', 'phoenix', 'heartbeat', {}]);
      assert.deepEqual(await bystander.nextJson(), [null, '1', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
    } finally {
      target.terminate();
      bystander.terminate();
    }
  });

  it('keeps apps with different key prefixes apart on one Redis', async () => {
    cluster = await startNodes(2);
    const other = await startNodes(2);
    try {
      const topic = uniqueTopic();
      const mine = cluster.nodes[1]!.app.client().channel(topic);
      const theirs = other.nodes[0]!.app.client().channel(topic);
      await Promise.all([joined(mine), joined(theirs)]);
      const theirsSaw = collect(theirs, 'secret');
      const got = nextEvent(mine, 'secret');
      await cluster.nodes[0]!.endpoint.broadcast(topic, 'secret', { prefix: cluster.prefix });
      assert.deepEqual(await got, { prefix: cluster.prefix });
      // Redis answered the PUBLISH above before this one is sent, and both reach `theirs` on one
      // subscriber connection: once the barrier is in, a leaked 'secret' would be too.
      const barrier = nextEvent(theirs, 'barrier');
      await other.nodes[1]!.endpoint.broadcast(topic, 'barrier', {});
      await barrier;
      assert.deepEqual(theirsSaw, []);
    } finally {
      await other.close();
    }
  });

  it("'per-group' mode delivers the same, in order, and filters topics on arrival", async () => {
    cluster = await startNodes(3, { subscriptionMode: 'per-group' });
    const topic = uniqueTopic();
    const channels = (await joinEverywhere(cluster, topic)).flat();
    const seen = channels.map((channel) => collect(channel, 'seq'));
    const sent: Promise<void>[] = [];
    for (let n = 0; n < 100; n++) sent.push(cluster.nodes[2]!.endpoint.broadcast(topic, 'seq', { n }));
    sent.push(cluster.nodes[2]!.endpoint.broadcast(uniqueTopic(), 'seq', { n: -1 })); // nobody's topic
    await Promise.all(sent);
    await eventually(() => seen.every((s) => s.length >= 100), 'every subscriber has 100 broadcasts', 10_000);
    const barriers = channels.map((channel) => nextEvent(channel, 'barrier', 5000));
    await cluster.nodes[2]!.endpoint.broadcast(topic, 'barrier', {});
    await Promise.all(barriers);
    const expected = Array.from({ length: 100 }, (_, n) => n);
    for (const s of seen) assert.deepEqual(s.map((p) => p.n), expected);
  });

  it('uses a given ioredis client to publish, a duplicate to subscribe, and leaves the client open', async () => {
    const client = new Redis(REDIS_URL);
    try {
      cluster = await startNodes(2, { client });
      const topic = uniqueTopic();
      const [[a], [b]] = await joinEverywhere(cluster, topic);
      const got = [nextEvent(a!, 'hi'), nextEvent(b!, 'hi')];
      await cluster.nodes[1]!.endpoint.broadcast(topic, 'hi', { via: 'client' });
      for (const payload of await Promise.all(got)) assert.deepEqual(payload, { via: 'client' });
      await cluster.close();
      assert.equal(client.status, 'ready');
      assert.equal(await client.ping(), 'PONG');
    } finally {
      client.disconnect();
    }
  });
});

describe('RedisPubSub on an ioredis Cluster client', async () => {
  const skip = (await hasRedisCli()) ? false : 'redis-cli is not installed';
  let servers: RedisClusterServers | undefined;
  let cluster: RedisNodes | undefined;
  const clients: Cluster[] = [];
  before(async () => {
    if (skip === false) servers = await RedisClusterServers.start();
  });
  after(async () => {
    await cluster?.close();
    for (const client of clients) client.disconnect();
    await servers?.stop();
  });

  it('delivers across nodes in order per publisher, and leaves the given Cluster open', { skip }, async () => {
    // One Cluster client per node, as separate processes would have.
    const client = (): Cluster => {
      const made = new Cluster(servers!.startupNodes);
      clients.push(made);
      return made;
    };
    const first = await startNodes(1, { client: client() });
    const second = await startNodes(1, { client: client(), keyPrefix: first.prefix });
    cluster = { nodes: [...first.nodes, ...second.nodes], prefix: first.prefix, close: async () => {
      await Promise.all([first.close(), second.close()]);
    } };
    const topic = uniqueTopic();
    const [[a1, a2], [b1, b2]] = await joinEverywhere(cluster, topic);
    const seen = [a1!, a2!, b1!, b2!].map((channel) => collect(channel, 'seq'));
    const sent: Promise<void>[] = [];
    // A keyless PUBLISH goes to a random cluster node unless pinned: 300 in flight would reorder.
    for (let n = 0; n < 300; n++) sent.push(cluster.nodes[0]!.endpoint.broadcast(topic, 'seq', { n }));
    await Promise.all(sent);
    await eventually(() => seen.every((s) => s.length >= 300), 'every subscriber has 300 broadcasts', 10_000);
    const expected = Array.from({ length: 300 }, (_, n) => n);
    for (const s of seen) assert.deepEqual(s.map((p) => p.n), expected);
    await cluster.close();
    cluster = undefined;
    for (const given of clients) assert.equal(given.status, 'ready');
  });
});

describe('RedisPubSub options', () => {
  it('refuses two addresses for Redis, naming the options given', () => {
    assert.throws(
      () => new RedisPubSub({ url: 'redis://127.0.0.1:6379', host: 'localhost' }),
      (error: unknown) =>
        error instanceof ChannelsConfigurationError &&
        error.code === ERROR_CODE.configuration &&
        error.message === 'RedisPubSub: say where Redis is once: url or host/port (either with password/username/db/tls), or client alone; got url, host',
    );
    const client = new Redis({ lazyConnect: true });
    assert.throws(
      () => new RedisPubSub({ client, port: 6380 }),
      (error: unknown) =>
        error instanceof ChannelsConfigurationError &&
        error.message === 'RedisPubSub: say where Redis is once: url or host/port (either with password/username/db/tls), or client alone; got client, port',
    );
    client.disconnect();
  });

  it('refuses an unknown subscription mode', () => {
    assert.throws(
      () => new RedisPubSub({ subscriptionMode: 'per-socket' as never }),
      (error: unknown) =>
        error instanceof ChannelsConfigurationError &&
        error.message === `RedisPubSub: option subscriptionMode must be 'per-topic' or 'per-group'; got "per-socket"`,
    );
  });

  it('names the node host:pid by default and prefixes channels with channels:', () => {
    const pubsub = new RedisPubSub();
    assert.match(pubsub.node, new RegExp(`:${process.pid}$`));
    assert.equal(pubsub.channelFor('room:1'), 'channels:t:room:1');
    assert.equal(new RedisPubSub({ subscriptionMode: 'per-group', keyPrefix: 'app:' }).channelFor('room:1'), 'app:all');
  });
});

describe('RedisPubSub when Redis goes away', () => {
  let redis: RedisServer;
  let cluster: RedisNodes | undefined;
  let capture: LogCapture | undefined;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    await redis.stop('SIGKILL');
  });
  afterEach(async () => {
    capture?.restore();
    capture = undefined;
    await cluster?.close();
    cluster = undefined;
    await redis.start();
  });

  it('refuses broadcasts (delivering nowhere) while local traffic and joins go on, logs once, and resumes', async () => {
    cluster = await startNodes(2, { url: redis.url, maxReconnectDelayMs: 200 });
    const [a, b] = cluster.nodes as [RedisNode, RedisNode];
    const topic = uniqueTopic();
    const onA = a.app.client().channel(topic);
    const onB = b.app.client().channel(topic);
    await Promise.all([joined(onA), joined(onB)]);
    const aSaw = collect(onA, 'during');
    capture = LogCapture.install();

    await redis.stop();
    await eventually(() => !a.pubsub.isConnected && !b.pubsub.isConnected, 'both nodes noticed the outage');

    const started = Date.now();
    await assert.rejects(a.endpoint.broadcast(topic, 'during', { n: 1 }), (error: unknown) => {
      assert.ok(error instanceof PubSubUnavailableError);
      assert.equal((error as PubSubUnavailableError).code, 'ERR_CHANNELS_PUBSUB_UNAVAILABLE');
      assert.match((error as Error).message, /unreachable: the broadcast was not published/);
      return true;
    });
    assert.ok(Date.now() - started < 100, 'the refusal is immediate');
    for (let i = 0; i < 20; i++) await a.endpoint.broadcast(topic, 'during', { i }).catch(() => undefined);
    await assert.rejects(a.endpoint.disconnect('users_socket:1'), { code: ERROR_CODE.pubsubUnavailable });

    // Local traffic: request/reply, localBroadcast, a new join on a new topic.
    assert.deepEqual(await outcome(onA.push('ping', { still: 'here' })), { status: 'ok', response: { still: 'here' } });
    const local = nextEvent(onA, 'local');
    await a.endpoint.localBroadcast(topic, 'local', { n: 2 });
    assert.deepEqual(await local, { n: 2 });
    const lateTopic = uniqueTopic();
    const lateOnB = b.app.client().channel(lateTopic);
    await joined(lateOnB);
    assert.deepEqual(aSaw, [], 'a refused broadcast is not delivered locally either');

    const outages = (node: string) => capture!.find('error', new RegExp(`^lost Redis at 127\\.0\\.0\\.1:${redis.port} \\(node ${node}`), 'RedisPubSub');
    await sleep(600); // several reconnection attempts
    assert.equal(outages('node0').length, 1, 'one outage line on node0');
    assert.equal(outages('node1').length, 1, 'one outage line on node1');

    await redis.start();
    await eventually(() => a.pubsub.isConnected && b.pubsub.isConnected, 'both nodes reconnected', 5000);
    // Re-subscribed: the topic joined before the outage and the one joined during it.
    const back = nextEvent(onB, 'after');
    const late = nextEvent(lateOnB, 'after');
    await a.endpoint.broadcast(topic, 'after', { n: 3 });
    await a.endpoint.broadcast(lateTopic, 'after', { n: 4 });
    assert.deepEqual(await back, { n: 3 });
    assert.deepEqual(await late, { n: 4 });
    const recoveries = capture.find('log', /^Redis at .* is back after \d+ms; re-subscribed \d+ topic\(s\)/, 'RedisPubSub');
    assert.equal(recoveries.length, 2, 'one recovery line per node');
    assert.equal(outages('node0').length + outages('node1').length, 2);
  });

  it('starts the app without Redis after connectTimeoutMs (one line per node), then connects when Redis comes', async () => {
    const late = await RedisServer.reserve();
    try {
      capture = LogCapture.install();
      const started = Date.now();
      cluster = await startNodes(2, { url: late.url, connectTimeoutMs: 300, maxReconnectDelayMs: 200 });
      assert.ok(Date.now() - started < 3000, `two apps started in ${Date.now() - started}ms`);
      const startup = capture.find('error', new RegExp(`^Redis at 127\\.0\\.0\\.1:${late.port} did not answer within 300ms \\(node node\\d`));
      assert.equal(startup.length, 2, 'one start-up line per node');
      // startApp set the levels to errors only: capture again to see the recovery line.
      capture.restore();
      capture = LogCapture.install();
      const [a, b] = cluster.nodes as [RedisNode, RedisNode];
      const topic = uniqueTopic();
      const onB = b.app.client().channel(topic);
      await joined(onB);
      await assert.rejects(a.endpoint.broadcast(topic, 'x', {}), { code: ERROR_CODE.pubsubUnavailable });
      await late.start();
      await eventually(() => a.pubsub.isConnected && b.pubsub.isConnected, 'both nodes connected', 5000);
      const got = nextEvent(onB, 'x');
      await a.endpoint.broadcast(topic, 'x', { finally: true });
      assert.deepEqual(await got, { finally: true });
      assert.equal(capture.find('log', /^Redis at .* is back after \d+ms/, 'RedisPubSub').length, 2, 'one recovery line per node');
    } finally {
      await cluster?.close();
      cluster = undefined;
      await late.stop();
    }
  });

  it('with failOnConnectTimeout, init() rejects with ERR_CHANNELS_PUBSUB_UNAVAILABLE', async () => {
    const port = await freePort();
    const pubsub = new RedisPubSub({ port, connectTimeoutMs: 200, failOnConnectTimeout: true, keyPrefix: uniquePrefix() });
    await assert.rejects(pubsub.init(), (error: unknown) => {
      assert.ok(error instanceof PubSubUnavailableError);
      assert.equal(error.message, `Redis at 127.0.0.1:${port} did not answer within 200ms and failOnConnectTimeout is set`);
      return true;
    });
    await assert.rejects(pubsub.broadcast('t', 'e', {}), { code: ERROR_CODE.pubsubUnavailable });
  });
});

