// The sample chat page in a real Chromium, against the sample app as `npm start` builds it.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { saveScreenshot, sideBySide } from '../support/browser.js';
import { sleep } from '../support/phoenix-helpers.js';
import { SamplePage, startSample, type RunningSample } from '../support/sample-page.js';

/** phoenix.js first retries a refused join after 1 s; watching this long shows whether it retries. */
const RETRY_WATCH_MS = 2_500;
/** Tabs shown side by side in the two-tab screenshot. */
const NARROW_TAB = { width: 700, height: 640 };

describe('the sample chat page in Chromium', () => {
  let sample: RunningSample;

  before(async () => {
    sample = await startSample();
  });
  after(() => sample?.close());

  it('lets two tabs in one room chat, without reloading, while a tab in another room sees none of it', async () => {
    const alice = await SamplePage.open(sample.browser, sample.url);
    const bob = await SamplePage.open(sample.browser, sample.url);
    const carol = await SamplePage.open(sample.browser, sample.url);
    assert.equal(await alice.connectionState(), 'idle');
    // A native form submit would reload the page and lose this marker.
    await alice.page.evaluate(() => Object.assign(globalThis, { notReloaded: true }));

    assert.equal(await alice.join('alice', 'lobby'), 'joined');
    assert.equal(await bob.join('bob', 'lobby'), 'joined');
    assert.equal(await carol.join('carol', 'garden'), 'joined');
    assert.equal(await alice.page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded), true);
    assert.equal(alice.page.url(), sample.url, 'the join form was submitted to the server');
    assert.equal(await alice.roomText(), 'in room:lobby');
    assert.equal(await alice.connectionState(), 'open');
    assert.equal(await alice.connectionText(), 'connected as alice · WebSocket');
    assert.equal(await alice.transport(), 'websocket');

    await alice.say('Hi Bob! Is the new release out?');
    assert.deepEqual(await bob.waitForMessage('Hi Bob! Is the new release out?'), {
      user: 'alice',
      body: 'Hi Bob! Is the new release out?',
      mine: false,
    });
    assert.equal((await alice.waitForMessage('Hi Bob! Is the new release out?')).mine, true);

    const longLine = `Yes, and the changelog is long: ${'no-spaces-here-'.repeat(16)}end`;
    await bob.say(longLine);
    await alice.waitForMessage(longLine);
    assert.equal(await alice.wrapsLongLines(), true, 'a long line makes the message list scroll sideways');
    await alice.say('Great, thanks!');
    await bob.waitForMessage('Great, thanks!');

    // Carol's own message comes back after every lobby broadcast was written; none of those reached her.
    await carol.say('Anyone in the garden?');
    await carol.waitForMessage('Anyone in the garden?');
    assert.deepEqual(await carol.messages(), [{ user: 'carol', body: 'Anyone in the garden?', mine: true }]);
    assert.deepEqual(
      (await alice.messages()).map((message) => message.user),
      ['alice', 'bob', 'alice'],
      'alice sees exactly the lobby conversation',
    );

    const png = await sideBySide(sample.browser, [
      { caption: "alice's tab", png: await alice.screenshot(NARROW_TAB) },
      { caption: "bob's tab", png: await bob.screenshot(NARROW_TAB) },
    ]);
    await saveScreenshot('two-tabs', png);
  });

  it('shows the reason of a refused room on the page and does not retry the join', async () => {
    const dave = await SamplePage.open(sample.browser, sample.url);
    assert.equal(await dave.join('dave', 'private'), 'refused');
    assert.equal(await dave.roomText(), 'room:private refused: unauthorized');
    assert.deepEqual(await dave.notices(), ['The server refused room:private: unauthorized. Try another room.']);
    await sleep(RETRY_WATCH_MS);
    assert.equal(dave.joinsSent('room:private'), 1, 'phoenix.js kept retrying the refused join');
    assert.equal(await dave.roomState(), 'refused');
    assert.equal(await dave.connectionState(), 'open', 'a refused room does not cost the connection');
    await saveScreenshot('refused-room', await dave.screenshot());

    // The same tab can go on to a room that accepts it.
    assert.equal(await dave.join('dave', 'lobby'), 'joined');
    assert.deepEqual(
      (await dave.messages()).map((message) => message.body).slice(0, 1),
      ['Hi Bob! Is the new release out?'],
      'a newcomer sees the room history',
    );
  });

  it('lists who is online in the room with the client\'s Presence: one line per user, a tab count, gone when the last tab leaves or closes', async () => {
    const alice = await SamplePage.open(sample.browser, sample.url);
    assert.equal(await alice.join('alice', 'team'), 'joined');
    assert.deepEqual(await alice.waitForOnline({ alice: 1 }), [{ user: 'alice', tabs: 1, badges: [] }]);
    assert.equal(await alice.page.innerText('#online .person .name'), 'alice (you)');

    const bob = await SamplePage.open(sample.browser, sample.url);
    assert.equal(await bob.join('bob', 'team'), 'joined');
    await alice.waitForOnline({ alice: 1, bob: 1 });
    await bob.waitForOnline({ alice: 1, bob: 1 });

    // A second tab of bob's is a second device of one user, not a second user.
    const bobAgain = await SamplePage.open(sample.browser, sample.url);
    assert.equal(await bobAgain.join('bob', 'team'), 'joined');
    assert.deepEqual(await alice.waitForOnline({ alice: 1, bob: 2 }), [
      { user: 'alice', tabs: 1, badges: [] },
      { user: 'bob', tabs: 2, badges: ['2 tabs'] },
    ]);

    await alice.say('Standup in five?');
    await bob.waitForMessage('Standup in five?');
    await bob.say('On my way from the other laptop.');
    await alice.waitForMessage('On my way from the other laptop.');
    await saveScreenshot('presence-two-users', await alice.screenshot());

    // bob's first tab goes to another room: he is still here through the other one.
    assert.equal(await bob.join('bob', 'hallway'), 'joined');
    await alice.waitForOnline({ alice: 1, bob: 1 });
    await bob.waitForOnline({ bob: 1 });
    // Closing his last tab in the room takes him off the list.
    await bobAgain.page.close();
    await alice.waitForOnline({ alice: 1 });
  });

  it('left no error in any tab\'s console', () => {
    assert.deepEqual(sample.browser.errors, []);
  });
});
