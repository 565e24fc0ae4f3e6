/**
 * RedisPubSub's health (issue 15): a PING every `healthCheckIntervalMs`
 * makes an idle node notice a half-open Redis connection within
 * `healthCheckIntervalMs + commandTimeoutMs`, where nothing else would (a
 * node that sends no command waits for TCP keepalive, minutes); and a
 * PUBLISH lost after it was written is counted in `stats` and published as
 * a telemetry event, not only logged. Each test runs its own throwaway
 * redis-server, since it hangs it or cuts its link.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, type TestContext } from 'node:test';
import { TELEMETRY, type Broadcast, type FastlaneCache, type PublishLostEvent, type Subscriber } from '../../lib/index.js';
import { RedisPubSub } from '../../lib/redis/index.js';
import { LogCapture } from '../support/log-capture.js';
import { eventually, sleep } from '../support/phoenix-helpers.js';
import { ProcessGuard } from '../support/process-guard.js';
import { RedisServer, uniquePrefix } from '../support/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { listen } from '../support/telemetry.js';

const INTERVAL_MS = 250;
const COMMAND_TIMEOUT_MS = 300;
const BOUND_MS = INTERVAL_MS + COMMAND_TIMEOUT_MS;
/** Room for timers firing late on a loaded two-core machine; the assertion is about the order of magnitude. */
const SLACK_MS = 2000;

class Collect implements Subscriber {
  readonly seen: Broadcast[] = [];
  deliver(broadcast: Broadcast, _fastlane: FastlaneCache): void {
    this.seen.push(broadcast);
  }
}

/** Resolves with the ms from now until `pubsub` reports itself disconnected. */
function untilDisconnected(pubsub: RedisPubSub, timeoutMs: number): Promise<number> {
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`RedisPubSub still connected ${timeoutMs}ms after the link went silent`));
    }, timeoutMs);
    const off = pubsub.onConnectionChange((connected) => {
      if (connected) return;
      clearTimeout(timer);
      off();
      resolve(performance.now() - startedAt);
    });
  });
}

describe('RedisPubSub health (issue 15)', () => {
  let redis: RedisServer;
  let proxy: TcpProxy | null = null;
  let pubsubs: RedisPubSub[];
  /** One per test, shared by its nodes. */
  let keyPrefix: string;
  let logs: LogCapture;
  let guard: ProcessGuard;

  const make = (port: number, options: ConstructorParameters<typeof RedisPubSub>[0] = {}) => {
    const pubsub = new RedisPubSub({
      host: '127.0.0.1',
      port,
      keyPrefix,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      healthCheckIntervalMs: INTERVAL_MS,
      maxReconnectDelayMs: 200,
      ...options,
    });
    pubsubs.push(pubsub);
    return pubsub;
  };

  beforeEach(async () => {
    guard = ProcessGuard.install();
    logs = LogCapture.install();
    redis = await RedisServer.start();
    pubsubs = [];
    keyPrefix = uniquePrefix('health');
  });
  afterEach(async () => {
    redis.resume();
    await Promise.all(pubsubs.map((pubsub) => pubsub.close()));
    await proxy?.close();
    proxy = null;
    await redis.stop();
    logs.restore();
    guard.restore();
  });

  it(`an idle node notices a paused (SIGSTOPped) Redis within healthCheckIntervalMs + commandTimeoutMs (${BOUND_MS}ms here); without the check it notices nothing; both recover on resume`, async (t: TestContext) => {
    const checked = make(redis.port);
    const unchecked = make(redis.port, { healthCheckIntervalMs: 0 });
    await Promise.all([checked.init(), unchecked.init()]);
    // Subscribed to a topic, so the subscriber connection is in subscribe mode as in any real node.
    await checked.subscribe('room:1', new Collect());
    await unchecked.subscribe('room:1', new Collect());
    assert.ok(checked.isConnected && unchecked.isConnected);

    const noticed = untilDisconnected(checked, BOUND_MS + SLACK_MS);
    redis.pause();
    const detectedMs = await noticed;
    t.diagnostic(`half-open (paused Redis) noticed after ${detectedMs.toFixed(0)}ms; bound ${BOUND_MS}ms`);
    assert.ok(detectedMs <= BOUND_MS + SLACK_MS, `noticed after ${detectedMs}ms`);
    await sleep(BOUND_MS);
    assert.equal(unchecked.isConnected, true, 'a node with the check off has not noticed anything');
    assert.ok(checked.stats.healthChecksFailed >= 1, 'the unanswered PING is counted');
    assert.equal(checked.stats.outages, 1);
    assert.equal(logs.find('error', /^lost Redis at /).length, 1, 'the outage is logged once');

    redis.resume();
    await eventually(() => checked.isConnected, 'the checked node reconnected', 10_000);
    const remote = new Collect();
    await checked.subscribe('room:2', remote);
    await unchecked.broadcast('room:2', 'after', { n: 1 });
    await eventually(() => remote.seen.length === 1, 'cross-node delivery works again', 5000);
    await guard.assertClean('paused Redis');
  });

  it('an idle node notices a link that went silent without a reset (a black-holing TCP proxy) within the same bound, and reconnects once the link carries traffic again', async (t: TestContext) => {
    proxy = await startTcpProxy(redis.port);
    const pubsub = make(proxy.port);
    await pubsub.init();
    await pubsub.subscribe('room:1', new Collect());
    assert.ok(pubsub.isConnected);

    const noticed = untilDisconnected(pubsub, BOUND_MS + SLACK_MS);
    proxy.blackhole();
    const detectedMs = await noticed;
    t.diagnostic(`half-open (black-holed link) noticed after ${detectedMs.toFixed(0)}ms; bound ${BOUND_MS}ms`);
    assert.ok(detectedMs <= BOUND_MS + SLACK_MS, `noticed after ${detectedMs}ms`);

    proxy.restore();
    await eventually(() => pubsub.isConnected, 'reconnected through the restored link', 10_000);
    await guard.assertClean('black-holed link');
  });

  it('a PUBLISH written and then lost with its connection (awaitPublish false) is counted in stats.publishesLost and published as nestjs-channels:publish_lost; a broadcast while Redis is away is counted as refused', async () => {
    const lost = listen<PublishLostEvent>(TELEMETRY.publishLost);
    try {
      // No health check, so that only the PUBLISHes themselves wait on the hung connection.
      const pubsub = make(redis.port, { healthCheckIntervalMs: 0 });
      await pubsub.init();
      await pubsub.broadcast('room:1', 'before', {});
      assert.deepEqual(pubsub.stats, { published: 1, publishesLost: 0, broadcastsRefused: 0, outages: 0, healthChecksFailed: 0 });

      redis.pause();
      // The publisher is still "ready": each PUBLISH is written and the broadcast resolves at once.
      for (let i = 0; i < 3; i++) await pubsub.broadcast('room:1', 'during', { i });
      // Redis never answers: after commandTimeoutMs the connection is dropped and the three are lost.
      await eventually(() => pubsub.stats.publishesLost === 3, 'the three PUBLISHes counted as lost', 5000);
      assert.deepEqual(
        lost.events.filter((event) => event.node === pubsub.node).map((event) => event.lost),
        [1, 2, 3],
      );
      await eventually(() => !pubsub.isConnected, 'the outage is noticed');
      await assert.rejects(pubsub.broadcast('room:1', 'refused', {}), { code: 'ERR_CHANNELS_PUBSUB_UNAVAILABLE' });
      assert.deepEqual(pubsub.stats, { published: 4, publishesLost: 3, broadcastsRefused: 1, outages: 1, healthChecksFailed: 0 });
      redis.resume();
      await eventually(() => pubsub.isConnected, 'back', 10_000);
      await guard.assertClean('lost publishes');
    } finally {
      lost.stop();
    }
  });

  it('with awaitPublish true, a PUBLISH lost with its connection rejects the broadcast and is counted too', async () => {
    const pubsub = make(redis.port, { healthCheckIntervalMs: 0, awaitPublish: true });
    await pubsub.init();
    redis.pause();
    await assert.rejects(pubsub.broadcast('room:1', 'during', {}), { code: 'ERR_CHANNELS_PUBSUB_UNAVAILABLE' });
    assert.equal(pubsub.stats.publishesLost, 1);
    assert.equal(pubsub.stats.published, 1);
  });

  it('rejects a healthCheckIntervalMs that is not a number of ms >= 0 with one exact message', () => {
    assert.throws(() => new RedisPubSub({ healthCheckIntervalMs: -1 }), {
      name: 'ChannelsConfigurationError',
      message: 'RedisPubSub: option healthCheckIntervalMs must be a number of ms >= 0 (0 turns the check off); got -1',
    });
  });
});
