import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fixtures } from '../fixtures/fixtures.js';
import { closeCodesOf, joined, outcome, sleep, uniqueTopic } from '../support/phoenix-helpers.js';
import { startApp, type TestApp } from '../support/test-app.js';

describe('heartbeats through the phoenix client', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(Fixtures.standard({ heartbeatTimeout: 300 }));
  });
  after(() => app.close());

  it('keeps a phoenix.js client that is idle past the server timeout connected, because its heartbeats are answered (P-62)', async () => {
    const socket = app.client({ heartbeatIntervalMs: 100 });
    const closes = closeCodesOf(socket);
    const channel = socket.channel(uniqueTopic(), {});
    await joined(channel);
    await sleep(1000);
    assert.deepEqual(closes, [], 'the server closed an idle client whose heartbeats it answered');
    assert.equal(socket.isConnected(), true);
    assert.deepEqual(await outcome(channel.push('ping', { still: 'here' }), 2000, 'ping after idling'), {
      status: 'ok',
      response: { still: 'here' },
    });
  });

  it('closes a phoenix.js client that stops sending heartbeats with 1002, and the client reconnects (P-58)', async () => {
    const socket = app.client({ heartbeatIntervalMs: 60_000 });
    const closes = closeCodesOf(socket);
    const channel = socket.channel(uniqueTopic(), {});
    await joined(channel);
    const deadline = Date.now() + 3000;
    while (closes.length === 0 && Date.now() < deadline) await sleep(20);
    assert.equal(closes[0], 1002);
  });
});
