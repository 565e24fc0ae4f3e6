// The sample's chat channel and socket handler, tested with the kit: no port, the real runtime.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JwtService } from '@nestjs/jwt';
import { ChannelTest, JoinRefusedError, type TestSocket } from '../../lib/testing/index.js';
import { AppModule } from '../app.module.js';
import { TokenService } from '../token.service.js';

describe('sample RoomChannel', () => {
  let kit: ChannelTest;
  before(async () => {
    kit = await ChannelTest.create({ imports: [AppModule] });
  });
  after(() => kit.close());

  /** Connects as the page does: a token from TokenService, sent as the client's authToken. */
  async function connectAs(user: string): Promise<TestSocket> {
    const { token } = await kit.get(TokenService).issue(user);
    return kit.connect({}, { info: { authToken: token } });
  }

  it('welcomes a user, pushes who is online and says hello after the join', async () => {
    const socket = await connectAs('alice');
    const room = await socket.join('room:lobby');
    assert.equal(room.joinReply.welcome, 'room:lobby');
    assert.ok(Array.isArray(room.joinReply.history));
    const state = await room.assertPush('presence_state', {});
    assert.deepEqual(Object.keys(state), ['alice']);
    assert.equal(state.alice.metas.length, 1);
    assert.equal(state.alice.metas[0].transport, 'test');
    await room.assertPush('hello', { user: 'alice' });
  });

  it('tells the room when a user comes and goes, one entry per user however many tabs', async () => {
    /** A diff that joins (or leaves) exactly these keys and nothing else. */
    const diff = (joins: string[], leaves: string[]) => (payload: { joins: object; leaves: object }) =>
      Object.keys(payload.joins).join() === joins.join() && Object.keys(payload.leaves).join() === leaves.join();
    const alice = await connectAs('alice');
    const aliceRoom = await alice.join('room:presence');
    await aliceRoom.assertPush('presence_state', {});
    await aliceRoom.assertPush('presence_diff', diff(['alice'], []));
    const bob = await connectAs('bob');
    const bobRoom = await bob.join('room:presence');
    await aliceRoom.assertPush('presence_diff', diff(['bob'], []));
    const state = await bobRoom.assertPush('presence_state', {});
    assert.deepEqual(Object.keys(state).sort(), ['alice', 'bob']);

    const bobAgain = await connectAs('bob');
    const secondTab = await bobAgain.join('room:presence');
    const second = await aliceRoom.assertPush('presence_diff', diff(['bob'], []));
    assert.equal(second.joins.bob.metas.length, 1, 'a diff carries only the new tab');
    assert.equal(Object.keys(await secondTab.assertPush('presence_state', {})).length, 2);

    bobRoom.leave();
    const left = await aliceRoom.assertPush('presence_diff', diff([], ['bob']));
    assert.equal(left.leaves.bob.metas.length, 1, 'only the tab that left leaves');
  });

  it('answers ping', async () => {
    const socket = await connectAs('bob');
    const room = await socket.join('room:ping');
    await room.assertReply(room.push('ping', { n: 7 }), 'ok', { n: 7 });
  });

  it("broadcasts messages, marking each subscriber's own, and keeps them in the history", async () => {
    const alice = await connectAs('alice');
    const bob = await connectAs('bob');
    const aliceRoom = await alice.join('room:history');
    const bobRoom = await bob.join('room:history');
    aliceRoom.push('new_msg', { body: 'hello bob' });
    await aliceRoom.assertPush('new_msg', { body: 'hello bob', user: 'alice', mine: true });
    await bobRoom.assertPush('new_msg', { body: 'hello bob', user: 'alice', mine: false });
    const carol = await connectAs('carol');
    const carolRoom = await carol.join('room:history');
    assert.deepEqual(carolRoom.joinReply.history.map((m: { body: string }) => m.body), ['hello bob']);
  });

  it('rejects empty messages with an error reply', async () => {
    const socket = await connectAs('dave');
    const room = await socket.join('room:empty');
    await room.assertReply(room.push('new_msg', { body: '  ' }), 'error', { reason: 'body must be a non-empty string' });
    await room.refutePush('new_msg');
  });

  it('refuses room:private', async () => {
    const socket = await connectAs('erin');
    await assert.rejects(socket.join('room:private'), JoinRefusedError);
  });

  it('takes the user from the token, in authToken or in a token param, and refuses a missing, forged or expired token', async () => {
    const { token } = await kit.get(TokenService).issue('frank');
    const byParam = await kit.connect({ token });
    const room = await byParam.join('room:param');
    await room.assertPush('hello', { user: 'frank' });
    await kit.refuteConnect({ user: 'frank' });
    await kit.refuteConnect({});
    const forged = new JwtService({ secret: 'not the sample key' }).sign({ sub: 'frank' }, { audience: 'chat-socket' });
    await kit.refuteConnect({}, { info: { authToken: forged } });
    const expired = await kit.get(JwtService).signAsync({ sub: 'frank' }, { expiresIn: -10 });
    await kit.refuteConnect({}, { info: { authToken: expired } });
  });

  it('gives a tab that rejoins with since the messages it missed, each marked for it, and nothing twice', async () => {
    const gina = await connectAs('gina');
    const first = await gina.join('room:missed', { since: null });
    const { epoch } = await first.assertPush('history_gap', { since: null });
    const hank = await connectAs('hank');
    const hankRoom = await hank.join('room:missed');
    hankRoom.push('new_msg', { body: 'seen' });
    await first.assertPush('new_msg', { body: 'seen', mine: false });
    await gina.close();
    hankRoom.push('new_msg', { body: 'missed 1' });
    hankRoom.push('new_msg', { body: 'missed 2' });
    await hankRoom.assertPush('new_msg', { body: 'missed 2' });

    const again = await connectAs('gina');
    const room = await again.join('room:missed', { since: `${epoch}.1` });
    await room.assertPush('new_msg', { body: 'missed 1', user: 'hank', mine: false });
    await room.assertPush('new_msg', { body: 'missed 2', user: 'hank', mine: false });
    await room.refutePush('new_msg');
  });
});
