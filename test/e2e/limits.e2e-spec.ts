/**
 * Every limit on what one client sends (issue 15), through real sockets.
 * Each test shows the limit and what the offending client gets on the wire,
 * that no handler ran for what was refused, that a flood of refused frames
 * logs one line for the connection (not one per frame), that each refusal is
 * a `limit` telemetry event, and that a bystander on the same topic goes on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TELEMETRY, type LimitEvent } from '../../lib/index.js';
import { IsolationFixtures } from '../fixtures/isolation.channels.js';
import { Recorder } from '../fixtures/recorder.js';
import { LogCapture } from '../support/log-capture.js';
import { lpGet, lpPost, lpSession } from '../support/longpoll-client.js';
import { eventually, joined, sleep, uniqueTopic } from '../support/phoenix-helpers.js';
import { ProcessGuard } from '../support/process-guard.js';
import type { RawClient } from '../support/raw-client.js';
import { listen, type Listening } from '../support/telemetry.js';
import { startApp, type TestApp } from '../support/test-app.js';

const ok = (jr: unknown, r: unknown, topic: string, response: unknown = {}) => [jr, r, topic, 'phx_reply', { status: 'ok', response }];
const refused = (jr: unknown, r: unknown, topic: string, reason: string) => [
  jr,
  r,
  topic,
  'phx_reply',
  { status: 'error', response: { reason } },
];

/** Reads `count` text frames. */
async function frames(raw: RawClient, count: number, what: string): Promise<any[]> {
  const out = [];
  for (let i = 0; i < count; i++) out.push(await raw.nextJson(3000, `${what} (${i + 1} of ${count})`));
  return out;
}

/** A raw client joined to `topic`, to show that others are unaffected. */
async function bystander(app: TestApp, topic: string): Promise<RawClient> {
  const raw = await app.raw();
  assert.deepEqual(await raw.join(topic, {}, 'b', 'b'), ok('b', 'b', topic));
  return raw;
}

async function assertAnswers(raw: RawClient, topic: string, what: string): Promise<void> {
  raw.send(['b', 'alive', topic, 'ping', {}]);
  assert.deepEqual(await raw.nextJson(3000, `${what}: the bystander's ping reply`), ok('b', 'alive', topic, { pong: true }), what);
  assert.equal(raw.closeCode, null, `${what}: the bystander is still connected`);
}

describe('limits on what one client sends (issue 15)', () => {
  /** 5 joins/s per connection, 10 messages/s per channel answered with a reply, 5 pending replies per connection. */
  let app: TestApp;
  let recorder: Recorder;
  let logs: LogCapture;
  let guard: ProcessGuard;
  let limits: Listening<LimitEvent>;

  const hits = (limit: string, since = 0) => limits.events.slice(since).filter((event) => event.limit === limit);
  const lines = (mark: number, limit: string) => logs.since(mark).filter((l) => l.message.includes(`exceeded ${limit} (`));

  before(async () => {
    guard = ProcessGuard.install();
    app = await startApp(
      IsolationFixtures.app({ maxJoinsPerSecond: 5, maxMessagesPerSecond: 10, maxPendingReplies: 5, shutdownTimeout: 200 }),
    );
    recorder = app.app.get(Recorder);
    logs = LogCapture.install();
    limits = listen<LimitEvent>(TELEMETRY.limit);
  });
  after(async () => {
    limits.stop();
    await app.close();
    logs.restore();
    guard.restore();
  });

  it('a join of a topic longer than maxTopicLength (255 characters) gets {"reason":"topic too long"} and reaches no channel; 255 characters join; 20 such joins log one line', async () => {
    const base = uniqueTopic('iso');
    const watcher = await bystander(app, base);
    const exact = `${base}:${'x'.repeat(255 - base.length - 1)}`;
    const long = `${exact}y`;
    const raw = await app.raw();
    const mark = logs.entries.length;
    const since = limits.events.length;
    for (let i = 0; i < 20; i++) raw.send([`${i}`, `${i}`, long, 'phx_join', {}]);
    const replies = await frames(raw, 20, 'the answers to the long joins');
    assert.deepEqual(replies, Array.from({ length: 20 }, (_, i) => refused(`${i}`, `${i}`, long, 'topic too long')));
    assert.deepEqual(await raw.join(exact, {}, 'e', 'e'), ok('e', 'e', exact), 'exactly 255 characters join');
    assert.deepEqual(recorder.of('join', long), [], 'no @Join ran for the long topic');
    assert.equal(lines(mark, 'maxTopicLength').length, 1, 'one log line for the connection');
    assert.equal(logs.since(mark).find((l) => l.message.includes('maxTopicLength'))?.level, 'warn');
    const events = hits('maxTopicLength', since);
    assert.equal(events.length, 20);
    assert.deepEqual({ ...events[0]!, peer: '' }, { limit: 'maxTopicLength', max: 255, action: 'reply', topic: long, peer: '', transport: 'websocket' });
    await assertAnswers(watcher, base, 'after the long topics');
    await guard.assertClean('topic length');
  });

  it('a join message over maxJoinPayloadSize (64 KiB) gets {"reason":"join payload too large"} and reaches no channel; one of exactly 65536 bytes joins', async () => {
    const topic = uniqueTopic('iso');
    const watcher = await bystander(app, topic);
    const frameOf = (bytes: number, ref: string) => {
      const empty = JSON.stringify([ref, ref, topic, 'phx_join', { pad: '' }]);
      return JSON.stringify([ref, ref, topic, 'phx_join', { pad: 'p'.repeat(bytes - empty.length) }]);
    };
    const raw = await app.raw();
    const since = limits.events.length;
    const over = frameOf(65537, 'o');
    assert.equal(Buffer.byteLength(over), 65537);
    raw.send(over);
    assert.deepEqual(await raw.nextJson(3000, 'the answer to the large join'), refused('o', 'o', topic, 'join payload too large'));
    assert.deepEqual(recorder.of('join', topic), ['object'], "only the bystander's join reached @Join");
    const exact = frameOf(65536, 'x');
    assert.equal(Buffer.byteLength(exact), 65536);
    raw.send(exact);
    assert.deepEqual(await raw.nextJson(3000, 'the answer to the join at the limit'), ok('x', 'x', topic));
    assert.deepEqual(
      hits('maxJoinPayloadSize', since).map((e) => [e.max, e.action, e.topic]),
      [[65536, 'reply', topic]],
    );
    await assertAnswers(watcher, topic, 'after the large join');
  });

  it('joins past maxJoinsPerSecond (5 here) get {"reason":"too many joins"}, one log line; the budget refills, and a phoenix client that was refused rejoins by itself', async () => {
    const base = uniqueTopic('iso');
    const raw = await app.raw();
    const mark = logs.entries.length;
    const since = limits.events.length;
    for (let i = 0; i < 8; i++) raw.send([`${i}`, `${i}`, `${base}-${i}`, 'phx_join', {}]);
    // Refusals are written at once, ahead of the replies of the (async) joins that went through.
    const replies = (await frames(raw, 8, 'the answers to a burst of 8 joins')).sort((x, y) => Number(x[1]) - Number(y[1]));
    assert.deepEqual(
      replies,
      Array.from({ length: 8 }, (_, i) => (i < 5 ? ok(`${i}`, `${i}`, `${base}-${i}`) : refused(`${i}`, `${i}`, `${base}-${i}`, 'too many joins'))),
    );
    assert.deepEqual(recorder.of('join', `${base}-6`), [], 'a refused join reaches no channel');
    assert.equal(lines(mark, 'maxJoinsPerSecond').length, 1);
    assert.equal(hits('maxJoinsPerSecond', since).length, 3);
    // 5 per second: 250 ms refill at least one join.
    await sleep(250);
    assert.deepEqual(await raw.join(`${base}-6`, {}, 'later', 'later'), ok('later', 'later', `${base}-6`));

    // phoenix.js treats the error reply as a failed join and rejoins after rejoinAfterMs (100 ms in these tests).
    const client = app.client();
    const channels = Array.from({ length: 8 }, (_, i) => client.channel(`${base}:pjs-${i}`));
    await Promise.all(channels.map((channel) => joined(channel, 10_000).catch(() => undefined)));
    await eventually(() => channels.every((channel) => channel.state === 'joined'), 'all 8 phoenix channels joined in the end', 10_000);
  });

  it('pushes past maxMessagesPerSecond (10 here) on one channel get {"reason":"too many messages"} and reach no handler; another channel of the connection keeps its own budget', async () => {
    const topic = uniqueTopic('iso');
    const other = uniqueTopic('iso');
    const watcher = await bystander(app, topic);
    const raw = await app.raw();
    assert.deepEqual(await raw.join(topic, {}, '1', '1'), ok('1', '1', topic));
    assert.deepEqual(await raw.join(other, {}, '2', '2'), ok('2', '2', other));
    const mark = logs.entries.length;
    const since = limits.events.length;
    for (let n = 0; n < 15; n++) raw.send(['1', `p${n}`, topic, 'count', { n }]);
    const replies = await frames(raw, 15, 'the answers to 15 pushes');
    assert.deepEqual(
      replies,
      Array.from({ length: 15 }, (_, n) => (n < 10 ? ok('1', `p${n}`, topic, { n }) : refused('1', `p${n}`, topic, 'too many messages'))),
    );
    assert.deepEqual(recorder.of('count', topic), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'the handler ran for the first 10 only');
    raw.send(['2', 'o', other, 'count', { n: 100 }]);
    assert.deepEqual(await raw.nextJson(3000, 'the other channel'), ok('2', 'o', other, { n: 100 }));
    assert.equal(lines(mark, 'maxMessagesPerSecond').length, 1);
    assert.deepEqual(
      hits('maxMessagesPerSecond', since).map((e) => [e.max, e.action, e.topic]),
      Array.from({ length: 5 }, () => [10, 'reply', topic]),
    );
    assert.equal(raw.closeCode, null);
    await assertAnswers(watcher, topic, 'after the flood');
  });

  it('client messages past maxPendingReplies (5 here) waiting over all channels of a connection get {"reason":"too many pending replies"}, pushes and joins alike; a leave still goes through', async () => {
    const a = uniqueTopic('iso');
    const b = uniqueTopic('iso');
    const c = uniqueTopic('iso');
    const raw = await app.raw();
    assert.deepEqual(await raw.join(a, {}, 'a', 'a'), ok('a', 'a', a));
    assert.deepEqual(await raw.join(b, {}, 'b', 'b'), ok('b', 'b', b));
    const since = limits.events.length;
    // The hanging handler holds the mailbox: what follows on `a` waits there.
    raw.send(['a', 'h', a, 'hang', {}]);
    for (let n = 0; n < 5; n++) raw.send(['a', `w${n}`, a, 'count', { n }]);
    raw.send(['a', 'x1', a, 'count', { n: 5 }]);
    raw.send(['b', 'x2', b, 'count', { n: 6 }]);
    raw.send(['c', 'x3', c, 'phx_join', {}]);
    raw.send(['b', 'l', b, 'phx_leave', {}]);
    assert.deepEqual(await frames(raw, 5, 'the refusals and the leave'), [
      refused('a', 'x1', a, 'too many pending replies'),
      refused('b', 'x2', b, 'too many pending replies'),
      refused('c', 'x3', c, 'too many pending replies'),
      ok('b', 'l', b),
      ['b', 'b', b, 'phx_close', {}],
    ]);
    assert.deepEqual(recorder.of('count', a), [], 'the five waiting pushes wait');
    assert.deepEqual(recorder.of('count', b), [], 'the refused push reached no handler');
    assert.deepEqual(recorder.of('join', c), [], 'the refused join reached no channel');
    assert.deepEqual(
      hits('maxPendingReplies', since).map((e) => [e.max, e.action, e.topic]),
      [
        [5, 'reply', a],
        [5, 'reply', b],
        [5, 'reply', c],
      ],
    );
    raw.terminate();
    await eventually(() => recorder.of('terminate', a).length === 1, 'the hanging channel ends with its connection');
  });

  it('a frame over maxFrameSize (1 MiB) closes its connection with 1009 and is a limit event', async () => {
    const raw = await app.raw();
    const since = limits.events.length;
    raw.send(['1', '1', uniqueTopic('iso'), 'phx_join', { pad: 'x'.repeat(1024 * 1024) }]);
    assert.equal(await raw.closedWith(5000), 1009);
    await eventually(() => hits('maxFrameSize', since).length === 1, 'the maxFrameSize event');
    assert.deepEqual(
      hits('maxFrameSize', since).map((e) => [e.max, e.action, e.transport]),
      [[1024 * 1024, 'close', 'websocket']],
    );
  });
});

describe('limits with their own settings (issue 15)', () => {
  let guard: ProcessGuard;
  let logs: LogCapture;
  let limits: Listening<LimitEvent>;
  const apps: TestApp[] = [];

  before(() => {
    guard = ProcessGuard.install();
  });
  after(async () => {
    limits?.stop();
    await Promise.all(apps.map((app) => app.close()));
    logs?.restore();
    guard.restore();
  });

  async function start(options: Parameters<typeof IsolationFixtures.app>[0]): Promise<TestApp> {
    const app = await startApp(IsolationFixtures.app(options));
    apps.push(app);
    logs?.restore();
    logs = LogCapture.install();
    limits?.stop();
    limits = listen<LimitEvent>(TELEMETRY.limit);
    return app;
  }

  it('with messageRateExceeded "close", the push past maxMessagesPerSecond closes its connection with 1008 "too many messages"; a bystander goes on', async () => {
    const app = await start({ maxMessagesPerSecond: 10, messageRateExceeded: 'close' });
    const topic = uniqueTopic('iso');
    const watcher = await bystander(app, topic);
    const raw = await app.raw();
    assert.deepEqual(await raw.join(topic, {}, '1', '1'), ok('1', '1', topic));
    for (let n = 0; n < 11; n++) raw.send(['1', `p${n}`, topic, 'count', { n }]);
    assert.deepEqual(await frames(raw, 10, 'the first 10 replies'), Array.from({ length: 10 }, (_, n) => ok('1', `p${n}`, topic, { n })));
    assert.equal(await raw.closedWith(3000), 1008);
    assert.equal(raw.closeReason, 'too many messages');
    assert.deepEqual(limits.events.map((e) => [e.limit, e.action]), [['maxMessagesPerSecond', 'close']]);
    assert.equal(logs.find('warn', /exceeded maxMessagesPerSecond \(10\) on .*: closing the connection with 1008/).length, 1);
    await assertAnswers(watcher, topic, 'after the close');
    await guard.assertClean('message rate close');
  });

  it('a channel left and joined again, or joined again while joined, keeps the message budget it had: rejoining is no way around maxMessagesPerSecond', async () => {
    // One message per 5 s: the budget of one message is spent by the first push and stays spent for the test.
    const app = await start({ maxMessagesPerSecond: 0.2 });
    const topic = uniqueTopic('iso');
    const raw = await app.raw();
    assert.deepEqual(await raw.join(topic, {}, '1', '1'), ok('1', '1', topic));
    raw.send(['1', 'a', topic, 'count', { n: 1 }]);
    assert.deepEqual(await raw.nextJson(3000, 'the first push'), ok('1', 'a', topic, { n: 1 }));
    raw.send(['1', 'b', topic, 'count', { n: 2 }]);
    assert.deepEqual(await raw.nextJson(3000, 'the second push'), refused('1', 'b', topic, 'too many messages'));

    raw.send(['1', 'l', topic, 'phx_leave', {}]);
    assert.deepEqual(await frames(raw, 2, 'the leave'), [ok('1', 'l', topic), ['1', '1', topic, 'phx_close', {}]]);
    assert.deepEqual(await raw.join(topic, {}, '2', '2'), ok('2', '2', topic));
    raw.send(['2', 'c', topic, 'count', { n: 3 }]);
    assert.deepEqual(await raw.nextJson(3000, 'a push after leaving and rejoining'), refused('2', 'c', topic, 'too many messages'));

    raw.send(['3', '3', topic, 'phx_join', {}]);
    assert.deepEqual(await frames(raw, 2, 'the duplicate join'), [ok('3', '3', topic), ['2', '2', topic, 'phx_close', {}]]);
    raw.send(['3', 'd', topic, 'count', { n: 4 }]);
    assert.deepEqual(await raw.nextJson(3000, 'a push after a duplicate join'), refused('3', 'd', topic, 'too many messages'));
    assert.deepEqual(app.app.get(Recorder).of('count', topic), [1]);
  });

  it('joins past maxChannelsPerSocket (2 here) get {"reason":"too many channels joined"}, logged once at error for the connection (P-22)', async () => {
    const app = await start({ maxChannelsPerSocket: 2 });
    const base = uniqueTopic('iso');
    const raw = await app.raw();
    for (let i = 0; i < 5; i++) raw.send([`${i}`, `${i}`, `${base}-${i}`, 'phx_join', {}]);
    assert.deepEqual(
      (await frames(raw, 5, 'the answers to 5 joins')).sort((x, y) => Number(x[1]) - Number(y[1])),
      Array.from({ length: 5 }, (_, i) => (i < 2 ? ok(`${i}`, `${i}`, `${base}-${i}`) : refused(`${i}`, `${i}`, `${base}-${i}`, 'too many channels joined'))),
    );
    const logged = logs.find(null, /exceeded maxChannelsPerSocket \(2\)/);
    assert.deepEqual(logged.map((l) => l.level), ['error']);
    assert.deepEqual(limits.events.map((e) => [e.limit, e.max, e.action]), Array.from({ length: 3 }, () => ['maxChannelsPerSocket', 2, 'reply']));
  });

  it('over long-poll, a frame over maxFrameSize ends the session (408, then 410), and a session past longpoll.maxSessions gets 503; both are limit events', async () => {
    const app = await start({ maxFrameSize: 2048, longpoll: { maxSessions: 1 } });
    const topic = uniqueTopic('iso');
    const token = await lpSession(app.httpBase);
    const big = ['1', '1', topic, 'phx_join', { pad: 'x'.repeat(2048) }];
    assert.deepEqual((await lpPost(app.httpBase, { token, lines: [big] })).json, { status: 408 });
    assert.equal((await lpGet(app.httpBase, { token })).json?.status, 410, 'the session is gone');
    assert.equal(logs.find('warn', /long-poll frame from .* is over maxFrameSize \(2048 bytes\)/).length, 1);
    // The 410 above opened a new session (a poll on a gone session does): the node is full now.
    assert.equal((await lpGet(app.httpBase)).http, 503);
    assert.deepEqual(
      limits.events.map((e) => [e.limit, e.max, e.action, e.transport]),
      [
        ['maxFrameSize', 2048, 'close', 'longpoll'],
        ['longpoll.maxSessions', 1, 'refuse', 'longpoll'],
      ],
    );
  });
});
