/**
 * A second Nest app, written only from API.md (test/fixtures/second-app),
 * started as its main.ts starts it, driven by two `phoenix` clients: they
 * join, ping, talk to each other through a broadcast and an intercept, and
 * are refused where API.md says they are.
 */
import assert from 'node:assert/strict';
import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Socket, type SocketConnectOption } from 'phoenix';
import { WebSocket } from 'ws';
import { bootstrap } from '../fixtures/second-app/main.js';
import { ChatService } from '../fixtures/second-app/chat.service.js';
import { PostsService } from '../fixtures/second-app/posts.service.js';
import { closeCodesOf, collect, eventually, framesOf, joined, nextEvent, outcome, uniqueTopic } from '../support/phoenix-helpers.js';
import { RawClient } from '../support/raw-client.js';

describe('a second app written from API.md', () => {
  let app: INestApplication;
  let base: string;
  const sockets: Socket[] = [];

  /** A phoenix client as a browser would use it, with `token` as its connect param. */
  function connect(token: string): Socket {
    const socket = new Socket(`${base}/socket`, {
      transport: WebSocket as unknown as SocketConnectOption['transport'],
      params: { token },
      reconnectAfterMs: () => 50,
      rejoinAfterMs: () => 100,
    });
    sockets.push(socket);
    socket.connect();
    return socket;
  }

  before(async () => {
    app = await bootstrap(0, process.env.TEST_LOGS ? ['error', 'warn', 'log', 'debug'] : ['error']);
    base = `ws://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const socket of sockets) socket.disconnect();
    await app.close();
  });

  it('two clients join room:lobby with the welcome reply, get the after-join push, and ping', async () => {
    for (const [token, user] of [['alice-token', 'alice'], ['bob-token', 'bob']] as const) {
      const channel = connect(token).channel('room:lobby');
      const afterJoin = nextEvent(channel, 'after_join');
      assert.deepEqual(await joined(channel), { welcome: 'room:lobby' });
      assert.deepEqual(await afterJoin, { user });
      assert.deepEqual(await outcome(channel.push('ping', { hello: user })), { status: 'ok', response: { hello: user } });
    }
  });

  it('new_msg from one client reaches both through @HandleOut, with mine true only for the sender; a secret is filtered', async () => {
    const topic = uniqueTopic('room');
    const aliceSocket = connect('alice-token');
    const alice = aliceSocket.channel(topic);
    const bob = connect('bob-token').channel(topic);
    await joined(alice);
    await joined(bob);
    const atAlice = collect(alice, 'new_msg');
    const atBob = collect(bob, 'new_msg');
    const aliceFrames = framesOf(aliceSocket, topic);

    alice.push('new_msg', { body: 'hi bob' }, 300);
    await eventually(() => atAlice.length === 1 && atBob.length === 1, 'both clients got new_msg');
    await outcome(alice.push('ping', { flush: true }));
    assert.deepEqual(
      aliceFrames.map((f) => [f.event, f.payload.response ?? null]),
      [
        ['new_msg', null],
        ['phx_reply', { flush: true }],
      ],
      'new_msg returns nothing: no reply',
    );
    assert.deepEqual(atAlice, [{ body: 'hi bob', user: 'alice', mine: true }]);
    assert.deepEqual(atBob, [{ body: 'hi bob', user: 'alice', mine: false }]);

    bob.push('new_msg', { body: 'a secret for alice' }, 300);
    bob.push('new_msg', { body: 'hello alice' }, 300);
    await eventually(() => atAlice.length === 2 && atBob.length === 2, 'both clients got the second message');
    assert.deepEqual(atAlice[1], { body: 'hello alice', user: 'bob', mine: false });
    assert.deepEqual(atBob[1], { body: 'hello alice', user: 'bob', mine: true });
  });

  it('PostsService.created broadcasts from outside a channel, through the same @HandleOut', async () => {
    const roomId = uniqueTopic('r').slice(2);
    const alice = connect('alice-token').channel(`room:${roomId}`);
    await joined(alice);
    const got = nextEvent(alice, 'new_msg');
    await app.get(PostsService).created({ roomId, body: 'from a controller', user: 'bob' });
    assert.deepEqual(await got, { roomId, body: 'from a controller', user: 'bob', mine: false });
  });

  it('room:private refuses the join with {reason: unauthorized}', async () => {
    const channel = connect('alice-token').channel('room:private');
    assert.deepEqual(await outcome(channel.join(), 3000, 'joining room:private'), { status: 'error', response: { reason: 'unauthorized' } });
    channel.leave(100);
  });

  it('a bad or missing token is refused at connect with HTTP 403, and phoenix.js never opens', async () => {
    for (const query of ['token=wrong&vsn=2.0.0', 'vsn=2.0.0']) {
      await assert.rejects(RawClient.connect(base, { query }), (error: Error & { status?: number }) => error.status === 403);
    }
    const socket = connect('wrong');
    let errors = 0;
    socket.onError(() => {
      errors++;
    });
    await eventually(() => errors >= 1, 'phoenix.js saw the refusal');
    assert.equal(socket.isConnected(), false);
    socket.disconnect();
  });

  it('create answers an error reply, work replies later, file_chunk echoes binary, bye replies then closes', async () => {
    const socket = connect('bob-token');
    const channel = socket.channel(uniqueTopic('room'));
    await joined(channel);
    assert.deepEqual(await outcome(channel.push('create', { title: '' })), { status: 'error', response: { errors: ['invalid'] } });
    assert.deepEqual(await outcome(channel.push('work', {})), { status: 'ok', response: { done: true } });
    const chunk = await outcome(channel.push('file_chunk', new Uint8Array([1, 2, 3]).buffer));
    assert.equal(chunk.status, 'ok');
    assert.deepEqual([...new Uint8Array(chunk.response as ArrayBuffer)], [1, 2, 3]);
    const closed = new Promise<void>((resolve) => channel.onClose(() => resolve()));
    assert.deepEqual(await outcome(channel.push('bye', {})), { status: 'ok', response: { bye: true } });
    await closed;
    const chat = app.get(ChatService);
    await eventually(() => chat.departures.some((d) => d.topic === channel.topic), 'terminate recorded the departure');
    assert.deepEqual(
      chat.departures.filter((d) => d.topic === channel.topic),
      [{ topic: channel.topic, userId: 'bob', reason: 'normal' }],
    );
  });

  it("PostsService.ban closes every connection of that user with 1001; the other user's stay", async () => {
    const alices = [connect('alice-token'), connect('alice-token')];
    const bob = connect('bob-token');
    const codes = alices.map(closeCodesOf);
    const bobCodes = closeCodesOf(bob);
    const topic = uniqueTopic('room');
    for (const socket of [...alices, bob]) await joined(socket.channel(topic));
    await app.get(PostsService).ban('alice');
    await eventually(() => codes.every((c) => c.length >= 1), "alice's connections closed");
    assert.deepEqual(codes.map((c) => c[0]), [1001, 1001]);
    const chat = app.get(ChatService);
    await eventually(() => chat.departures.filter((d) => d.topic === topic).length === 2, 'both channels of alice terminated');
    assert.deepEqual(
      chat.departures.filter((d) => d.topic === topic).map((d) => [d.userId, d.reason]),
      [
        ['alice', { shutdown: 'disconnected' }],
        ['alice', { shutdown: 'disconnected' }],
      ],
    );
    assert.deepEqual(bobCodes, []);
    for (const socket of alices) socket.disconnect();
  });
});
