// The README's "Testing your channels" example, as written there (only the import paths differ).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChannelTest, JoinRefusedError } from '../../lib/testing/index.js';
import { AppModule } from '../fixtures/kit-app/app.module.js';

describe('RoomChannel', () => {
  let kit: ChannelTest;
  before(async () => {
    kit = await ChannelTest.create({ imports: [AppModule] });
  });
  after(() => kit.close());

  it('answers ping with the same payload', async () => {
    const socket = await kit.connect({ token: 't-alice' });
    const room = await socket.subscribeAndJoin('room:lobby');
    assert.deepEqual(room.joinReply, { welcome: 'room:lobby' });

    const ref = room.push('ping', { hello: 'there' });
    await room.assertReply(ref, 'ok', { hello: 'there' });
  });

  it('broadcasts new messages and marks your own', async () => {
    const socket = await kit.connect({ token: 't-alice' });
    const room = await socket.subscribeAndJoin('room:lobby');

    room.push('new_msg', { body: 'hi' });
    await room.assertBroadcast('new_msg', { body: 'hi', user: 'alice' });
    await room.assertPush('new_msg', { body: 'hi', mine: true });
  });

  it('filters secrets out in @HandleOut', async () => {
    const socket = await kit.connect({ token: 't-alice' });
    const room = await socket.join('room:lobby');

    room.push('new_msg', { body: 'a secret' });
    await room.refutePush('new_msg');
  });

  it('refuses the private room and unknown users', async () => {
    const socket = await kit.connect({ token: 't-alice' });
    await assert.rejects(socket.join('room:private'), (error: JoinRefusedError) => {
      assert.deepEqual(error.reply, { reason: 'unauthorized' });
      return true;
    });
    await kit.refuteConnect({ token: 'nope' });
  });
});
