import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Test } from '@nestjs/testing';
import {
  ChannelTest,
  ChannelTestAssertionError,
  ConnectRefusedError,
  JoinRefusedError,
  matches,
} from '../../lib/testing/index.js';
import { AppModule } from '../fixtures/kit-app/app.module.js';
import { ChatService } from '../fixtures/kit-app/chat.service.js';
import { RoomChannel } from '../fixtures/kit-app/room.channel.js';
import { Fixtures } from '../fixtures/fixtures.js';
import { Recorder } from '../fixtures/recorder.js';

/** Counts listen() calls on every net.Server (http servers included) while the kit runs. */
const listenCalls: unknown[] = [];
const originalListen = net.Server.prototype.listen;
net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
  listenCalls.push(args);
  return originalListen.apply(this, args as Parameters<typeof originalListen>);
} as typeof originalListen;

describe('ChannelTest kit', () => {
  let kit: ChannelTest;
  before(async () => {
    kit = await ChannelTest.create({ imports: [AppModule] });
  });
  after(async () => {
    await kit.close();
  });

  it('opens no TCP port: no listen() call is made', async () => {
    const socket = await kit.connect({ token: 't-bob' });
    const room = await socket.join('room:listen');
    await room.assertReply(room.push('ping', { x: 1 }), 'ok', { x: 1 });
    assert.equal(listenCalls.length, 0, `listen() was called ${listenCalls.length} time(s)`);
  });

  it('connect runs the socket handler: assigns and id, refusal observable', async () => {
    const socket = await kit.connect({ token: 't-carol' });
    assert.deepEqual(socket.assigns, { userId: 'carol' });
    assert.equal(socket.id, 'users_socket:carol');
    await assert.rejects(kit.connect({ token: 'bad' }), ConnectRefusedError);
  });

  it('a wrong expectation fails with a message showing what did arrive', async () => {
    const socket = await kit.connect({ token: 't-dave' });
    const room = await socket.join('room:wrong');
    room.push('new_msg', { body: 'actual body' });
    await assert.rejects(room.assertPush('new_msg', { body: 'expected body' }), (error: Error) => {
      assert.ok(error instanceof ChannelTestAssertionError);
      assert.match(error.message, /expected a push 'new_msg'/);
      assert.match(error.message, /push 'new_msg' on room:wrong: \{"body":"actual body","user":"dave","mine":true\}/);
      return true;
    });
    const ref = room.push('create', {});
    await assert.rejects(room.assertReply(ref, 'ok'), /reply ref "\d+" on room:wrong: error \{"errors":\["invalid"\]\}/);
  });

  it('runs the real runtime: after-join info, intercepts, async replies, stop, crash (P-83)', async () => {
    const socket = await kit.connect({ token: 't-erin' });
    const room = await socket.join('room:runtime');
    await room.assertPush('after_join', { joinedAt: (v: unknown) => typeof v === 'number' });
    // assertReply with the default pattern matches any map response (P-83).
    await room.assertReply(room.push('ping', { deep: { a: 1 } }), 'ok');
    await room.assertReply(room.push('work', {}), 'ok', { done: true });
    await room.assertReply(room.push('bye', {}), 'ok', { bye: true });
    await room.assertClose();
    assert.deepEqual(RoomChannel.terminations.at(-1), { topic: 'room:runtime', reason: 'normal' });

    const again = await socket.join('room:runtime');
    again.push('boom', {});
    await again.assertError();
    assert.deepEqual(RoomChannel.terminations.at(-1), { topic: 'room:runtime', reason: 'boom' });
  });

  it('handlers of one channel run in arrival order', async () => {
    const socket = await kit.connect({ token: 't-fay' });
    const room = await socket.join('room:order');
    const refs = Array.from({ length: 20 }, (_, i) => room.push('ping', { i }));
    for (const [i, ref] of refs.entries()) await room.assertReply(ref, 'ok', { i });
  });

  it('leave replies ok, then phx_close; terminate gets { shutdown: "left" }', async () => {
    const socket = await kit.connect({ token: 't-gus' });
    const room = await socket.join('room:leave');
    await room.assertReply(room.leave(), 'ok');
    await room.assertClose();
    assert.deepEqual(RoomChannel.terminations.at(-1), { topic: 'room:leave', reason: { shutdown: 'left' } });
  });

  it('close() terminates with { shutdown: "closed" }; broadcastFrom reaches the channel, not the test', async () => {
    const socket = await kit.connect({ token: 't-hal' });
    const room = await socket.subscribeAndJoin('room:close');
    await room.broadcastFrom('new_msg', { body: 'from another client', user: 'zed' });
    await room.assertPush('new_msg', { body: 'from another client', mine: false });
    await room.refuteBroadcast('new_msg', {}, 30);
    await room.close();
    assert.deepEqual(RoomChannel.terminations.at(-1), { topic: 'room:close', reason: { shutdown: 'closed' } });
    assert.equal(room.isJoined, false);
  });

  it('binary payloads travel as Buffers', async () => {
    const socket = await kit.connect({ token: 't-ivy' });
    const room = await socket.join('room:bin');
    const reply = await room.assertReply(room.push('file_chunk', Buffer.from([1, 2, 3])), 'ok');
    assert.deepEqual([...reply], [1, 2, 3]);
  });

  it('join refusals carry the reply; a crashing join answers "join crashed"', async () => {
    const socket = await kit.connect({ token: 't-jo' });
    await assert.rejects(socket.join('room:private'), (error: JoinRefusedError) => {
      assert.equal(error.code, 'ERR_CHANNELS_TEST_JOIN_REFUSED');
      assert.deepEqual(error.reply, { reason: 'unauthorized' });
      return true;
    });
  });
});

describe('ChannelTest kit with overrides and plain providers', () => {
  it('accepts a TestingModuleBuilder with overridden providers', async () => {
    const saved: string[] = [];
    const kit = await ChannelTest.create(
      Test.createTestingModule({ imports: [AppModule] }).overrideProvider(ChatService).useValue({ save: (b: string) => saved.push(b) }),
    );
    try {
      const socket = await kit.connect({ token: 't-kim' });
      const room = await socket.join('room:override');
      room.push('new_msg', { body: 'kept by the fake' });
      await room.assertPush('new_msg', { body: 'kept by the fake' });
      assert.deepEqual(saved, ['kept by the fake']);
    } finally {
      await kit.close();
    }
  });

  it('works from module metadata with several channels, and socket() skips connect', async () => {
    const kit = await ChannelTest.create(Fixtures.standard(), { assertTimeout: 500 });
    try {
      const socket = kit.socket({ id: 'users:9', assigns: { user: 'nine' } });
      const room = await socket.subscribeAndJoin('room:meta', { after_join: 'hey' });
      await room.assertPush('after_join', { body: 'hey' });
      room.push('broadcast', { event: 'intercepted', body: 'x' });
      await room.assertPush('intercepted', { body: 'x', user: 'nine' });
      await room.assertBroadcast('intercepted', { body: 'x' });
      assert.deepEqual(kit.get(Recorder).of('join', 'room:meta'), [{ after_join: 'hey' }]);
      // ChannelsEndpoint.disconnect closes this socket id's connection with 1001.
      await kit.broadcast('users:9', 'disconnect', {});
      assert.equal(socket.closeCode, 1001);
    } finally {
      await kit.close();
    }
  });
});

describe('matches', () => {
  it('matches objects partially at every level, lists and scalars exactly', () => {
    assert.equal(matches({ a: { b: 1 } }, { a: { b: 1, c: 2 }, d: 3 }), true);
    assert.equal(matches({ a: [1, 2] }, { a: [1, 2, 3] }), false);
    assert.equal(matches({ a: 1 }, { a: '1' }), false);
    assert.equal(matches({}, { any: 'thing' }), true);
    assert.equal(matches({ n: (v: unknown) => typeof v === 'number' && v > 2 }, { n: 3 }), true);
    assert.equal(matches({ missing: undefined }, {}), false);
  });
});
