import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fixtures } from '../fixtures/fixtures.js';
import { joined, outcome, uniqueTopic } from '../support/phoenix-helpers.js';
import { startApp, type TestApp } from '../support/test-app.js';

describe('phoenix client against the standard fixture', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(Fixtures.standard());
  });
  after(() => app.close());

  for (const vsn of ['1.0.0', '2.0.0'] as const) {
    it(`joins, pings and gets the reply with vsn ${vsn} (P-61)`, async () => {
      const socket = app.client({ vsn });
      const channel = socket.channel(uniqueTopic(), { reply: { hello: 'there' } });
      assert.deepEqual(await joined(channel), { hello: 'there' });
      const pong = await outcome(channel.push('ping', { n: 1 }), 3000, 'ping');
      assert.deepEqual(pong, { status: 'ok', response: { n: 1 } });
    });
  }

  it('raw: heartbeat is answered with join_ref null (P-13, P-14)', async () => {
    const raw = await app.raw();
    raw.send(['9', '1', 'phoenix', 'heartbeat', {}]);
    assert.deepEqual(await raw.nextJson(), [null, '1', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
  });
});
