/**
 * Guards on the socket handler run before `connect`; a refusal is HTTP 403.
 * A `connect` that never settles is answered 503 after `connectTimeout`, with
 * one log line, and the socket is not held (issue 12, item 3). Long-poll
 * sessions go through the same guards and timeout. On Express and on
 * Fastify.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { LongPoll, type SocketConnectOption } from 'phoenix';
import { TELEMETRY, type ConnectEvent } from '../../lib/index.js';
import { ConnectGuardModule, GuardedSocket, TokenGuard } from '../fixtures/connect-guard.socket.js';
import { httpRequest } from '../support/http-request.js';
import { LogCapture } from '../support/log-capture.js';
import { lpGet, longPollSessions } from '../support/longpoll-client.js';
import { eventually, joined, outcome, uniqueTopic } from '../support/phoenix-helpers.js';
import { listen } from '../support/telemetry.js';
import { PLATFORMS, startApp, type ClientOptions, type TestApp } from '../support/test-app.js';

const LongPollTransport = LongPoll as unknown as SocketConnectOption['transport'];

/** Sends an upgrade request on a bare TCP socket; resolves with all the server wrote once the server closed it. */
function upgradeUntilClosed(port: number, path: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the socket within ${timeoutMs}ms; it wrote ${JSON.stringify(received)}`));
    }, timeoutMs);
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
  });
}

for (const platform of PLATFORMS) {
  describe(`guards and timeout on connect (${platform})`, () => {
    let app: TestApp;
    let guard: TokenGuard;
    let handler: GuardedSocket;

    before(async () => {
      app = await startApp(ConnectGuardModule, undefined, platform);
      guard = app.app.get(TokenGuard);
      handler = app.app.get(GuardedSocket);
    });
    after(() => app.close());

    it('runs the guard on the socket handler class before connect, and refuses with 403 (connect never runs); the connect event says error', async () => {
      const connects = handler.connects;
      const events = listen<ConnectEvent>(TELEMETRY.connect);
      try {
        const answer = await httpRequest(app.httpBase, { path: '/socket/websocket?vsn=2.0.0&token=nope', upgrade: true });
        assert.equal(answer.status, 403);
        assert.equal(answer.body, '');
        assert.equal(handler.connects, connects);
        await eventually(() => events.events.some((e) => e.params.token === 'nope'), 'the connect event');
        const event = events.events.find((e) => e.params.token === 'nope')!;
        assert.deepEqual([event.result, event.handler, event.socketId, event.transport], ['error', 'GuardedSocket', null, 'websocket']);
      } finally {
        events.stop();
      }
    });

    it("gives the guard a ws context: the Socket as client, the connect params as data, 'connect' as pattern", async () => {
      const answer = await httpRequest(app.httpBase, { path: '/socket/websocket?vsn=2.0.0&token=letmein&x=1', upgrade: true });
      assert.equal(answer.status, 101);
      assert.deepEqual(guard.seen.at(-1), {
        type: 'ws',
        pattern: 'connect',
        params: { vsn: '2.0.0', token: 'letmein', x: '1' },
        clientHasAssign: true,
        className: 'GuardedSocket',
        handler: 'connect',
      });
    });

    it('lets a guarded connection join channels through the phoenix client', async () => {
      const socket = app.client({ params: { token: 'letmein' } });
      const response = await joined(socket.channel(uniqueTopic('room'), { reply: { ok: true } }));
      assert.deepEqual(response, { ok: true });
    });

    it('answers 503 to a connect that does not settle within connectTimeout, logs it once, and closes the socket; the connect event says error', async () => {
      const logs = LogCapture.install();
      const events = listen<ConnectEvent>(TELEMETRY.connect);
      try {
        const startedAt = Date.now();
        const answer = await httpRequest(app.httpBase, {
          path: '/socket/websocket?vsn=2.0.0&token=letmein&hang=1',
          upgrade: true,
          timeoutMs: 5000,
        });
        assert.equal(answer.status, 503);
        assert.ok(Date.now() - startedAt >= 250, 'answered before connectTimeout');
        const lines = logs.find('error', /GuardedSocket\.connect from .* did not settle within 300ms \(connectTimeout\)/);
        assert.equal(lines.length, 1);
        const timedOut = events.events.filter((e) => e.params.hang === '1');
        assert.equal(timedOut.length, 1);
        assert.equal(timedOut[0]!.result, 'error');
        assert.ok(timedOut[0]!.durationMs >= 250, `timed to the limit (${timedOut[0]!.durationMs}ms)`);
      } finally {
        events.stop();
        logs.restore();
      }
      // The server does not hold the socket: it answers and closes it.
      const written = await upgradeUntilClosed(app.port, '/socket/websocket?vsn=2.0.0&token=letmein&hang=1', 5000);
      assert.match(written, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
      // And goes on serving.
      const answer = await httpRequest(app.httpBase, { path: '/socket/websocket?vsn=2.0.0&token=letmein', upgrade: true });
      assert.equal(answer.status, 101);
    });

    it('runs the guard before connect for a long-poll session: a refusal is {"status":403} and connect never runs (P-73)', async () => {
      const connects = handler.connects;
      const answer = await lpGet(app.httpBase, { query: 'vsn=2.0.0&token=nope' });
      assert.equal(answer.http, 200);
      assert.deepEqual(answer.json, { status: 403 });
      assert.equal(handler.connects, connects);
      assert.equal(guard.seen.at(-1)?.['pattern'], 'connect');
    });

    it('answers a long-poll session request whose connect does not settle within connectTimeout with HTTP 503, and logs it once', async () => {
      const logs = LogCapture.install();
      try {
        const before = longPollSessions(app.app);
        const startedAt = Date.now();
        const answer = await lpGet(app.httpBase, { query: 'vsn=2.0.0&token=letmein&hang=1' });
        assert.equal(answer.http, 503);
        assert.equal(answer.raw, '');
        assert.ok(Date.now() - startedAt >= 250, 'answered before connectTimeout');
        assert.equal(logs.find('error', /GuardedSocket\.connect from .* did not settle within 300ms \(connectTimeout\); answering its longpoll connection with 503/).length, 1);
        assert.equal(longPollSessions(app.app), before, 'no session was made');
      } finally {
        logs.restore();
      }
    });

    it(`serves the phoenix client's LongPoll through the guard on ${platform}: it joins and gets its reply (P-61)`, async () => {
      const socket = app.client({ transport: LongPollTransport, params: { token: 'letmein' } } as ClientOptions);
      const channel = socket.channel(uniqueTopic('room'), { reply: { over: 'longpoll' } });
      assert.deepEqual(await joined(channel), { over: 'longpoll' });
      assert.deepEqual(await outcome(channel.push('ping', { n: 1 })), { status: 'ok', response: { n: 1 } });
      assert.equal(handler.lastTransport, 'longpoll');
    });

    it('answers plain HTTP to the WebSocket path with 400, ahead of the platform (P-07)', async () => {
      const answer = await httpRequest(app.httpBase, { path: '/socket/websocket?vsn=2.0.0' });
      assert.equal(answer.status, 400);
      assert.equal(answer.body, "'connection' header must contain 'upgrade'");
      const other = await httpRequest(app.httpBase, { path: '/not-a-route' });
      assert.equal(other.status, 404);
    });
  });
}
