/**
 * The socket's side of the protocol at the wire:
 * heartbeats, joins and their outcomes, routing, the channel limit, duplicate
 * joins, leaves, dispatch by join_ref, ordering, refs, pushes, broadcasts,
 * V1 framing and the idle timeout. Raw frames, V2 unless a test says V1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fixtures } from '../fixtures/fixtures.js';
import { Recorder } from '../fixtures/recorder.js';
import { WireFixtures } from '../fixtures/wire.fixtures.js';
import { eventually, sleep, uniqueTopic } from '../support/phoenix-helpers.js';
import type { RawClient } from '../support/raw-client.js';
import { startApp, type TestApp } from '../support/test-app.js';

/** How long "nothing arrives" is watched for. */
const QUIET_MS = 150;

const ok = (jr: unknown, r: unknown, topic: string, response: unknown = {}) => [jr, r, topic, 'phx_reply', { status: 'ok', response }];
const error = (jr: unknown, r: unknown, topic: string, response: unknown) => [jr, r, topic, 'phx_reply', { status: 'error', response }];
const unmatched = (r: unknown, topic: string) => error(null, r, topic, { reason: 'unmatched topic' });

/** Reads `count` frames, in arrival order. */
async function frames(raw: RawClient, count: number, what: string): Promise<any[]> {
  const out: any[] = [];
  for (let i = 0; i < count; i++) out.push(await raw.nextJson(2000, `${what} (frame ${i + 1} of ${count})`));
  return out;
}

async function assertQuiet(raw: RawClient, what: string): Promise<void> {
  const seen = await raw.nothingFor(QUIET_MS);
  assert.deepEqual(seen, [], `${what}: expected no frame, got ${JSON.stringify(seen.map((f) => f.json ?? '<binary>'))}`);
}

describe('socket protocol on the standard fixture', () => {
  let app: TestApp;
  let recorder: Recorder;
  before(async () => {
    app = await startApp(Fixtures.standard());
    recorder = app.app.get(Recorder);
  });
  after(() => app.close());

  // ── Heartbeat ────────────────────────────────────────────────────────────

  it('answers a heartbeat with an ok reply when no channel is joined (P-13)', async () => {
    const raw = await app.raw();
    raw.send([null, '1', 'phoenix', 'heartbeat', {}]);
    assert.deepEqual(await raw.nextJson(), [null, '1', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
  });

  it('answers a heartbeat sent with join_ref "9" with join_ref null (P-14)', async () => {
    const raw = await app.raw();
    raw.send(['9', '2', 'phoenix', 'heartbeat', {}]);
    assert.deepEqual(await raw.nextJson(), [null, '2', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
  });

  // ── Join outcomes ────────────────────────────────────────────────────────

  it('replies ok {} to a join, echoing jr and r, and the channel then answers (P-15)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    raw.send(['5', '6', topic, 'phx_join', {}]);
    assert.deepEqual(await raw.nextJson(), ok('5', '6', topic));
    assert.deepEqual(recorder.of('join', topic), [{}], 'the @Join ran once with the payload');
    raw.send(['5', '7', topic, 'ping', { n: 1 }]);
    assert.deepEqual(await raw.nextJson(), ok('5', '7', topic, { n: 1 }));
  });

  it('puts the value a join returns in the ok reply (P-16)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    assert.deepEqual(await raw.join(topic, { reply: { welcome: topic, n: [1, 2] } }), ok('1', '1', topic, { welcome: topic, n: [1, 2] }));
  });

  it('answers a refused join with the ChannelError payload and nothing after it (P-17)', async () => {
    const raw = await app.raw();
    assert.deepEqual(await raw.join('room:private', {}, '3', '4'), error('3', '4', 'room:private', { reason: 'unauthorized' }));
    await assertQuiet(raw, 'after a refused join (no phx_close, no phx_error)');
    raw.send(['3', '5', 'room:private', 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), unmatched('5', 'room:private'), 'the refused channel was never registered');
  });

  it('answers "join crashed" to a join that throws or returns an invalid value (P-18)', async () => {
    const raw = await app.raw();
    const crash = uniqueTopic('room:crash');
    assert.deepEqual(await raw.join(crash, {}, '1', '1'), error('1', '1', crash, { reason: 'join crashed' }));
    const bad = uniqueTopic('room:bad');
    assert.deepEqual(await raw.join(bad, {}, '2', '2'), error('2', '2', bad, { reason: 'join crashed' }));
    await assertQuiet(raw, 'after crashed joins');
    assert.deepEqual(recorder.of('terminate', crash), [], '@Terminate never runs for a join that did not succeed');
  });

  it('answers "unmatched topic" with join_ref null to a join of an unrouted topic (P-19)', async () => {
    const raw = await app.raw();
    assert.deepEqual(await raw.join('nowhere:1', {}, '7', '8'), unmatched('8', 'nowhere:1'));
    raw.send(['7', '9', 'nowhere:1', 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), unmatched('9', 'nowhere:1'));
  });

  it('routes room:* to room: and room:x but not room, and an exact route to its topic only (P-20)', async () => {
    const raw = await app.raw();
    assert.deepEqual(await raw.join('room:', {}, '1', '1'), ok('1', '1', 'room:'));
    assert.deepEqual(await raw.join('room:x', {}, '2', '2'), ok('2', '2', 'room:x'));
    assert.deepEqual(await raw.join('room', {}, '3', '3'), unmatched('3', 'room'));
    assert.deepEqual(await raw.join('lobby', {}, '4', '4'), ok('4', '4', 'lobby', { exact: true }));
    assert.deepEqual(await raw.join('lobby:1', {}, '5', '5'), unmatched('5', 'lobby:1'));
    assert.deepEqual(await raw.join('lobb', {}, '6', '6'), unmatched('6', 'lobb'));
  });

  it('queues frames sent after a join that then fails and answers each "unmatched topic"', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic('room:crash');
    raw.send(['1', '1', topic, 'phx_join', {}]);
    raw.send(['1', '2', topic, 'ping', { queued: 1 }]);
    raw.send(['1', '3', topic, 'phx_leave', {}]);
    assert.deepEqual(await frames(raw, 3, 'the failed join and the frames queued behind it'), [
      error('1', '1', topic, { reason: 'join crashed' }),
      unmatched('2', topic),
      ok('1', '3', topic),
    ]);
    raw.send(['1', '4', topic, 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), unmatched('4', topic), 'a later frame is unmatched too');

    // A refused join (ChannelError) behaves the same.
    raw.send(['5', '5', 'room:private', 'phx_join', {}]);
    raw.send(['5', '6', 'room:private', 'ping', {}]);
    assert.deepEqual(await frames(raw, 2, 'the refused join and the ping behind it'), [
      error('5', '5', 'room:private', { reason: 'unauthorized' }),
      unmatched('6', 'room:private'),
    ]);
  });

  // ── Routing: the most specific pattern wins (P-21 in our sense) ──────────

  describe('routing when two patterns match', () => {
    let routing: TestApp;
    before(async () => {
      routing = await startApp(WireFixtures.routing());
    });
    after(() => routing.close());

    it('gives a discovered topic to the most specific pattern: exact, then the longest prefix (P-21)', async () => {
      const raw = await routing.raw();
      assert.deepEqual(await raw.join('food:1', {}, '1', '1'), ok('1', '1', 'food:1', { channel: 'food' }));
      assert.deepEqual(await raw.join('foo:1', {}, '2', '2'), ok('2', '2', 'foo:1', { channel: 'foo', topic: 'foo:1' }));
      assert.deepEqual(await raw.join('lobby', {}, '3', '3'), ok('3', '3', 'lobby', { exact: true }));
      assert.deepEqual(await raw.join('lobbyist', {}, '4', '4'), ok('4', '4', 'lobbyist', { channel: 'lob*', topic: 'lobbyist' }));
      assert.deepEqual(await raw.join('room:1', {}, '5', '5'), ok('5', '5', 'room:1'));
      assert.deepEqual(await raw.join('zzz', {}, '6', '6'), ok('6', '6', 'zzz', { channel: '*', topic: 'zzz' }));
    });

    it('gives a topic to the first matching channel of a mount\'s channels list, in declared order (P-21)', async () => {
      const raw = await routing.raw({ path: '/ordered/websocket' });
      // channels: [FooChannel, FoodChannel, CatchAllChannel, LobbyChannel]
      assert.deepEqual(await raw.join('food:1', {}, '1', '1'), ok('1', '1', 'food:1', { channel: 'foo', topic: 'food:1' }));
      assert.deepEqual(await raw.join('lobby', {}, '2', '2'), ok('2', '2', 'lobby', { channel: '*', topic: 'lobby' }));
      assert.deepEqual(await raw.join('room:1', {}, '3', '3'), ok('3', '3', 'room:1', { channel: '*', topic: 'room:1' }));
    });
  });

  // ── Channel limit (P-22) ─────────────────────────────────────────────────

  it('refuses the 101st join with "too many channels joined", echoing jr and r, at the default limit (P-22)', async () => {
    const raw = await app.raw();
    const base = uniqueTopic();
    for (let i = 0; i < 100; i++) raw.send([`${i}`, `${i}`, `${base}-${i}`, 'phx_join', {}]);
    const replies = await frames(raw, 100, 'the first 100 join replies');
    const failed = replies.filter((frame) => frame[4].status !== 'ok');
    assert.deepEqual(failed, [], 'the first 100 joins succeed');
    assert.deepEqual(await raw.join(`${base}-100`, {}, 'x', 'y'), error('x', 'y', `${base}-100`, { reason: 'too many channels joined' }));
    // Rejoining a joined topic is not a new entry: it is allowed at the limit. The burst used up the
    // join budget (maxJoinsPerSecond, 100): 20 ms refill two joins.
    await sleep(20);
    assert.deepEqual(await raw.join(`${base}-0`, {}, 'again', 'again'), ok('again', 'again', `${base}-0`));
  });

  describe('with maxChannelsPerSocket: 3', () => {
    let limited: TestApp;
    before(async () => {
      limited = await startApp(Fixtures.standard({ maxChannelsPerSocket: 3 }));
    });
    after(() => limited.close());

    it('refuses the 4th join, then accepts one after a leave frees a slot; another connection has its own count (P-22)', async () => {
      const raw = await limited.raw();
      const topics = [uniqueTopic(), uniqueTopic(), uniqueTopic(), uniqueTopic()];
      for (const [i, topic] of topics.slice(0, 3).entries()) {
        assert.deepEqual(await raw.join(topic, {}, `j${i}`, `r${i}`), ok(`j${i}`, `r${i}`, topic));
      }
      assert.deepEqual(await raw.join(topics[3]!, {}, 'j3', 'r3'), error('j3', 'r3', topics[3], { reason: 'too many channels joined' }));
      raw.send(['j0', 'leave', topics[0], 'phx_leave', {}]);
      assert.deepEqual(await frames(raw, 2, 'the leave reply and phx_close'), [
        ok('j0', 'leave', topics[0]),
        ['j0', 'j0', topics[0], 'phx_close', {}],
      ]);
      assert.deepEqual(await raw.join(topics[3]!, {}, 'j4', 'r4'), ok('j4', 'r4', topics[3]));

      const other = await limited.raw();
      assert.deepEqual(await other.join(topics[0]!, {}, 'o', 'o'), ok('o', 'o', topics[0]));
    });
  });

  // ── Duplicate join (P-24, P-25) ──────────────────────────────────────────

  it('answers a rejoin with jr2 ok, then closes jr1; jr2 frames are handled and jr1 frames dropped (P-24, P-25)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    assert.deepEqual(await raw.join(topic, {}, '1', '1'), ok('1', '1', topic));
    raw.send(['2', '2', topic, 'phx_join', { again: true }]);
    assert.deepEqual(await frames(raw, 2, 'the rejoin reply and the old phx_close'), [
      ok('2', '2', topic),
      ['1', '1', topic, 'phx_close', {}],
    ]);
    assert.deepEqual(recorder.of('terminate', topic), [{ shutdown: 'duplicate_join' }]);
    raw.send(['1', '3', topic, 'ping', { stale: true }]);
    await assertQuiet(raw, 'a ping with the old join_ref');
    raw.send(['2', '4', topic, 'ping', { fresh: true }]);
    assert.deepEqual(await raw.nextJson(), ok('2', '4', topic, { fresh: true }));
  });

  it('holds a rejoin sent while the first join is still running until that join is answered', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic('room:slow');
    raw.send(['1', '1', topic, 'phx_join', { delay: 150 }]);
    raw.send(['2', '2', topic, 'phx_join', { delay: 10 }]);
    assert.deepEqual(await frames(raw, 3, 'both join replies and the old phx_close'), [
      ok('1', '1', topic),
      ok('2', '2', topic),
      ['1', '1', topic, 'phx_close', {}],
    ]);
    raw.send(['2', '3', topic, 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), ok('2', '3', topic, {}));
  });

  // ── Leave (P-26 to P-29) ─────────────────────────────────────────────────

  it('answers phx_leave with an ok reply, then phx_close, then treats the topic as not joined (P-26)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    await raw.join(topic, {}, '4', '4');
    raw.send(['4', '5', topic, 'phx_leave', {}]);
    assert.deepEqual(await frames(raw, 2, 'the leave reply and phx_close'), [ok('4', '5', topic), ['4', '4', topic, 'phx_close', {}]]);
    await eventually(() => recorder.of('terminate', topic).length > 0, '@Terminate ran after the leave');
    assert.deepEqual(recorder.of('terminate', topic), [{ shutdown: 'left' }]);
    raw.send(['4', '6', topic, 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), unmatched('6', topic));
  });

  it('ignores a phx_leave with a stale join_ref; the channel stays joined (P-27)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    await raw.join(topic, {}, '1', '1');
    raw.send(['99', '2', topic, 'phx_leave', {}]);
    await assertQuiet(raw, 'a stale leave');
    raw.send(['1', '3', topic, 'ping', { still: 'here' }]);
    assert.deepEqual(await raw.nextJson(), ok('1', '3', topic, { still: 'here' }));
    assert.deepEqual(recorder.of('terminate', topic), []);
  });

  it('answers a phx_leave with a null join_ref on a joined topic with the reply, then phx_close (P-28)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    await raw.join(topic, {}, '3', '3');
    raw.send([null, '4', topic, 'phx_leave', {}]);
    assert.deepEqual(await frames(raw, 2, 'the leave reply and phx_close'), [ok('3', '4', topic), ['3', '3', topic, 'phx_close', {}]]);
  });

  it('answers a phx_leave for a topic never joined with ok {}, echoing its join_ref and ref (P-29)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    raw.send(['7', '8', topic, 'phx_leave', {}]);
    assert.deepEqual(await raw.nextJson(), ok('7', '8', topic));
    raw.send([null, '9', topic, 'phx_leave', {}]);
    assert.deepEqual(await raw.nextJson(), ok(null, '9', topic));
    assert.deepEqual(recorder.of('join', topic), []);
  });

  // ── Dispatch by topic and join_ref (P-30 to P-32) ────────────────────────

  it('answers an event on a topic not joined "unmatched topic" with join_ref null, and runs no handler (P-30)', async () => {
    const topic = uniqueTopic();
    const member = await app.raw();
    await member.join(topic);
    const outsider = await app.raw();
    outsider.send(['1', '2', topic, 'broadcast', { body: 'from outside' }]);
    assert.deepEqual(await outsider.nextJson(), unmatched('2', topic));
    await assertQuiet(member, 'the broadcast handler must not have run');
    // The outsider's connection goes on.
    outsider.send([null, '3', 'phoenix', 'heartbeat', {}]);
    assert.deepEqual(await outsider.nextJson(), ok(null, '3', 'phoenix'));
  });

  it('drops an event whose non-null join_ref is stale, with no reply (P-31)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    await raw.join(topic, {}, '1', '1');
    raw.send(['2', '2', topic, 'ping', { stale: true }]);
    raw.send([1, '3', topic, 'ping', { number: true }]); // 1 is not "1"
    await assertQuiet(raw, 'events with a stale join_ref');
    raw.send(['1', '4', topic, 'ping', { current: true }]);
    assert.deepEqual(await raw.nextJson(), ok('1', '4', topic, { current: true }));
  });

  it('handles an event with a null join_ref on a joined topic, replying with the channel join_ref (P-32)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    await raw.join(topic, {}, '6', '6');
    raw.send([null, '7', topic, 'ping', { anonymous: true }]);
    assert.deepEqual(await raw.nextJson(), ok('6', '7', topic, { anonymous: true }));
  });

  // ── Ordering (P-33, P-34) ───────────────────────────────

  it('answers several events on one topic in send order, slow handlers included (P-33)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    await raw.join(topic);
    raw.send(['1', 'a', topic, 'slow_ping', { delay: 60, n: 1 }]);
    raw.send(['1', 'b', topic, 'ping', { n: 2 }]);
    raw.send(['1', 'c', topic, 'slow_ping', { delay: 5, n: 3 }]);
    raw.send(['1', 'd', topic, 'ping', { n: 4 }]);
    assert.deepEqual(await frames(raw, 4, 'four replies'), [
      ok('1', 'a', topic, { delay: 60, n: 1 }),
      ok('1', 'b', topic, { n: 2 }),
      ok('1', 'c', topic, { delay: 5, n: 3 }),
      ok('1', 'd', topic, { n: 4 }),
    ]);
  });

  it('hands an event sent right after phx_join to the new channel, its reply after the join reply (P-34)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    raw.send(['1', '1', topic, 'phx_join', {}]);
    raw.send(['1', '2', topic, 'ping', { early: true }]);
    assert.deepEqual(await frames(raw, 2, 'the join reply and the early ping reply'), [ok('1', '1', topic), ok('1', '2', topic, { early: true })]);
  });

  it('lets a slow join hold up only its own topic: other topics go on, its own frames wait in order', async () => {
    const raw = await app.raw();
    const slow = uniqueTopic('room:slow');
    const fast = uniqueTopic();
    raw.send(['1', '1', slow, 'phx_join', { delay: 300 }]);
    raw.send(['1', '2', slow, 'ping', { waited: true }]);
    raw.send(['3', '3', fast, 'phx_join', {}]);
    raw.send(['3', '4', fast, 'ping', { fast: true }]);
    raw.send([null, '5', 'phoenix', 'heartbeat', {}]);
    const early = await frames(raw, 3, 'the fast topic and the heartbeat, before the slow join ends');
    // Frames of different topics interleave; within the fast topic the order holds.
    assert.deepEqual(
      early.filter((frame) => frame[2] === fast),
      [ok('3', '3', fast), ok('3', '4', fast, { fast: true })],
    );
    assert.deepEqual(
      early.filter((frame) => frame[2] === 'phoenix'),
      [ok(null, '5', 'phoenix')],
    );
    assert.deepEqual(await frames(raw, 2, 'the slow join reply, then its queued ping'), [
      ok('1', '1', slow),
      ok('1', '2', slow, { waited: true }),
    ]);
  });

  // ── Replies (P-38 to P-40) ───────────────────────────────────────────────

  it('answers reply("ok") with response {} and sends nothing for noreply (P-38)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    await raw.join(topic);
    raw.send(['1', '2', topic, 'status_only', {}]);
    assert.deepEqual(await raw.nextJson(), ok('1', '2', topic, {}));
    raw.send(['1', '3', topic, 'noreply', {}]);
    await assertQuiet(raw, 'a noreply handler');
    raw.send(['1', '4', topic, 'error_reply', { x: 1 }]);
    assert.deepEqual(await raw.nextJson(), error('1', '4', topic, { got: { x: 1 } }));
  });

  it('delivers a reply whose response is an array or a string unchanged (P-39)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    await raw.join(topic);
    raw.send(['1', '2', topic, 'array_reply', {}]);
    assert.deepEqual(await raw.nextJson(), ok('1', '2', topic, [1, 'two', { three: 3 }]));
    raw.send(['1', '3', topic, 'string_reply', {}]);
    assert.deepEqual(await raw.nextJson(), ok('1', '3', topic, 'just a string'));
    // A scalar payload is echoed as the response too.
    raw.send(['1', '4', topic, 'ping', 42]);
    assert.deepEqual(await raw.nextJson(), ok('1', '4', topic, 42));
  });

  it('echoes refs exactly with their JSON type: "abc", numbers and null (P-40)', async () => {
    const raw = await app.raw();
    const text = uniqueTopic();
    assert.deepEqual(await raw.join(text, {}, 'abc', 'def'), ok('abc', 'def', text));
    raw.send(['abc', 'x-1', text, 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), ok('abc', 'x-1', text, {}));

    const numeric = uniqueTopic();
    raw.send([7, 8, numeric, 'phx_join', {}]);
    assert.deepEqual(await raw.nextJson(), ok(7, 8, numeric));
    raw.send([7, 0, numeric, 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), ok(7, 0, numeric, {}));
    raw.send([7, null, numeric, 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), ok(7, null, numeric, {}));
    raw.send(['7', 9, numeric, 'ping', {}]);
    await assertQuiet(raw, '"7" is not 7: a stale join_ref');

    raw.send([null, 12.5, 'phoenix', 'heartbeat', {}]);
    assert.deepEqual(await raw.nextJson(), ok(null, 12.5, 'phoenix'));
    raw.send([null, null, 'phoenix', 'heartbeat', {}]);
    assert.deepEqual(await raw.nextJson(), ok(null, null, 'phoenix'));
    raw.send([null, 3, 'nowhere', 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), unmatched(3, 'nowhere'));

    // A join without a join_ref: the channel's join_ref is the join's ref, phx_close carries the stored null.
    const bare = uniqueTopic();
    raw.send([null, 20, bare, 'phx_join', {}]);
    assert.deepEqual(await raw.nextJson(), ok(null, 20, bare));
    raw.send([null, 21, bare, 'ping', {}]);
    assert.deepEqual(await raw.nextJson(), ok(20, 21, bare, {}));
    raw.send([null, 22, bare, 'phx_leave', {}]);
    assert.deepEqual(await frames(raw, 2, 'leave reply and phx_close'), [ok(20, 22, bare), [null, null, bare, 'phx_close', {}]]);
  });

  // ── Pushes and broadcasts (P-41 to P-43) ─────────────────────────────────

  it('delivers a channel push as [jr, null, topic, event, payload] before the handler\'s reply (P-41)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    await raw.join(topic, {}, '4', '4');
    raw.send(['4', '5', topic, 'push', { event: 'news', body: 'hi' }]);
    assert.deepEqual(await frames(raw, 2, 'the push and the reply'), [
      ['4', null, topic, 'news', { body: 'hi' }],
      ok('4', '5', topic, { pushed: true }),
    ]);
  });

  it('delivers a non-intercepted broadcast to every subscriber, the sender included, as [null, null, topic, event, payload] (P-42)', async () => {
    const topic = uniqueTopic();
    const sender = await app.raw();
    const other = await app.raw();
    const outsider = await app.raw();
    await sender.join(topic, {}, '1', '1');
    await other.join(topic, {}, '9', '9');
    sender.send(['1', '2', topic, 'broadcast', { event: 'shout', body: 'hello' }]);
    const broadcast = [null, null, topic, 'shout', { body: 'hello' }];
    const atSender = await frames(sender, 2, 'the broadcast and the reply at the sender');
    assert.deepEqual(atSender, [broadcast, ok('1', '2', topic)]);
    assert.deepEqual(await other.nextJson(), broadcast);
    await assertQuiet(outsider, 'a connection that did not join the topic');
  });

  it('delivers broadcast_from to every subscriber but the sender (P-43)', async () => {
    const topic = uniqueTopic();
    const sender = await app.raw();
    const other = await app.raw();
    await sender.join(topic);
    await other.join(topic);
    sender.send(['1', '2', topic, 'broadcast_from', { event: 'shout', body: 'not me' }]);
    assert.deepEqual(await sender.nextJson(), ok('1', '2', topic));
    assert.deepEqual(await other.nextJson(), [null, null, topic, 'shout', { body: 'not me' }]);
    await assertQuiet(sender, 'the sender of broadcast_from');
  });

  // ── V1 and V2 side by side (P-45 to P-48) ────────────────────────────────

  it('delivers one broadcast to a V1 and a V2 subscriber, each in its own format (P-45)', async () => {
    const topic = uniqueTopic();
    const v1 = await app.raw({ query: 'vsn=1.0.0' });
    const v2 = await app.raw();
    v1.send({ topic, event: 'phx_join', payload: {}, ref: '1' });
    assert.deepEqual(await v1.nextJson(), { topic, event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: '1' });
    await v2.join(topic);
    v2.send(['1', '2', topic, 'broadcast', { event: 'shout', body: 'both' }]);
    assert.deepEqual(await frames(v2, 2, 'the V2 broadcast and reply'), [[null, null, topic, 'shout', { body: 'both' }], ok('1', '2', topic)]);
    assert.deepEqual(await v1.nextJson(), { topic, event: 'shout', payload: { body: 'both' }, ref: null });

    // And the other way round: a V1 sender reaches the V2 subscriber.
    v1.send({ topic, event: 'broadcast', payload: { event: 'reply_all', body: 'from v1' }, ref: '2' });
    const atV1 = await frames(v1, 2, 'the V1 broadcast and reply');
    assert.deepEqual(atV1, [
      { topic, event: 'reply_all', payload: { body: 'from v1' }, ref: null },
      { topic, event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: '2' },
    ]);
    assert.deepEqual(await v2.nextJson(), [null, null, topic, 'reply_all', { body: 'from v1' }]);
  });

  it('never puts join_ref in a V1 client\'s replies, pushes or phx_close, even when it sent one (P-46)', async () => {
    const raw = await app.raw({ query: 'vsn=1.0.0' });
    const topic = uniqueTopic();
    const keys = (frame: object) => Object.keys(frame).sort();
    raw.send({ topic, event: 'phx_join', payload: {}, ref: '2', join_ref: '1' });
    const joinReply = await raw.nextJson();
    assert.deepEqual(keys(joinReply), ['event', 'payload', 'ref', 'topic']);
    assert.deepEqual(joinReply, { topic, event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: '2' });
    raw.send({ topic, event: 'push', payload: { event: 'news', body: 1 }, ref: '3', join_ref: '1' });
    const [push, pushReply] = await frames(raw, 2, 'the V1 push and reply');
    assert.deepEqual(push, { topic, event: 'news', payload: { body: 1 }, ref: null });
    assert.deepEqual(pushReply, { topic, event: 'phx_reply', payload: { status: 'ok', response: { pushed: true } }, ref: '3' });
    raw.send({ topic, event: 'phx_leave', payload: {}, ref: '4', join_ref: '1' });
    const [leaveReply, close] = await frames(raw, 2, 'the V1 leave reply and phx_close');
    assert.deepEqual(leaveReply, { topic, event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: '4' });
    assert.deepEqual(close, { topic, event: 'phx_close', payload: {}, ref: '1' });
    for (const frame of [joinReply, push, pushReply, leaveReply, close]) assert.equal('join_ref' in frame, false);
  });

  it('accepts a V1 frame with "ref": null and closes the connection (1011) on one missing ref (P-47)', async () => {
    const raw = await app.raw({ query: 'vsn=1.0.0' });
    raw.send({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: null });
    assert.deepEqual(await raw.nextJson(), { topic: 'phoenix', event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: null });
    const topic = uniqueTopic();
    raw.send({ topic, event: 'phx_join', payload: {}, ref: null });
    assert.deepEqual(await raw.nextJson(), { topic, event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: null });

    raw.send({ topic, event: 'ping', payload: {} });
    assert.equal(await raw.closedWith(), 1011);
    assert.deepEqual(await raw.nothingFor(0), [], 'no reply before the close');
  });

  it('accepts a V2 frame with more than five elements and ignores the extras (P-48)', async () => {
    const raw = await app.raw();
    const topic = uniqueTopic();
    raw.send(['1', '1', topic, 'phx_join', {}, 'extra', { more: true }]);
    assert.deepEqual(await raw.nextJson(), ok('1', '1', topic));
    raw.send(['1', '2', topic, 'ping', { n: 1 }, null]);
    assert.deepEqual(await raw.nextJson(), ok('1', '2', topic, { n: 1 }));
  });
});

describe('socket protocol with heartbeatTimeout: 400', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(Fixtures.standard({ heartbeatTimeout: 400 }));
  });
  after(() => app.close());

  it('closes a silent connection with 1002 and terminates its channels closed, while one that sends heartbeats stays (P-58)', async () => {
    const recorder = app.app.get(Recorder);
    const silent = await app.raw();
    const lively = await app.raw();
    const topic = uniqueTopic();
    await silent.join(topic);
    const openedAt = Date.now();
    let beats = 0;
    // Heartbeats every ~100 ms for well over two timeouts.
    const stopAt = openedAt + 1000;
    while (Date.now() < stopAt) {
      lively.send([null, `${++beats}`, 'phoenix', 'heartbeat', {}]);
      assert.deepEqual(await lively.nextJson(), ok(null, `${beats}`, 'phoenix'));
      await sleep(100);
    }
    assert.equal(await silent.closedWith(1000), 1002, 'the silent connection was closed with 1002');
    assert.equal(lively.closeCode, null, `the heartbeating connection stays open after ${beats} beats`);
    await eventually(() => recorder.of('terminate', topic).length > 0, '@Terminate of the idle connection\'s channel');
    assert.deepEqual(recorder.of('terminate', topic), [{ shutdown: 'closed' }]);
    assert.equal(await lively.closedWith(2000), 1002, 'the heartbeating connection closes once it falls silent too');
  });
});
