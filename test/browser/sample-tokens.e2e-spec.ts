// The sample page's connect tokens in a real Chromium: the page gets a signed, expiring token from
// POST /api/token and connects with it; when the server refuses the token the page says so, gets a
// new one once, and stops if that one is refused too. The tests hand the page bad tokens by
// answering its token request themselves.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JwtService } from '@nestjs/jwt';
import type { Page } from 'playwright-core';
import { saveScreenshot } from '../support/browser.js';
import { sleep } from '../support/phoenix-helpers.js';
import { SamplePage, startSample, type RunningSample } from '../support/sample-page.js';

/** phoenix.js retries within a few seconds at first; watching this long shows whether the page stopped it. */
const RETRY_WATCH_MS = 1_500;

/**
 * Console errors a refused token causes, and nothing else: Chromium's line for the refused
 * WebSocket upgrade, and for the 401 of the page's question about its token.
 */
const EXPECTED_ERRORS = [
  /WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/socket\/websocket\?vsn=2\.0\.0' failed: Error during WebSocket handshake: Unexpected response code: 403/,
  /Failed to load resource: the server responded with a status of 401 \(Unauthorized\)/,
];

/** Makes the tab's next `count` token requests (or all of them) get `token` instead of a real one. */
async function handTokens(page: Page, token: string, count?: number): Promise<void> {
  let left = count ?? Number.POSITIVE_INFINITY;
  await page.route('**/api/token', async (route) => {
    if (route.request().method() !== 'POST' || left <= 0) {
      await route.fallback();
      return;
    }
    left--;
    await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ token, expiresAt: 0 }) });
  });
}

describe('the sample page with refused connect tokens in Chromium', () => {
  let sample: RunningSample;

  before(async () => {
    sample = await startSample();
  });
  after(() => sample?.close());

  it('says the server refused an expired token, gets a new one and connects over WebSocket', async () => {
    const ivy = await SamplePage.open(sample.browser, sample.url);
    await handTokens(ivy.page, await sample.app.get(JwtService).signAsync({ sub: 'ivy' }, { expiresIn: -10 }), 1);
    assert.equal(await ivy.join('ivy', 'lobby'), 'joined');
    assert.equal(await ivy.connectionText(), 'connected as ivy · WebSocket');
    assert.equal(await ivy.transport(), 'websocket', 'the refused first attempt left the page on long-poll');
    assert.deepEqual(await ivy.notices(), [
      'The server refused the connect token (expired); the page got a new one.',
      'Welcome, ivy. Everyone in room:lobby sees what you send here.',
    ]);
    await ivy.say('Back with a fresh token');
    await ivy.waitForMessage('Back with a fresh token');
  });

  it('says the server refused a forged token, and stops trying after one new token is refused as well', async () => {
    const forged = new JwtService({ secret: 'a key the server does not have' }).sign(
      { sub: 'mallory' },
      { audience: 'chat-socket', expiresIn: 300 },
    );
    const mallory = await SamplePage.open(sample.browser, sample.url);
    await handTokens(mallory.page, forged);
    assert.equal(await mallory.join('mallory', 'lobby'), 'refused');
    assert.equal(await mallory.roomText(), 'not connected: connect token refused (invalid signature)');
    assert.equal(await mallory.connectionText(), 'token refused');
    assert.deepEqual(await mallory.notices(), [
      'The server refused the connect token: invalid signature. Press Join to try again.',
    ]);
    assert.equal(mallory.receivedFrames, 0, 'a WebSocket opened with a forged token');
    const tried = mallory.websocketsTried;
    assert.ok(tried >= 2, 'the page did not try the new token');
    await sleep(RETRY_WATCH_MS);
    assert.equal(mallory.websocketsTried, tried, 'the page kept offering a refused token');
    assert.deepEqual(await mallory.online(), []);
    await saveScreenshot('token-refused', await mallory.screenshot());

    // Join asks for a new token: with a real one, the same tab connects.
    await mallory.page.unrouteAll();
    assert.equal(await mallory.join('mallory', 'lobby'), 'joined');
    assert.equal(await mallory.transport(), 'websocket');
  });

  it('left no console error but those of the refused tokens', () => {
    const unexpected = sample.browser.errors.filter((error) => !EXPECTED_ERRORS.some((pattern) => pattern.test(error)));
    assert.deepEqual(unexpected, []);
  });
});
