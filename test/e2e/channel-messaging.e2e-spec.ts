/**
 * What flows through a joined channel (issue 3, points 1 to 3 and 6 to 9):
 * intercepts, @HandleInfo and external topics, async replies, binary, the
 * endpoint's broadcasts, socket-id disconnects, per-channel log options and
 * the drain on shutdown. Through the `phoenix` client; raw frames only where
 * the exact frame is the point.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Socket as PhoenixSocket } from 'phoenix';
import { ChannelsEndpoint, ChannelsError, ERROR_CODE, type Broadcast } from '../../lib/index.js';
import { BehaviourFixtures, CountingPubSub } from '../fixtures/behaviour.channels.js';
import { Recorder } from '../fixtures/recorder.js';
import { LogCapture } from '../support/log-capture.js';
import {
  closeCodesOf,
  collect,
  eventually,
  framesOf,
  joinRefOf,
  joined,
  nextEvent,
  outcome,
  sleep,
  uniqueTopic,
} from '../support/phoenix-helpers.js';
import { startApp, type TestApp } from '../support/test-app.js';

/** Timeout for pushes that get no reply, so phoenix.js's 10 s timers do not outlive the file. */
const NO_REPLY_MS = 500;
const VSNS = ['1.0.0', '2.0.0'] as const;

const bytesOf = (value: unknown): number[] => {
  assert.ok(value instanceof ArrayBuffer, `expected an ArrayBuffer, got ${Object.prototype.toString.call(value)}`);
  return [...new Uint8Array(value)];
};

describe('channel messaging', () => {
  let app: TestApp;
  let recorder: Recorder;
  let endpoint: ChannelsEndpoint;
  let pubsub: CountingPubSub;
  let logs: LogCapture;

  before(async () => {
    pubsub = new CountingPubSub();
    app = await startApp(BehaviourFixtures.channels({ pubsub, shutdownTimeout: 300 }));
    recorder = app.app.get(Recorder);
    endpoint = app.app.get(ChannelsEndpoint);
    logs = LogCapture.install();
  });
  after(async () => {
    await app.close();
    logs.restore();
  });

  const terminations = (topic: string) => recorder.of('terminate', topic);
  const joins = (topic: string) => recorder.of('join', topic) as Array<{ joinRef: string }>;

  describe('intercepts (P-44)', () => {
    async function aliceAndBob(topic: string, vsn: '1.0.0' | '2.0.0' = '2.0.0') {
      const sockets = { alice: app.client({ vsn, params: { user: 'alice' } }), bob: app.client({ vsn, params: { user: 'bob' } }) };
      const alice = sockets.alice.channel(topic);
      const bob = sockets.bob.channel(topic);
      await joined(alice);
      await joined(bob);
      return { alice, bob, frames: { alice: framesOf(sockets.alice, topic), bob: framesOf(sockets.bob, topic) } };
    }

    it("an intercepted event reaches each subscriber through @HandleOut, pushed with that subscriber's join_ref (P-44)", async () => {
      const topic = uniqueTopic('life');
      const { alice, bob, frames } = await aliceAndBob(topic);
      await endpoint.broadcast(topic, 'tagged', { body: 'hi' });
      await eventually(() => frames.alice.length === 1 && frames.bob.length === 1, 'both got the tagged event');
      assert.deepEqual(frames.alice[0], {
        join_ref: joinRefOf(alice),
        ref: null,
        topic,
        event: 'tagged',
        payload: { body: 'hi', joinRef: joinRefOf(alice), user: 'alice' },
      });
      assert.deepEqual(frames.bob[0], {
        join_ref: joinRefOf(bob),
        ref: null,
        topic,
        event: 'tagged',
        payload: { body: 'hi', joinRef: joinRefOf(bob), user: 'bob' },
      });
    });

    for (const vsn of VSNS) it(`a @HandleOut that pushes nothing filters the event for that subscriber only, vsn ${vsn} (P-44)`, async () => {
      const topic = uniqueTopic('room');
      const { alice, bob } = await aliceAndBob(topic, vsn);
      const toAlice = collect(alice, 'filtered');
      const toBob = collect(bob, 'filtered');
      await endpoint.broadcast(topic, 'filtered', { body: 'for bob', to: 'bob' });
      await eventually(() => toBob.length === 1, 'bob got the filtered event');
      // A ping after the broadcast: its reply comes after anything the broadcast made for alice.
      await outcome(alice.push('ping', {}));
      assert.deepEqual(toAlice, []);
      assert.deepEqual(toBob, [{ body: 'for bob', to: 'bob' }]);
    });

    it('events a channel does not intercept stay on the fastlane: join_ref null, for every subscriber, the sender included (P-42)', async () => {
      const topic = uniqueTopic('room');
      const { alice, frames } = await aliceAndBob(topic);
      assert.deepEqual(await outcome(alice.push('broadcast', { event: 'shout', body: 'hey' })), { status: 'ok', response: {} });
      await eventually(() => frames.bob.some((f) => f.event === 'shout'), 'bob got the shout');
      const shouts = (list: typeof frames.alice) => list.filter((f) => f.event === 'shout');
      const expected = { join_ref: null, ref: null, topic, event: 'shout', payload: { body: 'hey' } };
      assert.deepEqual(shouts(frames.alice), [expected]);
      assert.deepEqual(shouts(frames.bob), [expected]);
    });

    for (const vsn of VSNS) it(`broadcast_from reaches every subscriber except the sender, vsn ${vsn} (P-43)`, async () => {
      const topic = uniqueTopic('room');
      const { alice, bob } = await aliceAndBob(topic, vsn);
      const atAlice = collect(alice, 'shout');
      const atBob = collect(bob, 'shout');
      await outcome(alice.push('broadcast_from', { body: 'not to me' }));
      await eventually(() => atBob.length === 1, 'bob got the shout');
      await outcome(alice.push('ping', {}));
      assert.deepEqual(atAlice, []);
      assert.deepEqual(atBob, [{ body: 'not to me' }]);
    });
  });

  describe('@HandleInfo and external topics', () => {
    it('socket.send reaches @HandleInfo after the handler that sent it has replied', async () => {
      const socket = app.client();
      const channel = socket.channel(uniqueTopic('room'));
      await joined(channel);
      const frames = framesOf(socket, channel.topic);
      await outcome(channel.push('send_self', { n: 1 }));
      await eventually(() => frames.length === 2, 'the reply and the info push');
      assert.deepEqual(
        frames.map((f) => f.event),
        ['phx_reply', 'info_echo'],
      );
      assert.deepEqual(frames[1]!.payload, { body: { n: 1 } });
      assert.equal(frames[1]!.join_ref, joinRefOf(channel));
    });

    it('broadcasts on a subscribed external topic arrive in @HandleInfo as Broadcast {topic, event, payload}', async () => {
      const channel = app.client().channel(uniqueTopic('life'));
      await joined(channel);
      const external = uniqueTopic('ext');
      assert.deepEqual(await outcome(channel.push('watch', { topic: external })), { status: 'ok', response: { watching: external } });
      const pushed = nextEvent(channel, 'external');
      await endpoint.broadcast(external, 'price', { cents: 5 });
      assert.deepEqual(await pushed, { topic: external, event: 'price', payload: { cents: 5 } });
      assert.deepEqual(recorder.of('info', channel.topic), [{ topic: external, event: 'price', payload: { cents: 5 } }]);
    });

    it('unsubscribe stops the external broadcasts', async () => {
      const channel = app.client().channel(uniqueTopic('life'));
      await joined(channel);
      const external = uniqueTopic('ext');
      const seen = collect(channel, 'external');
      await outcome(channel.push('watch', { topic: external }));
      assert.equal(pubsub.subscribers(external), 1);
      await outcome(channel.push('unwatch', { topic: external }));
      assert.equal(pubsub.subscribers(external), 0);
      await endpoint.broadcast(external, 'price', { cents: 6 });
      await outcome(channel.push('ping', {}));
      assert.deepEqual(seen, []);
    });

    for (const how of ['leave', 'crash', 'connection close'] as const) {
      it(`a channel that ends by ${how} is unsubscribed from every external topic and its own`, async () => {
        const socket = app.client();
        const topic = uniqueTopic('life');
        const externals = [uniqueTopic('ext'), uniqueTopic('ext')];
        // One external topic subscribed during the join, one from a handler.
        const channel = socket.channel(topic, { watch: externals[0] });
        assert.deepEqual(await joined(channel), { watching: externals[0] });
        await outcome(channel.push('watch', { topic: externals[1] }));
        assert.deepEqual([topic, ...externals].map((t) => pubsub.subscribers(t)), [1, 1, 1]);
        if (how === 'leave') await outcome(channel.leave());
        else if (how === 'crash') channel.push('crash_with', { message: 'unsubscribe me' }, NO_REPLY_MS);
        else socket.disconnect();
        await eventually(() => terminations(topic).length === 1, `${topic} terminated`);
        if (how === 'crash') socket.disconnect(); // no rejoin, which would subscribe again
        await eventually(() => [topic, ...externals].every((t) => pubsub.subscribers(t) === 0), 'every subscription is gone');
        await endpoint.broadcast(externals[0]!, 'price', { cents: 1 });
        assert.deepEqual(recorder.of('info', topic), []);
      });
    }
  });

  describe('async replies (socket.ref())', () => {
    for (const vsn of VSNS) it(`a SocketRef replies later, with the request ref, vsn ${vsn}`, async () => {
      const socket = app.client({ vsn });
      const channel = socket.channel(uniqueTopic('life'));
      await joined(channel);
      const frames = framesOf(socket, channel.topic);
      assert.deepEqual(await outcome(channel.push('late_reply', { delay: 30 })), { status: 'ok', response: { late: true } });
      assert.equal(frames.length, 1);
      assert.equal(frames[0]!.join_ref, vsn === '2.0.0' ? joinRefOf(channel) : null, 'V1 frames never carry a join_ref');
      assert.equal(frames[0]!.event, 'phx_reply');
      assert.deepEqual(recorder.of('late_reply', channel.topic), ['returned']);
    });

    it('a SocketRef reply after the channel has ended is a no-op with a debug log', async () => {
      const topic = uniqueTopic('life');
      const raw = await app.raw();
      await raw.join(topic, {}, '1');
      raw.send(['1', '2', topic, 'late_reply', { delay: 100 }]);
      raw.send(['1', '3', topic, 'phx_leave', {}]);
      assert.deepEqual(await raw.nextJson(2000, 'the leave reply'), ['1', '3', topic, 'phx_reply', { status: 'ok', response: {} }]);
      assert.deepEqual(await raw.nextJson(2000, 'phx_close'), ['1', '1', topic, 'phx_close', {}]);
      await eventually(() => recorder.of('late_reply', topic).length === 1, 'the late reply was attempted');
      assert.deepEqual(recorder.of('late_reply', topic), ['returned'], 'reply() did not throw');
      assert.deepEqual(await raw.nothingFor(50), [], 'nothing was written');
      assert.equal(logs.find('debug', `SocketRef.reply on ${topic} after the channel ended; dropped`).length, 1);
    });

    it('a SocketRef reply after the connection has closed is a no-op too', async () => {
      const topic = uniqueTopic('life');
      const raw = await app.raw();
      await raw.join(topic, {}, '1');
      raw.send(['1', '2', topic, 'late_reply', { delay: 100 }]);
      await sleep(10);
      raw.close();
      await eventually(() => recorder.of('late_reply', topic).length === 1, 'the late reply was attempted');
      assert.deepEqual(recorder.of('late_reply', topic), ['returned']);
      assert.deepEqual(terminations(topic), [{ shutdown: 'closed' }]);
    });

    it('socket.ref() outside a @HandleIn throws a ChannelsError that says where it is valid', async () => {
      const expected = {
        name: 'ChannelsError',
        code: ERROR_CODE.noRef,
        message: 'socket.ref() is only valid while handling a client message that carries a ref (inside a @HandleIn)',
      };
      const channel = app.client().channel(uniqueTopic('life'), { ref_in_join: true });
      assert.deepEqual(await joined(channel), { ref_error: expected }, 'in @Join');
      const fromInfo = nextEvent(channel, 'ref_error');
      await outcome(channel.push('ref_in_info', {}));
      assert.deepEqual(await fromInfo, { error: expected }, 'in @HandleInfo');
    });
  });

  describe('binary', () => {
    it('phoenix.js pushes an ArrayBuffer, the handler gets a Buffer, and the reply comes back as an ArrayBuffer (P-49, P-50)', async () => {
      const channel = app.client().channel(uniqueTopic('room'));
      await joined(channel);
      const sent = new Uint8Array([0, 1, 2, 250, 255]).buffer;
      const { status, response } = await outcome(channel.push('binary_echo', sent));
      assert.equal(status, 'ok');
      assert.deepEqual(bytesOf(response), [0, 1, 2, 250, 255]);
      assert.deepEqual(recorder.of('binary', 'binary_echo').at(-1), true, 'the handler received a Buffer');
    });

    it('a binary push and a binary broadcast reach phoenix.js as ArrayBuffers (P-51, P-52)', async () => {
      const topic = uniqueTopic('room');
      const sender = app.client().channel(topic);
      const listener = app.client().channel(topic);
      await joined(sender);
      await joined(listener);
      const pushed = nextEvent(sender, 'bin');
      await outcome(sender.push('binary_push', {}));
      assert.deepEqual(bytesOf(await pushed), [1, 2, 3]);

      const atSender = nextEvent(sender, 'bin');
      const atListener = nextEvent(listener, 'bin');
      await outcome(sender.push('binary_broadcast', {}));
      assert.deepEqual(bytesOf(await atSender), [9, 8, 7]);
      assert.deepEqual(bytesOf(await atListener), [9, 8, 7]);

      const fromEndpoint = nextEvent(listener, 'file');
      await endpoint.broadcast(topic, 'file', Buffer.from('hello'));
      assert.equal(Buffer.from(await fromEndpoint).toString(), 'hello');
    });
  });

  describe('ChannelsEndpoint', () => {
    it('broadcast reaches the channels of the topic and subscribe() listeners, as Broadcast {topic, event, payload}', async () => {
      const topic = uniqueTopic('room');
      const channel = app.client().channel(topic);
      await joined(channel);
      const heard: Broadcast[] = [];
      const unsubscribe = await endpoint.subscribe(topic, (broadcast) => heard.push(broadcast));
      const atClient = nextEvent(channel, 'news');
      await endpoint.broadcast(topic, 'news', { n: 1 });
      assert.deepEqual(await atClient, { n: 1 });
      assert.deepEqual(heard, [{ topic, event: 'news', payload: { n: 1 } }]);

      // A channel's own broadcast reaches the listener too.
      await outcome(channel.push('broadcast', { event: 'shout', body: 'b' }));
      assert.deepEqual(heard.at(-1), { topic, event: 'shout', payload: { body: 'b' } });

      await unsubscribe();
      await endpoint.broadcast(topic, 'news', { n: 2 });
      assert.equal(heard.length, 2, 'nothing after unsubscribe');
    });

    it('localBroadcast delivers on this node, to channels and listeners', async () => {
      const topic = uniqueTopic('room');
      const channel = app.client().channel(topic);
      await joined(channel);
      const heard: Broadcast[] = [];
      const unsubscribe = await endpoint.subscribe(topic, (broadcast) => heard.push(broadcast));
      const atClient = nextEvent(channel, 'local');
      await endpoint.localBroadcast(topic, 'local', { here: true });
      assert.deepEqual(await atClient, { here: true });
      assert.deepEqual(heard, [{ topic, event: 'local', payload: { here: true } }]);
      await unsubscribe();
    });

    it('broadcast rejects a payload that is neither an object nor binary, with a coded ChannelsError', async () => {
      await assert.rejects(endpoint.broadcast(uniqueTopic('room'), 'bad', 'a string'), (error: unknown) => {
        assert.ok(error instanceof ChannelsError);
        assert.equal(error.code, ERROR_CODE.serialization);
        assert.equal(
          error.message,
          `ChannelsEndpoint broadcast('bad'): the payload must be an object or binary (Buffer/Uint8Array), as the Phoenix protocol requires; got "a string"`,
        );
        return true;
      });
    });

    it('a listener that throws is logged and does not stop the others', async () => {
      const topic = uniqueTopic('room');
      const heard: string[] = [];
      const un1 = await endpoint.subscribe(topic, () => {
        throw new Error('listener exploded');
      });
      const un2 = await endpoint.subscribe(topic, (b) => heard.push(b.event));
      await endpoint.broadcast(topic, 'e', {});
      assert.deepEqual(heard, ['e']);
      assert.equal(logs.find('error', `a ChannelsEndpoint.subscribe listener on ${topic} threw`).length, 1);
      await un1();
      await un2();
    });
  });

  describe('socket ids', () => {
    for (const vsn of VSNS) it(`ChannelsEndpoint.disconnect(id) closes that connection with 1001; phoenix.js reconnects and rejoins, vsn ${vsn} (P-54)`, async () => {
      const socket = app.client({ vsn, params: { id: `sock-54-${vsn}` } });
      const codes = closeCodesOf(socket);
      const channel = socket.channel(uniqueTopic('life'));
      await joined(channel);
      const firstJoinRef = joinRefOf(channel);
      await endpoint.disconnect(`sock-54-${vsn}`);
      await eventually(() => codes.length === 1, 'the client saw the close');
      assert.equal(codes[0], 1001);
      await eventually(() => terminations(channel.topic).length === 1, 'terminate ran');
      assert.deepEqual(terminations(channel.topic), [{ shutdown: 'disconnected' }]);
      await eventually(() => joins(channel.topic).length === 2, 'phoenix.js reconnected and rejoined');
      assert.notEqual(joins(channel.topic)[1]!.joinRef, firstJoinRef);
      assert.deepEqual(await outcome(channel.push('ping', { back: true })), { status: 'ok', response: { back: true } });
    });

    it('a disconnect closes every connection of that id, and a disconnect broadcast on the id topic does the same (P-54)', async () => {
      const sockets = [app.client({ params: { id: 'sock-54b' } }), app.client({ params: { id: 'sock-54b' } })];
      const codes = sockets.map(closeCodesOf);
      for (const socket of sockets) await joined(socket.channel(uniqueTopic('room')));
      await endpoint.broadcast('sock-54b', 'disconnect', {});
      await eventually(() => codes.every((c) => c.length >= 1), 'both connections closed');
      assert.deepEqual(codes.map((c) => c[0]), [1001, 1001]);
    });

    it('other events on the socket-id topic have no effect (P-55)', async () => {
      const socket = app.client({ params: { id: 'sock-55' } });
      const codes = closeCodesOf(socket);
      const frames = framesOf(socket);
      const channel = socket.channel(uniqueTopic('room'));
      await joined(channel);
      await endpoint.broadcast('sock-55', 'not_disconnect', { x: 1 });
      await endpoint.broadcast('sock-55', 'phx_close', {});
      await sleep(100);
      assert.deepEqual(codes, []);
      assert.deepEqual(await outcome(channel.push('ping', { still: true })), { status: 'ok', response: { still: true } });
      assert.deepEqual(frames.filter((f) => f.topic === 'sock-55'), []);
      assert.deepEqual(terminations(channel.topic), []);
    });

    it('a connection whose id is null is unaffected by any disconnect (P-56)', async () => {
      const anonymous = app.client();
      const named = app.client({ params: { id: 'sock-56' } });
      const codes = { anonymous: closeCodesOf(anonymous), named: closeCodesOf(named) };
      const channel = anonymous.channel(uniqueTopic('room'));
      await joined(channel);
      await joined(named.channel(uniqueTopic('room')));
      await endpoint.disconnect('sock-56');
      await endpoint.disconnect('null');
      await endpoint.disconnect('');
      await eventually(() => codes.named.length === 1, 'the named connection closed');
      await sleep(100);
      assert.deepEqual(codes.anonymous, []);
      assert.deepEqual(await outcome(channel.push('ping', {})), { status: 'ok', response: {} });
    });
  });

  describe('per-channel log options', () => {
    it("defaults: joins are logged at 'log', handle_in at 'debug'", async () => {
      const channel = app.client().channel(uniqueTopic('room'), { password: 'hunter2' });
      await joined(channel);
      await outcome(channel.push('ping', {}));
      const joinsLogged = logs.find(null, `JOINED ${channel.topic} in `, 'RoomChannel');
      assert.deepEqual(joinsLogged.map((e) => e.level), ['log']);
      assert.match(joinsLogged[0]!.message, /params: \{"password":"\[FILTERED\]"\}$/);
      const handled = logs.find(null, `HANDLED ping INCOMING ON ${channel.topic} (RoomChannel.ping)`);
      assert.deepEqual(handled.map((e) => e.level), ['debug']);
    });

    it("@Channel('quiet:*', { logJoin: false, logHandleIn: 'log' }) logs no join and logs handle_in at 'log'", async () => {
      const channel = app.client().channel(uniqueTopic('quiet'));
      await joined(channel);
      await outcome(channel.push('ping', {}));
      assert.deepEqual(logs.find(null, `JOINED ${channel.topic}`), []);
      const handled = logs.find(null, `HANDLED ping INCOMING ON ${channel.topic} (QuietChannel.ping)`);
      assert.deepEqual(handled.map((e) => e.level), ['log']);
    });

    it('topics starting with phoenix are never logged, join or handle_in, whatever the options', async () => {
      const channel = app.client().channel(uniqueTopic('phoenix'));
      await joined(channel);
      assert.deepEqual(await outcome(channel.push('ping', { n: 1 })), { status: 'ok', response: { n: 1 } });
      assert.deepEqual(logs.entries.filter((e) => e.message.includes(channel.topic)), []);
    });
  });
});

describe('graceful shutdown (P-57)', () => {
  let app: TestApp | null = null;
  const sockets: PhoenixSocket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.disconnect();
    await app?.close().catch(() => undefined);
    app = null;
  });

  it("app.close() drains: terminate gets {shutdown: 'draining'}, clients see 1012, new connections are refused meanwhile, and a hanging terminate is cut off (P-57)", async () => {
    const started = await startApp(BehaviourFixtures.channels({ shutdownTimeout: 300 }));
    app = started;
    const recorder = started.app.get(Recorder);
    const socket = started.client();
    sockets.push(socket);
    const codes = closeCodesOf(socket);
    const topics = [uniqueTopic('room'), uniqueTopic('life:slowterm'), uniqueTopic('life:hang')];
    for (const topic of topics) await joined(socket.channel(topic));
    const idle = await started.raw(); // a connection with no channel: closed with 1012 too
    const idleClosed = idle.closedWith(3000);

    const closingAt = Date.now();
    const closing = started.app.close();
    await sleep(50); // inside the drain: life:slowterm's terminate takes 300 ms
    await assert.rejects(started.raw(), /upgrade refused with HTTP 503|ECONNREFUSED/, 'a new connection is refused while draining');
    await closing;
    const took = Date.now() - closingAt;
    assert.ok(took < 2000, `app.close() took ${took}ms`);

    assert.equal(await idleClosed, 1012);
    await eventually(() => codes.length >= 1, 'the phoenix client saw the close');
    assert.equal(codes[0], 1012);
    for (const topic of topics) assert.deepEqual(recorder.of('terminate', topic), [{ shutdown: 'draining' }], topic);
    assert.deepEqual(recorder.of('terminated', topics[1]), [{ shutdown: 'draining' }], 'the slow terminate finished');
    assert.deepEqual(recorder.of('terminated', topics[2]), [], 'the hanging terminate was cut off');
  });

  it('app.close() with a handler that never settles still finishes, and that channel terminates with draining (P-57)', async () => {
    const started = await startApp(BehaviourFixtures.channels({ shutdownTimeout: 200 }));
    app = started;
    const recorder = started.app.get(Recorder);
    const socket = started.client();
    sockets.push(socket);
    const channel = socket.channel(uniqueTopic('life'));
    await joined(channel);
    channel.push('hang', {}, NO_REPLY_MS);
    await sleep(20);
    const closingAt = Date.now();
    await started.app.close();
    const took = Date.now() - closingAt;
    assert.ok(took < 2000, `app.close() took ${took}ms`);
    assert.deepEqual(recorder.of('terminate', channel.topic), [{ shutdown: 'draining' }]);
  });
});
