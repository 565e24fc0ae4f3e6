/**
 * One client cannot hurt another, and no mistake in user code kills the
 * process (issue 11). Each block re-runs one finding of the issue through
 * real sockets and asserts three things: what the offender gets (a close
 * code, a crash of its own channel), that every other client goes on
 * unaffected, and that the process saw no unhandled rejection or uncaught
 * exception.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChannelsEndpoint } from '../../lib/index.js';
import { IsolationFixtures } from '../fixtures/isolation.channels.js';
import { Recorder } from '../fixtures/recorder.js';
import { clientPush } from '../support/binary-frames.js';
import { httpRequest } from '../support/http-request.js';
import { LogCapture } from '../support/log-capture.js';
import { eventually, sleep, uniqueTopic } from '../support/phoenix-helpers.js';
import { ProcessGuard } from '../support/process-guard.js';
import type { Frame, RawClient } from '../support/raw-client.js';
import { startApp, type TestApp } from '../support/test-app.js';

const ok = (jr: unknown, r: unknown, topic: string, response: unknown = {}) => [jr, r, topic, 'phx_reply', { status: 'ok', response }];

/** `{"a":{"a":…}}` nested `levels` deep (the payload itself is level 1). */
function nested(levels: number): string {
  return `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
}

/** Reads frames until the reply to `ref`; returns it and the frames read before it. */
async function replyTo(raw: RawClient, ref: string, what: string, timeoutMs = 3000): Promise<{ reply: any; before: Frame[] }> {
  const before: Frame[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = await raw.next(Math.max(1, deadline - Date.now()), what);
    if (!frame.binary && frame.json[1] === ref && frame.json[3] === 'phx_reply') return { reply: frame.json, before };
    before.push(frame);
  }
}

/** `count` raw clients joined to `topic` (join_ref "b"), V2 unless `vsn` is '1.0.0'. */
async function subscribers(app: TestApp, topic: string, count: number, vsn = '2.0.0'): Promise<RawClient[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const raw = await app.raw({ query: `vsn=${vsn}` });
      if (vsn === '1.0.0') {
        raw.send({ topic, event: 'phx_join', payload: {}, ref: 'b', join_ref: 'b' });
        assert.equal((await raw.nextJson(3000, `joining ${topic} on V1`)).payload.status, 'ok');
      } else assert.deepEqual(await raw.join(topic, {}, 'b', 'b'), ok('b', 'b', topic));
      return raw;
    }),
  );
}

/** Each V2 client still answers a ping on `topic`, and got no phx_error or close on the way. */
async function assertUnaffected(clients: RawClient[], topic: string, what: string): Promise<void> {
  await Promise.all(
    clients.map(async (raw, i) => {
      // A null join_ref is handled whatever the channel's own (P-32).
      raw.send([null, `alive-${i}`, topic, 'ping', {}]);
      const { reply, before } = await replyTo(raw, `alive-${i}`, `${what}: client ${i} answering a ping`);
      assert.deepEqual(reply[4], { status: 'ok', response: { pong: true } }, `${what}: client ${i}`);
      const errors = before.filter((f) => !f.binary && f.json[3] === 'phx_error');
      assert.deepEqual(errors, [], `${what}: client ${i} saw no phx_error`);
      assert.equal(raw.closeCode, null, `${what}: client ${i} is still connected`);
    }),
  );
}

describe('one client cannot hurt another (issue 11)', () => {
  let app: TestApp;
  /** Frames (and joins) up to 8 MiB, for a large binary join. */
  let big: TestApp;
  /** maxPayloadDepth 5000, so that a deep join payload gets past decoding; a long shutdownTimeout. */
  let deep: TestApp;
  let recorder: Recorder;
  let logs: LogCapture;
  let guard: ProcessGuard;

  before(async () => {
    guard = ProcessGuard.install();
    // Pending replies above the mailbox bound, so that a flood of pushes meets maxQueuedMessages.
    app = await startApp(IsolationFixtures.app({ shutdownTimeout: 1000, maxPendingReplies: 5000 }));
    big = await startApp(IsolationFixtures.app({ maxFrameSize: 8 * 1024 * 1024, maxJoinPayloadSize: 8 * 1024 * 1024 }));
    deep = await startApp(IsolationFixtures.app({ maxPayloadDepth: 5000, shutdownTimeout: 20_000 }));
    recorder = app.app.get(Recorder);
    // After the apps: each app's start sets Nest's log levels, which the capture widens to all.
    logs = LogCapture.install();
  });
  after(async () => {
    await Promise.all([app.close(), big.close(), deep.close()]);
    logs.restore();
    guard.restore();
  });

  // ── 1. Deep JSON ─────────────────────────────────────────────────────────

  it('a payload nested deeper than maxPayloadDepth (64) is malformed: its sender is closed with 1011 with no reply, and the 49 other subscribers of the intercepted event are unaffected (P-44)', async () => {
    const topic = uniqueTopic('iso');
    const others = await subscribers(app, topic, 49);
    const attacker = await app.raw();
    await attacker.join(topic, {}, 'j', 'j');
    const mark = logs.entries.length;

    // The frame: 6000 levels on an intercepted event, 36 kB.
    attacker.send(`["j","1","${topic}","news",{"body":${nested(6000)}}]`);
    assert.equal(await attacker.closedWith(3000), 1011);
    assert.deepEqual(await attacker.nothingFor(0), [], 'no reply to the malformed frame');

    await assertUnaffected(others, topic, 'after the deep frame');
    const lines = logs.since(mark);
    assert.equal(lines.filter((l) => l.level === 'warn' && /malformed frame from .* nests deeper than 64 levels/.test(l.message)).length, 1);
    assert.deepEqual(lines.filter((l) => l.level === 'error').map((l) => l.message), [], 'no channel crashed');
    assert.deepEqual(recorder.of('terminate', topic), [{ shutdown: 'closed' }], "only the attacker's channel ended");

    // The limit is not tighter than it says: 64 levels reach all 49 through @HandleOut.
    others[0]!.send(['b', 'deep-ok', topic, 'news', JSON.parse(nested(64))]);
    for (const [i, raw] of others.entries()) {
      let frame = await raw.nextJson(3000, `the 64-level news at subscriber ${i}`);
      // The sender also gets the reply to its push.
      if (frame[3] === 'phx_reply') frame = await raw.nextJson(3000, `the 64-level news at the sender`);
      assert.deepEqual(frame.slice(0, 4), ['b', null, topic, 'news'], `subscriber ${i} got the news`);
    }
    for (const raw of others) raw.terminate();
    await guard.assertClean('deep JSON');
  });

  it('a broadcast that a serializer refuses is encoded, and logged, once per broadcast, not once per subscriber; the others get it (P-45, P-52)', async () => {
    const topic = uniqueTopic('iso');
    const v1 = await subscribers(app, topic, 10, '1.0.0');
    const v2 = await subscribers(app, topic, 3);
    const mark = logs.entries.length;
    // A binary broadcast cannot be encoded for V1 clients (no binary frames).
    v2[0]!.sendBinary(clientPush('b', 'bin', topic, 'shout', Buffer.from([7, 7, 7])));
    for (const [i, raw] of v2.entries()) {
      const frames = [await raw.next(3000, `the binary broadcast at V2 subscriber ${i}`)];
      if (i === 0) frames.push(await raw.next(3000, 'the reply to the binary push'));
      assert.ok(frames.some((f) => f.binary && f.bytes[0] === 2), `V2 subscriber ${i} got a kind-2 broadcast`);
    }
    await sleep(100);
    for (const raw of v1) assert.deepEqual(await raw.nothingFor(0), [], 'V1 subscribers get nothing');
    const refused = logs.since(mark).filter((l) => l.level === 'error' && l.message.includes(`cannot encode broadcast 'shout' on ${topic}`));
    assert.equal(refused.length, 1, `logged once for ${v1.length} V1 subscribers`);
    for (const raw of v1) {
      raw.send({ topic, event: 'ping', payload: {}, ref: 'v1-alive', join_ref: 'b' });
      assert.deepEqual(await raw.nextJson(3000, 'a V1 ping reply'), {
        topic,
        event: 'phx_reply',
        payload: { status: 'ok', response: { pong: true } },
        ref: 'v1-alive',
      });
      raw.terminate();
    }
    for (const raw of v2) raw.terminate();
    await guard.assertClean('unencodable broadcast');
  });

  // ── 2 and 3. Logging never serializes more than it prints ────────────────

  it('a binary join payload is logged as its size, without touching its bytes; the join and a bystander go on', async () => {
    const topic = uniqueTopic('iso');
    const bystander = (await subscribers(big, topic, 1))[0]!;
    const raw = await big.raw();
    const mark = logs.entries.length;
    raw.sendBinary(clientPush('1', '1', topic, 'phx_join', Buffer.alloc(4 * 1024 * 1024, 0xff)));
    assert.deepEqual(await raw.nextJson(10_000, 'the binary join reply'), ok('1', '1', topic));
    const joined = logs.since(mark).filter((l) => l.message.startsWith(`JOINED ${topic} in `));
    assert.equal(joined.length, 1);
    assert.match(joined[0]!.message, /params: <binary 4\.0 MiB>$/);
    await assertUnaffected([bystander, raw], topic, 'after the binary join');
    await guard.assertClean('binary join');
  });

  it('a join payload 3000 levels deep (with maxPayloadDepth raised) joins, is logged within 200 characters, and leaves promptly: no failure after the reply sticks the mailbox', async () => {
    const deepRecorder = deep.app.get(Recorder);
    const topic = uniqueTopic('iso');
    const bystander = (await subscribers(deep, topic, 1))[0]!;
    const raw = await deep.raw();
    const mark = logs.entries.length;
    raw.send(`["1","1","${topic}","phx_join",${nested(3000)}]`);
    assert.deepEqual(await raw.nextJson(3000, 'the deep join reply'), ok('1', '1', topic));
    const joined = logs.since(mark).filter((l) => l.message.startsWith(`JOINED ${topic} in `));
    assert.equal(joined.length, 1);
    const params = joined[0]!.message.slice(joined[0]!.message.indexOf('params: ') + 8);
    assert.ok(params.length <= 201, `the params shown are bounded (${params.length} chars)`);
    assert.match(params, /^\{"a":\{"a":.*\{…\}/);
    raw.send(['1', '2', topic, 'ping', {}]);
    assert.deepEqual(await raw.nextJson(3000, 'a ping after the deep join'), ok('1', '2', topic, { pong: true }));
    raw.send(['1', '3', topic, 'phx_leave', {}]);
    assert.deepEqual(await raw.nextJson(3000, 'the leave reply'), ok('1', '3', topic));
    // @Terminate runs at once, not after the 20 s shutdownTimeout.
    await eventually(() => deepRecorder.of('terminate', topic).length === 1, '@Terminate after the leave', 3000);
    await assertUnaffected([bystander], topic, 'after the deep join');
    await guard.assertClean('deep join');
  });

  // ── 4. Duplicate join keeps arrival order ────────────────────────────────

  it('a burst of join, ping, leave and a second join behind an async @Join is answered in full and in order (P-24, P-26, P-33, P-34)', async () => {
    const topic = uniqueTopic('iso');
    const bystander = (await subscribers(app, topic, 1))[0]!;
    const raw = await app.raw();
    raw.send(['1', '1', topic, 'phx_join', { delay: 100 }]);
    raw.send(['1', '2', topic, 'ping', {}]);
    raw.send(['1', '3', topic, 'phx_leave', {}]);
    raw.send(['4', '4', topic, 'phx_join', {}]);
    const frames = [];
    for (let i = 0; i < 5; i++) frames.push(await raw.nextJson(3000, `frame ${i + 1} of the burst's answers`));
    assert.deepEqual(frames, [
      ok('1', '1', topic),
      ok('1', '2', topic, { pong: true }),
      ok('1', '3', topic),
      ['1', '1', topic, 'phx_close', {}],
      ok('4', '4', topic),
    ]);
    assert.deepEqual(await raw.nothingFor(100), [], 'no second phx_close for the channel that left');
    raw.send(['4', '5', topic, 'ping', {}]);
    assert.deepEqual(await raw.nextJson(3000, 'a ping on the second join'), ok('4', '5', topic, { pong: true }));
    await assertUnaffected([bystander], topic, 'after the burst');
    await guard.assertClean('duplicate join burst');
  });

  // ── 5. Every promise handed out is handled ───────────────────────────────

  it('promises a handler or the app forgets to await never become unhandled rejections; they are logged, and an awaiting caller still sees the rejection', async () => {
    const topic = uniqueTopic('iso');
    const bystander = (await subscribers(app, topic, 1))[0]!;
    const raw = await app.raw();
    const mark = logs.entries.length;

    // socket.broadcast inside @Join (not joined yet), not awaited.
    assert.deepEqual(await raw.join(topic, { broadcast_in_join: true }, '1', '1'), ok('1', '1', topic));
    // socket.broadcast of a non-object, and socket.subscribe of a topic the PubSub refuses, not awaited.
    raw.send(['1', '2', topic, 'forget', { kind: 'not_object' }]);
    assert.deepEqual(await raw.nextJson(), ok('1', '2', topic, { forgot: 'not_object' }));
    raw.send(['1', '3', topic, 'forget', { kind: 'subscribe', topic: 'refused:a' }]);
    assert.deepEqual(await raw.nextJson(), ok('1', '3', topic, { forgot: 'subscribe' }));

    // ChannelsEndpoint: a non-object broadcast and a refused subscribe, not awaited; then awaited.
    const endpoint = app.app.get(ChannelsEndpoint);
    void endpoint.broadcast(topic, 'shout', 'not an object');
    void endpoint.subscribe('refused:b', () => undefined);
    await assert.rejects(endpoint.broadcast(topic, 'shout', 'not an object'), { code: 'ERR_CHANNELS_SERIALIZATION' });
    await assert.rejects(endpoint.subscribe('refused:c', () => undefined), { code: 'ERR_CHANNELS_PUBSUB_UNAVAILABLE' });
    await sleep(50);

    const lines = logs.since(mark);
    assert.equal(lines.filter((l) => /IsolationChannel broadcast on .* failed: ChannelsError: socket\.broadcast is only valid once/.test(l.message)).length, 1);
    assert.equal(lines.filter((l) => /IsolationChannel broadcast on .* failed: ChannelsError: IsolationChannel broadcast\('shout'\): the payload must be an object/.test(l.message)).length, 1);
    assert.equal(lines.filter((l) => /IsolationChannel socket\.subscribe on refused:a failed/.test(l.message)).length, 1);
    assert.equal(lines.filter((l) => /ChannelsEndpoint subscribe on refused:b failed/.test(l.message)).length, 1);
    raw.send(['1', '4', topic, 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), ok('1', '4', topic, { pong: true }), 'the forgetful channel still serves');
    await assertUnaffected([bystander], topic, 'after the forgotten promises');
    await guard.assertClean('forgotten promises');
  });

  // ── 6. Writes from outside a handler never throw into the caller ─────────

  for (const { what, vsn } of [
    { what: 'binary_reply', vsn: '1.0.0' },
    { what: 'non_object_push', vsn: '2.0.0' },
    { what: 'long_binary_push', vsn: '2.0.0' },
  ]) {
    it(`a ${what.replace(/_/g, ' ')} from a timer that the serializer refuses crashes only that channel (phx_error, @Terminate, an error log), vsn ${vsn} (P-35, P-53)`, async () => {
      const topic = uniqueTopic('iso');
      const bystander = (await subscribers(app, topic, 1))[0]!;
      const raw = await app.raw({ query: `vsn=${vsn}` });
      const v1 = vsn === '1.0.0';
      const send = (ref: string, event: string, payload: unknown) =>
        raw.send(v1 ? { topic, event, payload, ref, join_ref: '1' } : ['1', ref, topic, event, payload]);
      send('1', 'phx_join', {});
      await raw.nextJson(3000, 'the join reply');
      const mark = logs.entries.length;
      send('2', 'late', { what });
      const crash = await raw.nextJson(3000, 'phx_error after the refused write');
      assert.deepEqual(
        crash,
        v1
          ? { topic, event: 'phx_error', payload: { reason: 'channel_crash' }, ref: '1' }
          : ['1', '1', topic, 'phx_error', { reason: 'channel_crash' }],
      );
      await eventually(() => recorder.of('terminate', topic).length === 1, '@Terminate of the crashed channel');
      assert.match(String((recorder.of('terminate', topic)[0] as { error: string }).error), /cannot|binary|object|255/);
      const errors = logs.since(mark).filter((l) => l.level === 'error');
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, new RegExp(`^IsolationChannel on ${topic}: (SocketRef\\.reply|socket\\.push)\\('[^']*'\\) cannot be encoded, so the channel crashes: SerializationError`));
      assert.deepEqual(recorder.of('late', topic), [what], 'the timer ran to its end');
      send('3', 'ping', {});
      const unmatched = await raw.nextJson(3000, 'the reply after the crash');
      assert.equal(v1 ? unmatched.payload.response.reason : unmatched[4].response.reason, 'unmatched topic');
      await assertUnaffected([bystander], topic, `after the refused ${what}`);
      await guard.assertClean(`refused ${what} from a timer`);
    });
  }

  it('a push from a timer while @Join is still running fails that join ("join crashed"), and throws nothing into the timer', async () => {
    const topic = uniqueTopic('iso');
    const raw = await app.raw();
    const mark = logs.entries.length;
    assert.deepEqual(await raw.join(topic, { push_in_join: true }, '1', '1'), [
      '1',
      '1',
      topic,
      'phx_reply',
      { status: 'error', response: { reason: 'join crashed' } },
    ]);
    assert.equal(logs.since(mark).filter((l) => l.level === 'error' && /socket\.push is only valid once the channel has joined/.test(l.message)).length, 1);
    assert.deepEqual(await raw.join(topic, {}, '2', '2'), ok('2', '2', topic), 'a later join works');
    await guard.assertClean('push during join');
  });

  // ── 7. Bounded queues ────────────────────────────────────────────────────

  it('a channel with maxQueuedMessages (1000) messages waiting closes its connection with 1008 and one warning; a client on the same topic goes on', async () => {
    const topic = uniqueTopic('iso');
    const bystander = (await subscribers(app, topic, 1))[0]!;
    const raw = await app.raw();
    await raw.join(topic, {}, '1', '1');
    const mark = logs.entries.length;
    raw.send(['1', 'h', topic, 'hang', {}]);
    for (let i = 0; i < 1001; i++) raw.send(['1', `p${i}`, topic, 'ping', {}]);
    assert.equal(await raw.closedWith(5000), 1008);
    assert.equal(raw.closeReason, 'too many queued messages');
    const warnings = logs.since(mark).filter((l) => l.message.includes('(maxQueuedMessages)'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, new RegExp(`IsolationChannel on ${topic} has 1000 messages waiting`));
    // The hanging handler holds @Terminate for shutdownTimeout (1 s here).
    await eventually(() => recorder.of('terminate', topic).length === 1, '@Terminate of the flooded channel', 5000);
    await assertUnaffected([bystander], topic, 'after the flood');
    await guard.assertClean('mailbox flood');
  });

  it('a frame larger than the default maxFrameSize (1 MiB) closes its connection with 1009; a client on the same topic goes on', async () => {
    const topic = uniqueTopic('iso');
    const bystander = (await subscribers(app, topic, 1))[0]!;
    const raw = await app.raw();
    await raw.join(topic, {}, '1', '1');
    raw.send(['1', '2', topic, 'ping', { pad: 'x'.repeat(1024 * 1024) }]);
    assert.equal(await raw.closedWith(5000), 1009);
    const fits = await app.raw();
    await fits.join(topic, {}, '1', '1');
    fits.send(['1', '2', topic, 'ping', { pad: 'x'.repeat(1024 * 1024 - 200) }]);
    assert.deepEqual(await fits.nextJson(5000, 'the reply to a frame just under 1 MiB'), ok('1', '2', topic, { pong: true }));
    await assertUnaffected([bystander], topic, 'after the oversized frame');
    await guard.assertClean('oversized frame');
  });

  // ── 9. Origin on old handshakes ──────────────────────────────────────────

  it('the origin check covers Sec-WebSocket-Origin of version-8 handshakes: a foreign one is refused with 403, the own host accepted (P-08)', async () => {
    const topic = uniqueTopic('iso');
    const bystander = (await subscribers(app, topic, 1))[0]!;
    const old = (origin: string) =>
      httpRequest(app.httpBase, {
        path: '/socket/websocket?vsn=2.0.0',
        upgrade: true,
        headers: { 'sec-websocket-version': '8', 'sec-websocket-origin': origin },
      });
    const refused = await old('https://evil.example');
    assert.equal(refused.status, 403);
    assert.equal(refused.body, '');
    assert.equal((await old(`http://127.0.0.1:${app.port}`)).status, 101);
    assert.equal(logs.find('error', 'origin of request "https://evil.example" is not allowed').length, 1);
    await assertUnaffected([bystander], topic, 'after the refused handshake');
    await guard.assertClean('old handshake origin');
  });
});
