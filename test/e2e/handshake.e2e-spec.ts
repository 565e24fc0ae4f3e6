/**
 * The handshake, at the wire: upgrade answers, `vsn` negotiation, the origin
 * check and the socket handler's connect / id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Recorder } from '../fixtures/recorder.js';
import { Fixtures } from '../fixtures/fixtures.js';
import { TestSocket } from '../fixtures/test.socket.js';
import { WireFixtures } from '../fixtures/wire.fixtures.js';
import { httpRequest } from '../support/http-request.js';
import { eventually, uniqueTopic } from '../support/phoenix-helpers.js';
import type { RawClient } from '../support/raw-client.js';
import { startApp, type TestApp } from '../support/test-app.js';

const WS_PATH = '/socket/websocket';

/** Asserts the upgrade is refused with `status`, seen both by a WebSocket client and as plain HTTP. */
async function assertRefused(app: TestApp, query: string, status: number, headers: Record<string, string> = {}): Promise<void> {
  await assert.rejects(app.raw({ query, headers }), (error: Error & { status?: number }) => {
    assert.equal(error.status, status, `WebSocket upgrade with ?${query}`);
    return true;
  });
  const answer = await httpRequest(app.httpBase, { path: `${WS_PATH}?${query}`, upgrade: true, headers });
  assert.equal(answer.status, status, `HTTP upgrade with ?${query}`);
  assert.equal(answer.body, '', `the ${status} answer to ?${query} has an empty body`);
}

/** The next frame's keys and the JSON type of its ref, for V1/V2 shape checks. */
async function heartbeat(raw: RawClient, v1: boolean): Promise<any> {
  raw.send(v1 ? { topic: 'phoenix', event: 'heartbeat', payload: {}, ref: 'hb' } : [null, 'hb', 'phoenix', 'heartbeat', {}]);
  return raw.nextJson(2000, 'the heartbeat reply');
}

describe('handshake on the standard fixture', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(Fixtures.standard());
  });
  after(() => app.close());

  it('upgrades GET /socket/websocket?vsn=2.0.0 with 101 (P-01)', async () => {
    const answer = await httpRequest(app.httpBase, { path: `${WS_PATH}?vsn=2.0.0`, upgrade: true });
    assert.equal(answer.status, 101);
    assert.equal(answer.headers.upgrade?.toLowerCase(), 'websocket');
    const raw = await app.raw({ query: 'vsn=2.0.0' });
    assert.equal(raw.ws.readyState, raw.ws.OPEN);
  });

  it('speaks V1 objects with exactly topic/event/payload/ref when no vsn is given (P-02)', async () => {
    const raw = await app.raw({ query: '' });
    const topic = uniqueTopic();
    raw.send({ topic, event: 'phx_join', payload: {}, ref: '1', join_ref: '1' });
    const joinReply = await raw.nextJson(2000, 'the V1 join reply');
    assert.deepEqual(Object.keys(joinReply).sort(), ['event', 'payload', 'ref', 'topic']);
    assert.deepEqual(joinReply, { topic, event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: '1' });
    const hb = await heartbeat(raw, true);
    assert.deepEqual(hb, { topic: 'phoenix', event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: 'hb' });
  });

  it('speaks V2 five-element arrays with vsn=2.0.0 (P-03)', async () => {
    const raw = await app.raw({ query: 'vsn=2.0.0' });
    const topic = uniqueTopic();
    const joinReply = await raw.join(topic, {}, '3', '4');
    assert.ok(Array.isArray(joinReply) && joinReply.length === 5, `a 5-element array, got ${JSON.stringify(joinReply)}`);
    assert.deepEqual(joinReply, ['3', '4', topic, 'phx_reply', { status: 'ok', response: {} }]);
  });

  it('takes vsn=1.0.7 as V1 and vsn=2.0.9 as V2 (P-04)', async () => {
    const v1 = await app.raw({ query: 'vsn=1.0.7' });
    assert.deepEqual(await heartbeat(v1, true), {
      topic: 'phoenix',
      event: 'phx_reply',
      payload: { status: 'ok', response: {} },
      ref: 'hb',
    });
    const v2 = await app.raw({ query: 'vsn=2.0.9' });
    assert.deepEqual(await heartbeat(v2, false), [null, 'hb', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
  });

  it('refuses vsn 2.1.0, 3.0.0, 2.0, abc, 2.0.0-rc.1 and vsn[]=x with 403 and an empty body (P-05)', async () => {
    for (const query of ['vsn=2.1.0', 'vsn=3.0.0', 'vsn=2.0', 'vsn=abc', 'vsn=2.0.0-rc.1', 'vsn[]=x', 'vsn=']) {
      await assertRefused(app, query, 403);
    }
    // The refused attempts left the server serving.
    const raw = await app.raw();
    assert.deepEqual(await heartbeat(raw, false), [null, 'hb', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
  });

  it('answers 403 on upgrade when connect refuses, and the phoenix client joins nothing (P-06)', async () => {
    await assertRefused(app, 'refuse=1&vsn=2.0.0', 403);

    const recorder = app.app.get(Recorder);
    const topic = uniqueTopic();
    const errors: unknown[] = [];
    const socket = app.client({ params: { refuse: '1' } });
    socket.onError((error) => {
      errors.push(error);
    });
    const channel = socket.channel(topic);
    channel.join();
    // phoenix.js retries every 50 ms here: wait for two refused attempts.
    await eventually(() => errors.length >= 2, 'the phoenix client saw two refused connects', 3000);
    assert.equal(socket.isConnected(), false);
    // Leaving while disconnected closes the channel at once and clears its join timer.
    channel.leave();
    socket.disconnect();
    assert.deepEqual(recorder.of('join', topic), [], 'no join reached the server');
    assert.equal(app.app.get(TestSocket).lastParams?.refuse, '1', 'connect did run with the params');
  });

  it('answers 403 when connect throws, and keeps serving', async () => {
    await assertRefused(app, 'throw=1&vsn=2.0.0', 403);
    const raw = await app.raw();
    assert.deepEqual(await heartbeat(raw, false), [null, 'hb', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
  });

  it('answers 400 with an empty body to POST on the WebSocket path, with or without upgrade headers (P-07)', async () => {
    const plain = await httpRequest(app.httpBase, { method: 'POST', path: `${WS_PATH}?vsn=2.0.0` });
    assert.equal(plain.status, 400);
    assert.equal(plain.body, '');
    const upgrading = await httpRequest(app.httpBase, { method: 'POST', path: `${WS_PATH}?vsn=2.0.0`, upgrade: true });
    assert.equal(upgrading.status, 400);
    assert.equal(upgrading.body, '');
  });

  it('answers 400 to a GET without upgrade headers, the body naming the bad header (P-07)', async () => {
    const noUpgrade = await httpRequest(app.httpBase, { path: `${WS_PATH}?vsn=2.0.0`, headers: { connection: 'keep-alive' } });
    assert.equal(noUpgrade.status, 400);
    assert.match(noUpgrade.body, /'connection' header must contain 'upgrade'/);

    const noWebsocket = await httpRequest(app.httpBase, { path: `${WS_PATH}?vsn=2.0.0`, headers: { connection: 'upgrade' } });
    assert.equal(noWebsocket.status, 400);
    assert.match(noWebsocket.body, /'upgrade' header must contain 'websocket'/);

    const noKey = await httpRequest(app.httpBase, {
      path: `${WS_PATH}?vsn=2.0.0`,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13' },
    });
    assert.equal(noKey.status, 400);
    assert.match(noKey.body, /sec-websocket-key/i);
    // Other paths are not ours: the app's own 404.
    const elsewhere = await httpRequest(app.httpBase, { path: '/socket/elsewhere' });
    assert.equal(elsewhere.status, 404);
  });

  it('accepts an Origin whose host equals the Host header host, and a missing Origin; refuses a foreign one with 403 (P-08)', async () => {
    // Host is 127.0.0.1:<port>; scheme and port of the Origin are not compared.
    const same = await app.raw({ headers: { origin: `http://127.0.0.1:${app.port}` } });
    assert.deepEqual(await heartbeat(same, false), [null, 'hb', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
    const otherPort = await app.raw({ headers: { origin: 'https://127.0.0.1:9' } });
    assert.deepEqual(await heartbeat(otherPort, false), [null, 'hb', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
    const none = await app.raw();
    assert.deepEqual(await heartbeat(none, false), [null, 'hb', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);

    for (const origin of ['http://evil.example.com', 'http://localhost', 'null', 'http://127.0.0.1.evil.com']) {
      await assertRefused(app, 'vsn=2.0.0', 403, { origin });
    }
    // A Host that names the foreign origin's host accepts it: the rule compares with the request's own Host.
    const answer = await httpRequest(app.httpBase, {
      path: `${WS_PATH}?vsn=2.0.0`,
      upgrade: true,
      headers: { origin: 'https://chat.example.com', host: 'chat.example.com' },
    });
    assert.equal(answer.status, 101);
  });

  it('passes query params, nested keys and vsn to connect, with peerData, uri and headers in ConnectInfo (P-12)', async () => {
    const handler = app.app.get(TestSocket);
    const raw = await app.raw({
      query: 'token=abc&user[id]=1&user[name]=ann&ids[0]=a&ids[1]=b&dup=1&dup=2&vsn=2.0.0',
      headers: { 'x-request-id': 'r-42', 'user-agent': 'wire-test' },
    });
    assert.deepEqual(handler.lastParams, {
      token: 'abc',
      user: { id: '1', name: 'ann' },
      ids: ['a', 'b'],
      dup: '2',
      vsn: '2.0.0',
    });
    const info = handler.lastInfo!;
    const local = (raw.ws as unknown as { _socket: { localAddress: string; localPort: number } })._socket;
    assert.deepEqual(info.peerData, { address: local.localAddress, port: local.localPort });
    assert.ok(info.uri instanceof URL, 'uri is a URL');
    assert.equal(info.uri.pathname, WS_PATH);
    assert.equal(info.uri.host, `127.0.0.1:${app.port}`);
    assert.equal(info.uri.searchParams.get('token'), 'abc');
    assert.equal(info.uri.searchParams.get('vsn'), '2.0.0');
    assert.equal(info.headers['x-request-id'], 'r-42');
    assert.equal(info.headers['user-agent'], 'wire-test');
    assert.equal(info.headers.host, `127.0.0.1:${app.port}`);
    assert.equal(info.transport, 'websocket');

    // The nested param set by connect reached the channel as an assign.
    const topic = uniqueTopic();
    assert.deepEqual(await raw.join(topic), ['1', '1', topic, 'phx_reply', { status: 'ok', response: {} }]);
    raw.send(['1', '2', topic, 'assigns', {}]);
    const [, , , , { response }] = await raw.nextJson(2000, 'the assigns reply');
    assert.deepEqual(response.assigns, { user: { id: '1', name: 'ann' } });
    assert.equal(response.id, null);
  });

  it('gives channels the socket id when id() returns a string, and null when it returns null', async () => {
    const withId = await app.raw({ query: 'id=users_socket:7&user=u7&vsn=2.0.0' });
    const topic = uniqueTopic();
    await withId.join(topic);
    withId.send(['1', '2', topic, 'assigns', {}]);
    const [, , , , named] = await withId.nextJson(2000, 'the assigns reply with an id');
    assert.equal(named.response.id, 'users_socket:7');
    assert.deepEqual(named.response.assigns, { user: 'u7', socketId: 'users_socket:7' });

    const anonymous = await app.raw({ query: 'vsn=2.0.0' });
    await anonymous.join(topic);
    anonymous.send(['1', '2', topic, 'assigns', {}]);
    const [, , , , unnamed] = await anonymous.nextJson(2000, 'the assigns reply without an id');
    assert.equal(unnamed.response.id, null);
    assert.deepEqual(unnamed.response.assigns, { user: 'anon' });
  });
});

describe('handshake with checkOrigin: ["//*.example.com"]', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(Fixtures.standard({ checkOrigin: ['//*.example.com'] }));
  });
  after(() => app.close());

  it('accepts a.example.com and example.com on any scheme and port, refuses badexample.com (P-09)', async () => {
    for (const origin of ['https://a.example.com', 'https://example.com', 'http://a.b.example.com:8080']) {
      const raw = await app.raw({ headers: { origin } });
      assert.deepEqual(await heartbeat(raw, false), [null, 'hb', 'phoenix', 'phx_reply', { status: 'ok', response: {} }], origin);
    }
    const none = await app.raw();
    assert.deepEqual(await heartbeat(none, false), [null, 'hb', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
    for (const origin of ['https://badexample.com', 'https://example.com.evil.org', `http://127.0.0.1:${app.port}`, 'null']) {
      await assertRefused(app, 'vsn=2.0.0', 403, { origin });
    }
  });
});

describe('handshake with an id() that returns odd values', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(WireFixtures.oddId());
  });
  after(() => app.close());

  it('accepts an id that is a string, null or undefined, and refuses a number or a throw with 403', async () => {
    for (const kind of ['string', 'null', 'undefined']) {
      const raw = await app.raw({ query: `id_kind=${kind}&vsn=2.0.0` });
      const topic = uniqueTopic();
      await raw.join(topic);
      raw.send(['1', '2', topic, 'assigns', {}]);
      const [, , , , { response }] = await raw.nextJson(2000, `the assigns reply for id_kind=${kind}`);
      assert.equal(response.id, kind === 'string' ? 'users_socket:odd' : null, kind);
    }
    await assertRefused(app, 'id_kind=number&vsn=2.0.0', 403);
    await assertRefused(app, 'id_kind=throw&vsn=2.0.0', 403);
  });
});
