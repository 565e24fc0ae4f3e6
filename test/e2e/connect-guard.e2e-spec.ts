/**
 * Guards on the socket handler run before `connect`; a refusal is HTTP 403.
 * A `connect` that never settles is answered 503 after `connectTimeout`, with
 * one log line, and the socket is not held (issue 12, item 3). On Express
 * and on Fastify.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConnectGuardModule, GuardedSocket, TokenGuard } from '../fixtures/connect-guard.socket.js';
import { httpRequest } from '../support/http-request.js';
import { LogCapture } from '../support/log-capture.js';
import { joined, uniqueTopic } from '../support/phoenix-helpers.js';
import { PLATFORMS, startApp, type TestApp } from '../support/test-app.js';

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

    it('runs the guard on the socket handler class before connect, and refuses with 403 (connect never runs)', async () => {
      const connects = handler.connects;
      const answer = await httpRequest(app.httpBase, { path: '/socket/websocket?vsn=2.0.0&token=nope', upgrade: true });
      assert.equal(answer.status, 403);
      assert.equal(answer.body, '');
      assert.equal(handler.connects, connects);
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

    it('answers 503 to a connect that does not settle within connectTimeout, logs it once, and closes the socket', async () => {
      const logs = LogCapture.install();
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
      } finally {
        logs.restore();
      }
      // The server does not hold the socket: it answers and closes it.
      const written = await upgradeUntilClosed(app.port, '/socket/websocket?vsn=2.0.0&token=letmein&hang=1', 5000);
      assert.match(written, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
      // And goes on serving.
      const answer = await httpRequest(app.httpBase, { path: '/socket/websocket?vsn=2.0.0&token=letmein', upgrade: true });
      assert.equal(answer.status, 101);
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
