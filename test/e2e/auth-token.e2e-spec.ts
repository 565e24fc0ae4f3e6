/**
 * The `authToken` and `subprotocols` options: the
 * `phoenix` client's `authToken` over WebSocket (in the subprotocol offer)
 * and over long-poll (in `x-phoenix-authtoken`), and the subprotocol the
 * upgrade answers with.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LongPoll, type SocketConnectOption } from 'phoenix';
import { Fixtures } from '../fixtures/fixtures.js';
import { TestSocket } from '../fixtures/test.socket.js';
import { httpRequest } from '../support/http-request.js';
import { lpGet } from '../support/longpoll-client.js';
import { eventually, joined, uniqueTopic } from '../support/phoenix-helpers.js';
import { startApp, type TestApp } from '../support/test-app.js';

const WS_PATH = '/socket/websocket?vsn=2.0.0';
const LongPollTransport = LongPoll as unknown as SocketConnectOption['transport'];

/** What phoenix.js offers for `authToken: token`. */
function offer(token: string): string {
  return `phoenix, base64url.bearer.phx.${btoa(token).replace(/=/g, '')}`;
}

describe('authToken: true', () => {
  let app: TestApp;
  let handler: TestSocket;

  before(async () => {
    app = await startApp(Fixtures.standard({ authToken: true, longpoll: { windowMs: 500 } }));
    handler = app.app.get(TestSocket);
  });
  after(() => app.close());

  it('connects the phoenix client with authToken over WebSocket: phoenix selected, connect sees the token (P-10)', async () => {
    const socket = app.client({ authToken: 'secret-t0ken' } as never);
    await joined(socket.channel(uniqueTopic()));
    assert.equal((socket as unknown as { conn: { protocol: string } }).conn.protocol, 'phoenix');
    assert.equal(handler.lastInfo?.transport, 'websocket');
    assert.equal(handler.lastInfo?.authToken, 'secret-t0ken');
  });

  it('reads the token from x-phoenix-authtoken when the phoenix LongPoll client creates its session', async () => {
    const socket = app.client({ transport: LongPollTransport, authToken: 'lp token ✓'.normalize('NFC').replace('✓', 'ok') } as never);
    await joined(socket.channel(uniqueTopic()));
    assert.equal(handler.lastInfo?.transport, 'longpoll');
    assert.equal(handler.lastInfo?.authToken, 'lp token ok');
  });

  it('gives connect null when no token is offered, and answers phoenix to a bare "phoenix" offer', async () => {
    await joined(app.client().channel(uniqueTopic()));
    assert.equal(handler.lastInfo?.authToken, null);
    const bare = await httpRequest(app.httpBase, { path: WS_PATH, upgrade: true, headers: { 'sec-websocket-protocol': 'phoenix' } });
    assert.equal(bare.status, 101);
    assert.equal(bare.headers['sec-websocket-protocol'], 'phoenix');
    assert.equal(handler.lastInfo?.authToken, null);
    const polled = await lpGet(app.httpBase);
    assert.equal(polled.json?.status, 410);
    assert.equal(handler.lastInfo?.authToken, null);
  });

  it('answers the token offer with Sec-WebSocket-Protocol: phoenix, and refuses a token that is not base64 with 400', async () => {
    const ok = await httpRequest(app.httpBase, { path: WS_PATH, upgrade: true, headers: { 'sec-websocket-protocol': offer('abc') } });
    assert.equal(ok.status, 101);
    assert.equal(ok.headers['sec-websocket-protocol'], 'phoenix');
    assert.equal(handler.lastInfo?.authToken, 'abc');
    const bad = await httpRequest(app.httpBase, {
      path: WS_PATH,
      upgrade: true,
      headers: { 'sec-websocket-protocol': 'phoenix, base64url.bearer.phx.a' },
    });
    assert.equal(bad.status, 400);
  });
});

describe('authToken off (the default)', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(Fixtures.standard({ longpoll: { windowMs: 500 } }));
  });
  after(() => app.close());

  it('ignores offered subprotocols: the upgrade selects none, so the phoenix client with authToken cannot connect', async () => {
    const answer = await httpRequest(app.httpBase, { path: WS_PATH, upgrade: true, headers: { 'sec-websocket-protocol': offer('t') } });
    assert.equal(answer.status, 101);
    assert.equal(answer.headers['sec-websocket-protocol'], undefined);
    const errors: unknown[] = [];
    const socket = app.client({ authToken: 't' } as never);
    socket.onError((error) => {
      errors.push(error);
    });
    await eventually(() => errors.length >= 1, 'the client gave up on the handshake');
    assert.equal(socket.isConnected(), false);
    socket.disconnect();
  });

  it('leaves x-phoenix-authtoken unread on long-poll', async () => {
    await lpGet(app.httpBase, { headers: { 'x-phoenix-authtoken': 'ignored' } });
    assert.equal(app.app.get(TestSocket).lastInfo?.authToken, null);
  });
});

describe("subprotocols: ['mqtt', 'v2.chat']", () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(Fixtures.standard({ subprotocols: ['mqtt', 'v2.chat'] }));
  });
  after(() => app.close());

  const upgrade = (protocols?: string) =>
    httpRequest(app.httpBase, { path: WS_PATH, upgrade: true, headers: protocols === undefined ? {} : { 'sec-websocket-protocol': protocols } });

  it('answers with the first configured subprotocol the client offers', async () => {
    const answer = await upgrade('v2.chat, mqtt');
    assert.equal(answer.status, 101);
    assert.equal(answer.headers['sec-websocket-protocol'], 'mqtt');
    assert.equal((await upgrade('other, v2.chat')).headers['sec-websocket-protocol'], 'v2.chat');
  });

  it('upgrades without a subprotocol when none is offered', async () => {
    const answer = await upgrade();
    assert.equal(answer.status, 101);
    assert.equal(answer.headers['sec-websocket-protocol'], undefined);
  });

  it('refuses with 403 and an empty body an upgrade offering only unsupported subprotocols, before connect runs (P-11)', async () => {
    const handler = app.app.get(TestSocket);
    handler.lastParams = null;
    const answer = await httpRequest(app.httpBase, {
      path: `${WS_PATH}&marker=1`,
      upgrade: true,
      headers: { 'sec-websocket-protocol': 'graphql-ws' },
    });
    assert.equal(answer.status, 403);
    assert.equal(answer.body, '');
    assert.equal(handler.lastParams, null, 'connect did not run');
  });
});
