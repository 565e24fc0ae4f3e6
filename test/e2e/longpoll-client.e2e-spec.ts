/**
 * The `phoenix` client's long-poll, unchanged: `transport: LongPoll`, and
 * the `longPollFallbackMs` fallback from a WebSocket that a proxy refuses.
 * Joins, replies, broadcasts both ways with WebSocket clients, intercepts,
 * leave, and how the client recovers when its session ends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LongPoll, type Socket, type SocketConnectOption } from 'phoenix';
import { ChannelsEndpoint } from '../../lib/index.js';
import { Fixtures } from '../fixtures/fixtures.js';
import { Recorder } from '../fixtures/recorder.js';
import { startProxy, type TestProxy } from '../support/http-proxy.js';
import { LogCapture } from '../support/log-capture.js';
import { longPollSessions } from '../support/longpoll-client.js';
import { closeCodesOf, eventually, joined, nextEvent, outcome, sleep, uniqueTopic } from '../support/phoenix-helpers.js';
import { startApp, type ClientOptions, type TestApp } from '../support/test-app.js';

const WINDOW_MS = 300;
const LongPollTransport = LongPoll as unknown as SocketConnectOption['transport'];

/** The transport of the phoenix client's current connection (`socket.conn`, not in @types/phoenix). */
function transportOf(socket: Socket): { send(body: string): void } {
  return (socket as unknown as { conn: { send(body: string): void } }).conn;
}


/** A sessionStorage for phoenix.js's fallback memory. */
function memoryStorage(): { getItem(key: string): string | null; setItem(key: string, value: string): void } {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
  };
}

describe('the phoenix client over LongPoll (windowMs 300)', () => {
  let app: TestApp;
  let recorder: Recorder;
  let logs: LogCapture;
  const longPoll = (options: ClientOptions = {}) =>
    app.client({ transport: LongPollTransport, longpollerTimeout: 5000, ...options } as ClientOptions);

  before(async () => {
    app = await startApp(Fixtures.standard({ longpoll: { windowMs: WINDOW_MS } }));
    recorder = app.app.get(Recorder);
    logs = LogCapture.install();
  });
  after(async () => {
    logs.restore();
    await app.close();
  });

  it('joins, pushes with ok and error replies, and leaves with terminate { shutdown: "left" } (P-61)', async () => {
    const before = longPollSessions(app.app);
    const socket = longPoll();
    const topic = uniqueTopic();
    const channel = socket.channel(topic, { reply: { welcome: 'lp' } });
    assert.deepEqual(await joined(channel), { welcome: 'lp' });
    assert.equal(longPollSessions(app.app), before + 1, 'the client is on a long-poll session');
    assert.deepEqual(await outcome(channel.push('ping', { n: 1 })), { status: 'ok', response: { n: 1 } });
    assert.deepEqual(await outcome(channel.push('error_reply', { n: 2 })), { status: 'error', response: { got: { n: 2 } } });
    assert.deepEqual(await outcome(channel.push('later', { delay: WINDOW_MS / 2 })), { status: 'ok', response: { later: true } });
    const pushed = nextEvent(channel, 'pushed');
    await outcome(channel.push('push', { body: 'direct' }));
    assert.deepEqual(await pushed, { body: 'direct' });
    assert.equal((await outcome(channel.leave())).status, 'ok');
    await eventually(() => recorder.of('terminate', topic).length === 1, 'the channel terminated');
    assert.deepEqual(recorder.of('terminate', topic), [{ shutdown: 'left' }]);
  });

  it('carries broadcasts both ways between a WebSocket client and a long-poll client (P-42)', async () => {
    const topic = uniqueTopic();
    const overWs = app.client().channel(topic);
    const overLp = longPoll().channel(topic);
    await joined(overWs);
    await joined(overLp);
    const atLp = nextEvent(overLp, 'shout');
    const atWs = nextEvent(overWs, 'shout');
    await outcome(overWs.push('broadcast', { body: 'from ws' }));
    assert.deepEqual(await atLp, { body: 'from ws' });
    assert.deepEqual(await atWs, { body: 'from ws' });
    const backAtWs = nextEvent(overWs, 'shout');
    const backAtLp = nextEvent(overLp, 'shout');
    await outcome(overLp.push('broadcast', { body: 'from long-poll' }));
    assert.deepEqual(await backAtWs, { body: 'from long-poll' });
    assert.deepEqual(await backAtLp, { body: 'from long-poll' });
  });

  it('delivers a burst of broadcasts in order', async () => {
    const topic = uniqueTopic();
    const channel = longPoll().channel(topic);
    await joined(channel);
    const seen: number[] = [];
    channel.on('burst', (payload: { i: number }) => {
      seen.push(payload.i);
    });
    const endpoint = app.app.get(ChannelsEndpoint);
    for (let i = 0; i < 250; i++) await endpoint.broadcast(topic, 'burst', { i });
    await eventually(() => seen.length === 250, 'all 250 broadcasts arrived', 5000);
    assert.deepEqual(seen, Array.from({ length: 250 }, (_, i) => i));
  });

  it('runs @HandleOut per subscriber, whatever its transport (P-44)', async () => {
    const topic = uniqueTopic();
    const ann = longPoll({ params: { user: 'ann' } }).channel(topic);
    const bob = app.client({ params: { user: 'bob' } }).channel(topic);
    await joined(ann);
    await joined(bob);
    const annGets = nextEvent(ann, 'intercepted');
    const bobGets = nextEvent(bob, 'intercepted');
    await app.app.get(ChannelsEndpoint).broadcast(topic, 'intercepted', { body: 'hi' });
    assert.deepEqual(await annGets, { body: 'hi', user: 'ann' });
    assert.deepEqual(await bobGets, { body: 'hi', user: 'bob' });
    const filteredAtAnn: unknown[] = [];
    ann.on('filtered', (payload) => {
      filteredAtAnn.push(payload);
    });
    const toBob = nextEvent(bob, 'filtered');
    await app.app.get(ChannelsEndpoint).broadcast(topic, 'filtered', { body: 'for bob', to: 'bob' });
    assert.deepEqual(await toBob, { body: 'for bob', to: 'bob' });
    await sleep(WINDOW_MS);
    assert.deepEqual(filteredAtAnn, [], 'filtered out for ann');
  });

  it('ends only its own session on a malformed POST: that client reconnects and rejoins, another long-poll client goes on', async () => {
    const topic = uniqueTopic();
    const victim = longPoll();
    const bystander = longPoll();
    const bystanderCloses = closeCodesOf(bystander);
    const victimChannel = victim.channel(topic);
    const bystanderChannel = bystander.channel(topic);
    await joined(victimChannel);
    await joined(bystanderChannel);
    const victimCloses = closeCodesOf(victim);
    transportOf(victim).send('[this is not a frame');
    // Its held poll learns first that the session is gone (3410); had the POST's 408 come first, 1011.
    await eventually(() => victimCloses.length > 0, 'the victim lost its session');
    assert.ok([3410, 1011].includes(victimCloses[0]!), `closed with ${victimCloses[0]}`);
    await eventually(() => recorder.of('join', topic).length === 3, 'the victim rejoined', 5000);
    assert.ok(logs.find('warn', /malformed frame from/).length >= 1);
    const heard = nextEvent(bystanderChannel, 'shout');
    await outcome(victimChannel.push('broadcast', { body: 'back' }));
    assert.deepEqual(await heard, { body: 'back' });
    assert.deepEqual(bystanderCloses, [], 'the bystander never lost its session');
  });
});

describe('long-poll clients behind a proxy that stalls or rewrites (windowMs 300)', () => {
  let app: TestApp;
  let proxy: TestProxy;

  before(async () => {
    app = await startApp(Fixtures.standard({ longpoll: { windowMs: WINDOW_MS } }));
    proxy = await startProxy([app.port]);
  });
  after(async () => {
    await app.close();
    await proxy.close();
  });

  it('ends the session with { shutdown: "inactive" } while the client is cut off; the client then gets a new session and rejoins (P-75)', async () => {
    const recorder = app.app.get(Recorder);
    const topic = uniqueTopic();
    const socket = app.client({ base: proxy.wsBase, transport: LongPollTransport, longpollerTimeout: 5000 } as ClientOptions);
    const channel = socket.channel(topic);
    await joined(channel);
    proxy.pause();
    await eventually(() => recorder.of('terminate', topic).length === 1, 'the session expired', 5000);
    assert.deepEqual(recorder.of('terminate', topic), [{ shutdown: 'inactive' }]);
    proxy.resume();
    await eventually(() => recorder.of('join', topic).length === 2, 'the channel rejoined on a new session', 5000);
    assert.deepEqual(await outcome(channel.push('ping', { after: 'expiry' })), { status: 'ok', response: { after: 'expiry' } });
    socket.disconnect();
  });

  it('gets a new session for a poll with a bad token, and the client reconnects and rejoins (P-68)', async () => {
    const recorder = app.app.get(Recorder);
    const topic = uniqueTopic();
    const socket = app.client({ base: proxy.wsBase, transport: LongPollTransport, longpollerTimeout: 5000 } as ClientOptions);
    const closes = closeCodesOf(socket);
    const channel = socket.channel(topic);
    await joined(channel);
    // This client's token, read from the client, so that only its own next request is rewritten.
    const token = encodeURIComponent((socket as unknown as { conn: { token: string } }).conn.token);
    let rewritten = 0;
    proxy.mapPath = (path) => {
      if (rewritten > 0 || !path.includes(`token=${token}`)) return path;
      rewritten++;
      return path.replace(`token=${token}`, 'token=lp1.Ym9ndXM.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    };
    await eventually(() => recorder.of('join', topic).length === 2, 'the channel rejoined', 5000);
    proxy.mapPath = null;
    assert.equal(rewritten, 1);
    assert.ok(closes.includes(3410), `the client closed with 3410 (session gone), closes: ${closes}`);
    assert.deepEqual(await outcome(channel.push('ping', { again: true })), { status: 'ok', response: { again: true } });
  });
});

describe('longPollFallbackMs, with a proxy that refuses WebSocket upgrades', () => {
  let app: TestApp;
  let proxy: TestProxy;

  before(async () => {
    app = await startApp(Fixtures.standard({ longpoll: { windowMs: 1000 } }));
    proxy = await startProxy([app.port]);
  });
  after(async () => {
    await app.close();
    await proxy.close();
  });

  it('falls back to long-poll, remembers it, and chats with a WebSocket client', async () => {
    const storage = memoryStorage();
    const topic = uniqueTopic();
    const socket = app.client({ base: proxy.wsBase, longPollFallbackMs: 300, sessionStorage: storage, longpollerTimeout: 5000 } as ClientOptions);
    const channel = socket.channel(topic);
    assert.deepEqual(await joined(channel, 5000), {});
    assert.ok(proxy.refusedUpgrades >= 1, 'the WebSocket was tried and refused');
    assert.equal(longPollSessions(app.app), 1);
    assert.equal(storage.getItem('phx:fallback:LongPoll'), 'true', 'phoenix.js remembers the fallback');
    const direct = app.client().channel(topic);
    await joined(direct);
    const atFallback = nextEvent(channel, 'shout');
    await outcome(direct.push('broadcast', { body: 'over ws' }));
    assert.deepEqual(await atFallback, { body: 'over ws' });
    const atDirect = nextEvent(direct, 'shout');
    assert.deepEqual(await outcome(channel.push('broadcast', { body: 'over long-poll' })), { status: 'ok', response: {} });
    assert.deepEqual(await atDirect, { body: 'over long-poll' });
    assert.deepEqual(await outcome(channel.leave()), { status: 'ok', response: {} });
  });
});
