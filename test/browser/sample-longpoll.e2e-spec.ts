// The sample chat page over long-poll in a real Chromium: behind a proxy that refuses every
// WebSocket upgrade (as some corporate proxies do) the page falls back by itself and chats with a
// tab on WebSocket; `?transport=longpoll` never tries WebSocket at all.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startProxy, type TestProxy } from '../support/http-proxy.js';
import { SamplePage, startSample, type RunningSample } from '../support/sample-page.js';

/** What Chromium prints when the proxy refuses the upgrade: expected, the only console error allowed here. */
const REFUSED_UPGRADE = /WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/socket\/websocket\?vsn=2\.0\.0' failed/;

describe('the sample chat page over long-poll in Chromium', () => {
  let sample: RunningSample;
  /** In front of the app: forwards HTTP, refuses every WebSocket upgrade with 403. */
  let proxy: TestProxy;

  before(async () => {
    sample = await startSample();
    proxy = await startProxy([sample.port]);
  });
  after(async () => {
    await proxy?.close();
    await sample?.close();
  });

  it('falls back to long-poll where the WebSocket upgrade is refused, and chats both ways with a tab on WebSocket', async () => {
    const lena = await SamplePage.open(sample.browser, `${proxy.httpBase}/`);
    const wes = await SamplePage.open(sample.browser, sample.url);
    assert.equal(await lena.chosenTransport(), 'websocket', 'the page starts on WebSocket, with the fallback');

    assert.equal(await lena.join('lena', 'porch'), 'joined');
    assert.equal(await wes.join('wes', 'porch'), 'joined');
    assert.equal(await lena.transport(), 'longpoll');
    assert.equal(await lena.connectionText(), 'connected as lena · long-poll');
    assert.equal(await wes.transport(), 'websocket');

    assert.ok(proxy.refusedUpgrades >= 1, 'the page never tried WebSocket');
    assert.ok(lena.websocketsTried >= 1, 'Chromium saw no WebSocket attempt');
    assert.equal(lena.receivedFrames, 0, 'a WebSocket opened behind the proxy');
    assert.deepEqual(lena.sentFrames, [], 'a WebSocket opened behind the proxy');
    assert.ok(proxy.hits[0]! > 1, 'no long-poll request went through the proxy');

    await lena.say('Hello from behind the proxy');
    assert.deepEqual(await wes.waitForMessage('Hello from behind the proxy'), {
      user: 'lena',
      body: 'Hello from behind the proxy',
      mine: false,
    });
    assert.equal((await lena.waitForMessage('Hello from behind the proxy')).mine, true);
    await wes.say('Loud and clear over WebSocket');
    assert.deepEqual(await lena.waitForMessage('Loud and clear over WebSocket'), {
      user: 'wes',
      body: 'Loud and clear over WebSocket',
      mine: false,
    });

    // Presence over long-poll too: the WebSocket tab sees lena, marked as on long-poll.
    assert.deepEqual(await wes.waitForOnline({ lena: 1, wes: 1 }), [
      { user: 'lena', tabs: 1, badges: ['long-poll'] },
      { user: 'wes', tabs: 1, badges: [] },
    ]);
    await lena.waitForOnline({ lena: 1, wes: 1 });
    assert.equal(lena.receivedFrames, 0);
  });

  it('runs over long-poll only with ?transport=longpoll, never opening a WebSocket', async () => {
    const lou = await SamplePage.open(sample.browser, `${sample.url}?transport=longpoll`);
    assert.equal(await lou.chosenTransport(), 'longpoll');
    assert.equal(await lou.join('lou', 'porch'), 'joined');
    assert.equal(await lou.transport(), 'longpoll');
    await lou.say('Polling along');
    await lou.waitForMessage('Polling along');
    assert.equal(lou.websocketsTried, 0);
  });

  it('left no console error but the refused upgrade', () => {
    assert.ok(sample.browser.errors.some((error) => REFUSED_UPGRADE.test(error)), 'Chromium reported no refused upgrade');
    const unexpected = sample.browser.errors.filter((error) => !REFUSED_UPGRADE.test(error));
    assert.deepEqual(unexpected, []);
  });
});
