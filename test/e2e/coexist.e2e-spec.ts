/**
 * An ordinary `@nestjs/websockets` gateway (platform-ws style) and a channels
 * mount in one app, both on the app's HTTP server under `ChannelsAdapter`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket, type RawData } from 'ws';
import { CoexistModule, DynamicGatewayAppModule } from '../fixtures/echo.gateway.js';
import { httpRequest } from '../support/http-request.js';
import { joined, outcome, uniqueTopic } from '../support/phoenix-helpers.js';
import { PLATFORMS, startApp, type TestApp } from '../support/test-app.js';

/** A plain ws client for the gateway, with a bounded wait for its next JSON message. */
async function gatewayClient(app: TestApp, path = '/gw'): Promise<{ ws: WebSocket; next: (what: string) => Promise<any> }> {
  const ws = new WebSocket(`${app.wsBase}${path}`);
  const inbox: any[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data: RawData) => {
    inbox.push(JSON.parse(String(data)));
    wake?.();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = async (what: string): Promise<any> => {
    const deadline = Date.now() + 2000;
    while (inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after 2000ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
    return inbox.shift();
  };
  return { ws, next };
}

describe('a @WebSocketGateway next to ChannelsModule', () => {
  let app: TestApp;
  const gatewaySockets: WebSocket[] = [];
  before(async () => {
    app = await startApp(CoexistModule);
  });
  after(async () => {
    for (const ws of gatewaySockets) ws.terminate();
    await app.close();
  });

  it('serves the gateway at /gw and the channels at /socket/websocket side by side', async () => {
    const gateway = await gatewayClient(app);
    gatewaySockets.push(gateway.ws);
    const socket = app.client();
    const channel = socket.channel(uniqueTopic());
    await joined(channel);

    gateway.ws.send(JSON.stringify({ event: 'echo', data: { n: 1 } }));
    assert.deepEqual(await gateway.next('the gateway echo'), { event: 'echo', data: { n: 1 } });
    assert.deepEqual(await outcome(channel.push('ping', { n: 2 }), 2000, 'the channel ping'), { status: 'ok', response: { n: 2 } });

    // Each keeps its own framing: a Phoenix frame means nothing to the gateway, and the
    // gateway's JSON would be malformed on the channels socket, which must not disturb the gateway.
    gateway.ws.send(JSON.stringify([null, '1', 'phoenix', 'heartbeat', {}]));
    const raw = await app.raw();
    raw.send({ event: 'echo', data: { n: 3 } });
    assert.equal(await raw.closedWith(), 1011);
    gateway.ws.send(JSON.stringify({ event: 'echo', data: { n: 4 } }));
    assert.deepEqual(await gateway.next('the echo after the frames that were not for it'), { event: 'echo', data: { n: 4 } });
    assert.equal(gateway.ws.readyState, WebSocket.OPEN);
    assert.deepEqual(await outcome(channel.push('ping', { n: 5 }), 2000, 'the channel ping after'), { status: 'ok', response: { n: 5 } });
  });

  it('keeps the channels serving when a gateway client goes away, and the gateway when a channels client does', async () => {
    const gateway = await gatewayClient(app);
    gatewaySockets.push(gateway.ws);
    const raw = await app.raw();
    const topic = uniqueTopic();
    assert.deepEqual(await raw.join(topic), ['1', '1', topic, 'phx_reply', { status: 'ok', response: {} }]);

    gateway.ws.terminate();
    raw.send(['1', '2', topic, 'ping', { after: 'gateway left' }]);
    assert.deepEqual(await raw.nextJson(), ['1', '2', topic, 'phx_reply', { status: 'ok', response: { after: 'gateway left' } }]);

    raw.terminate();
    const again = await gatewayClient(app);
    gatewaySockets.push(again.ws);
    again.ws.send(JSON.stringify({ event: 'echo', data: 'still here' }));
    assert.deepEqual(await again.next('the echo of a new gateway client'), { event: 'echo', data: 'still here' });
  });

  it('refuses an upgrade on a path neither serves, and plain HTTP to the gateway path is the app\'s own', async () => {
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(`${app.wsBase}/nowhere`);
        ws.once('open', () => {
          ws.terminate();
          resolve();
        });
        ws.once('error', reject);
      }),
      'an upgrade on /nowhere does not open',
    );
    const plain = await httpRequest(app.httpBase, { path: '/gw' });
    assert.equal(plain.status, 404);
    const upgradeChannels = await httpRequest(app.httpBase, { path: '/socket/websocket?vsn=2.0.0', upgrade: true });
    assert.equal(upgradeChannels.status, 101);
  });
});

for (const platform of PLATFORMS) {
  describe(`a gateway whose path is made at run time, next to ChannelsModule (${platform})`, () => {
    let app: TestApp;
    const sockets: WebSocket[] = [];
    before(async () => {
      app = await startApp(DynamicGatewayAppModule, undefined, platform);
    });
    after(async () => {
      for (const ws of sockets) ws.terminate();
      await app.close();
    });

    it('routes its upgrades as Nest\'s WsAdapter would: normalised path, query and dot segments allowed', async () => {
      for (const path of ['/chat', '/chat?token=abc']) {
        const client = await gatewayClient(app, path);
        sockets.push(client.ws);
        client.ws.send(JSON.stringify({ event: 'where', data: path }));
        assert.deepEqual(await client.next(`the gateway's answer on ${path}`), { event: 'where', data: { path: 'chat/', data: path } });
      }
      // Request targets a WebSocket client would normalise before sending: the server reads them as WsAdapter does.
      for (const path of ['/x/../chat', '/chat#fragment', `http://127.0.0.1:${app.port}/chat`]) {
        assert.equal((await httpRequest(app.httpBase, { path, upgrade: true })).status, 101, `upgrade on ${path}`);
      }
      const channel = app.client().channel(uniqueTopic());
      await joined(channel);
      assert.deepEqual(await outcome(channel.push('ping', { n: 1 }), 2000, 'the channel ping'), { status: 'ok', response: { n: 1 } });
    });

    it('destroys an upgrade for a path that only looks like the gateway\'s, as WsAdapter does', async () => {
      await assert.rejects(
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(`${app.wsBase}/chat/`);
          ws.once('open', () => {
            ws.terminate();
            resolve();
          });
          ws.once('error', reject);
        }),
        'an upgrade on /chat/ does not open',
      );
    });
  });
}
