// The channel test kit on a history channel: `since` in the join params, positions in the frames.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChannelTest } from '../../lib/testing/index.js';
import { HistoryFixtures } from '../fixtures/history.channels.js';

describe('ChannelTest kit with topic history', () => {
  let kit: ChannelTest;
  before(async () => {
    kit = await ChannelTest.create(HistoryFixtures.app());
  });
  after(() => kit.close());

  it('joins with since, gets the start position, then what was missed after a rejoin', async () => {
    const first = await kit.connect();
    await first.join('kept:kit', { since: null });
    const { epoch } = await first.assertPush('history_gap', { since: null });
    assert.match(epoch, /^[A-Za-z0-9_-]+$/);
    await kit.broadcast('kept:kit', 'msg', { i: 1 });
    await kit.broadcast('kept:kit', 'msg', { i: 2 });
    await first.assertPush('msg', { i: 1 });
    await first.close();

    const again = await kit.connect();
    await again.join('kept:kit', { since: `${epoch}.1` });
    assert.deepEqual(await again.assertPush('msg'), { i: 2 });
    await again.refutePush('msg');
  });
});
