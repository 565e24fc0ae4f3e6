/**
 * A hung or absent Redis holds nothing that does not need it (issue 11,
 * findings 5 and 8). A paused (SIGSTOPped) throwaway redis-server keeps its
 * connections open and answers nothing: new connections still get their
 * heartbeats answered at once, and their joins within `commandTimeoutMs`;
 * clients already there keep talking. With Redis down, a broadcast a handler
 * forgets to await is logged, never an unhandled rejection.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ChannelsEndpoint } from '../../lib/index.js';
import { RedisPubSub } from '../../lib/redis/index.js';
import { IsolationFixtures } from '../fixtures/isolation.channels.js';
import { LogCapture } from '../support/log-capture.js';
import { eventually, sleep, uniqueTopic } from '../support/phoenix-helpers.js';
import { ProcessGuard } from '../support/process-guard.js';
import { RedisServer, uniquePrefix } from '../support/redis-server.js';
import { startApp, type TestApp } from '../support/test-app.js';

const COMMAND_TIMEOUT_MS = 300;

const ok = (jr: unknown, r: unknown, topic: string, response: unknown = {}) => [jr, r, topic, 'phx_reply', { status: 'ok', response }];

describe('a hung or absent Redis (issue 11)', () => {
  let redis: RedisServer;
  let pubsub: RedisPubSub;
  let app: TestApp;
  let logs: LogCapture;
  let guard: ProcessGuard;

  beforeEach(async () => {
    guard = ProcessGuard.install();
    redis = await RedisServer.start();
    pubsub = new RedisPubSub({
      url: redis.url,
      keyPrefix: uniquePrefix('hang'),
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      maxReconnectDelayMs: 200,
    });
    app = await startApp(IsolationFixtures.app({ pubsub }));
    logs = LogCapture.install();
  });
  afterEach(async () => {
    redis.resume();
    await app.close();
    await redis.stop();
    logs.restore();
    guard.restore();
  });

  it('with Redis paused, a new connection gets its heartbeats answered at once and its joins within commandTimeoutMs; a connected client keeps talking; all recovers when Redis resumes (P-13)', async () => {
    const topic = uniqueTopic('iso');
    const bystander = await app.raw();
    assert.deepEqual(await bystander.join(topic, {}, '1', '1'), ok('1', '1', topic));

    redis.pause();
    // A socket id makes the connection subscribe on Redis before it handles frames.
    const late = await app.raw({ query: 'vsn=2.0.0&id=hang-user' });
    const sentAt = Date.now();
    late.send([null, 'hb', 'phoenix', 'heartbeat', {}]);
    assert.deepEqual(await late.nextJson(1000, 'the heartbeat reply while Redis is paused'), ok(null, 'hb', 'phoenix'));
    const heartbeatMs = Date.now() - sentAt;

    const fresh = uniqueTopic('iso');
    late.send(['2', '2', fresh, 'phx_join', {}]);
    late.send(['3', '3', topic, 'phx_join', {}]);
    assert.deepEqual(await late.nextJson(COMMAND_TIMEOUT_MS * 10, 'joining a new topic while Redis is paused'), ok('2', '2', fresh));
    assert.deepEqual(await late.nextJson(COMMAND_TIMEOUT_MS * 10, 'joining a topic with a local subscriber'), ok('3', '3', topic));
    assert.ok(heartbeatMs < COMMAND_TIMEOUT_MS, `the heartbeat was answered in ${heartbeatMs}ms, before any Redis timeout`);

    bystander.send(['1', '2', topic, 'ping', {}]);
    assert.deepEqual(await bystander.nextJson(1000, 'a ping of the connected client'), ok('1', '2', topic, { pong: true }));
    late.send(['2', '4', fresh, 'ping', {}]);
    assert.deepEqual(await late.nextJson(1000, 'a ping on the joined topic'), ok('2', '4', fresh, { pong: true }));

    redis.resume();
    await eventually(() => pubsub.isConnected, 'RedisPubSub is back', 10_000);
    // Cross-node delivery resumes: a broadcast goes through Redis to the topic joined during the hang.
    await app.app.get(ChannelsEndpoint).broadcast(fresh, 'after', { n: 1 });
    assert.deepEqual(await late.nextJson(2000, 'the broadcast after Redis resumed'), [null, null, fresh, 'after', { n: 1 }]);
    assert.equal(logs.find('error', /^lost Redis at /, 'RedisPubSub').length, 1, 'the hang is logged once, as an outage');
    await guard.assertClean('paused Redis');
  });

  it('with Redis down, a broadcast a handler forgets to await is logged, not an unhandled rejection; an awaiting caller sees ERR_CHANNELS_PUBSUB_UNAVAILABLE', async () => {
    const topic = uniqueTopic('iso');
    const raw = await app.raw();
    assert.deepEqual(await raw.join(topic, {}, '1', '1'), ok('1', '1', topic));
    await redis.stop();
    await eventually(() => !pubsub.isConnected, 'RedisPubSub noticed the outage');
    raw.send(['1', '2', topic, 'forget', { kind: 'broadcast' }]);
    assert.deepEqual(await raw.nextJson(2000, 'the reply of the forgetful handler'), ok('1', '2', topic, { forgot: 'broadcast' }));
    await assert.rejects(app.app.get(ChannelsEndpoint).broadcast(topic, 'x', {}), { code: 'ERR_CHANNELS_PUBSUB_UNAVAILABLE' });
    await sleep(50);
    assert.equal(logs.find('debug', new RegExp(`broadcast on ${topic} failed: PubSubUnavailableError: Redis at .* is unreachable`)).length, 2);
    raw.send(['1', '3', topic, 'ping', {}]);
    assert.deepEqual(await raw.nextJson(2000, 'a ping during the outage'), ok('1', '3', topic, { pong: true }));
    await guard.assertClean('Redis down');
  });
});
