// The sample page keeps what a dropped connection missed: a tab whose connection a TCP proxy cuts
// while another tab chats gets every message sent meanwhile, once each and in order, when it rejoins.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SamplePage, startSample, type RunningSample } from '../support/sample-page.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

describe('the sample page across a dropped connection in Chromium', () => {
  let sample: RunningSample;
  let proxy: TcpProxy;

  before(async () => {
    sample = await startSample();
    proxy = await startTcpProxy(sample.port);
  });
  after(async () => {
    await proxy?.close();
    await sample?.close();
  });

  it('shows every message sent while its connection was cut, once each, in order, without redrawing the list', async (t) => {
    // Alice's tab reaches the app through the proxy; Bob's directly.
    const alice = await SamplePage.open(sample.browser, `http://127.0.0.1:${proxy.port}/`);
    const bob = await SamplePage.open(sample.browser, sample.url);
    // Every frame Alice's tab sends, over WebSocket or (after a failed reconnect, phoenix.js's fallback) long-poll.
    const sent: string[] = [];
    alice.page.on('websocket', (socket) => socket.on('framesent', (frame) => sent.push(String(frame.payload))));
    alice.page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().includes('/socket/longpoll')) sent.push(...(request.postData() ?? '').split('\n'));
    });
    assert.equal(await alice.join('alice', 'recovery'), 'joined');
    assert.equal(await bob.join('bob', 'recovery'), 'joined');
    await bob.say('Before the cut');
    await alice.waitForMessage('Before the cut');

    proxy.cut();
    await alice.page.waitForSelector('#room-status[data-state="joining"]');
    const missed = ['one', 'two', 'three', 'four', 'five'].map((word) => `Sent while Alice was away: ${word}`);
    for (const body of missed) {
      await bob.say(body);
      await bob.waitForMessage(body);
    }
    assert.equal(await alice.roomState(), 'joining', 'the cut lasted while Bob wrote');
    proxy.resume();

    await alice.waitForMessage(missed.at(-1)!);
    await alice.page.waitForSelector('#room-status[data-state="joined"]');
    await bob.say('After the cut');
    await alice.waitForMessage('After the cut');
    assert.deepEqual(
      await alice.messages(),
      ['Before the cut', ...missed, 'After the cut'].map((body) => ({ user: 'bob', body, mine: false })),
    );
    assert.deepEqual(await alice.notices(), ['Welcome, alice. Everyone in room:recovery sees what you send here.']);
    // The rejoin carried the position of the last message the tab had.
    const joins = sent
      .filter((frame) => frame.includes('"phx_join"'))
      .map((frame) => JSON.parse(frame) as unknown[])
      .filter((frame) => frame[2] === 'room:recovery')
      .map((frame) => (frame[4] as { since?: unknown }).since);
    assert.equal(joins[0], null);
    assert.ok(joins.length >= 2, 'the tab rejoined');
    assert.match(String(joins.at(-1)), /^[A-Za-z0-9_-]+\.1$/, 'since is the position of "Before the cut"');
    assert.ok(proxy.refused > 0 || proxy.forwarded > 1, 'the tab reconnected through the proxy');
    t.diagnostic(`after the cut the tab runs over ${await alice.transport()}; joins sent: ${joins.length}`);
  });
});
