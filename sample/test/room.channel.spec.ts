// The sample's chat channel, tested with the kit: no port, the real runtime.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChannelTest, JoinRefusedError } from '../../lib/testing/index.js';
import { AppModule } from '../app.module.js';

describe('sample RoomChannel', () => {
  let kit: ChannelTest;
  before(async () => {
    kit = await ChannelTest.create({ imports: [AppModule] });
  });
  after(() => kit.close());

  it('welcomes a user and says hello after the join', async () => {
    const socket = await kit.connect({ user: 'alice' });
    const room = await socket.join('room:lobby');
    assert.equal(room.joinReply.welcome, 'room:lobby');
    assert.ok(Array.isArray(room.joinReply.history));
    await room.assertPush('hello', { user: 'alice' });
  });

  it('answers ping', async () => {
    const socket = await kit.connect({ user: 'bob' });
    const room = await socket.join('room:ping');
    await room.assertReply(room.push('ping', { n: 7 }), 'ok', { n: 7 });
  });

  it('broadcasts messages, marking each subscriber\'s own, and keeps them in the history', async () => {
    const alice = await kit.connect({ user: 'alice' });
    const bob = await kit.connect({ user: 'bob' });
    const aliceRoom = await alice.join('room:history');
    const bobRoom = await bob.join('room:history');
    aliceRoom.push('new_msg', { body: 'hello bob' });
    await aliceRoom.assertPush('new_msg', { body: 'hello bob', user: 'alice', mine: true });
    await bobRoom.assertPush('new_msg', { body: 'hello bob', user: 'alice', mine: false });
    const carol = await kit.connect({ user: 'carol' });
    const carolRoom = await carol.join('room:history');
    assert.deepEqual(carolRoom.joinReply.history.map((m: { body: string }) => m.body), ['hello bob']);
  });

  it('rejects empty messages with an error reply', async () => {
    const socket = await kit.connect({ user: 'dave' });
    const room = await socket.join('room:empty');
    await room.assertReply(room.push('new_msg', { body: '  ' }), 'error', { reason: 'body must be a non-empty string' });
    await room.refutePush('new_msg');
  });

  it('refuses room:private and users without a valid name', async () => {
    const socket = await kit.connect({ user: 'erin' });
    await assert.rejects(socket.join('room:private'), JoinRefusedError);
    await kit.refuteConnect({ user: 'not valid!' });
    await kit.refuteConnect({});
  });
});
