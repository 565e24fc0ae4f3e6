/**
 * Failures stay where they happen (issue 3, "Must show"; issue 2, "Must
 * show"): a throwing handler crashes only its channel while fifty others on
 * the same connection keep talking, and a malformed frame closes only its
 * sender's connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Channel } from 'phoenix';
import { BehaviourFixtures } from '../fixtures/behaviour.channels.js';
import { Recorder } from '../fixtures/recorder.js';
import { LogCapture } from '../support/log-capture.js';
import { closeCodesOf, eventually, framesOf, joined, outcome, uniqueTopic } from '../support/phoenix-helpers.js';
import { startApp, type TestApp } from '../support/test-app.js';

const CHANNELS = 50;
const ROUNDS = 6;
const PER_ROUND = 10;

describe('isolation', () => {
  let app: TestApp;
  let recorder: Recorder;
  let logs: LogCapture;

  before(async () => {
    app = await startApp(BehaviourFixtures.channels());
    recorder = app.app.get(Recorder);
    logs = LogCapture.install();
  });
  after(async () => {
    await app.close();
    logs.restore();
  });

  it(`a handler that throws crashes only its channel while ${CHANNELS} others on the same connection keep exchanging messages, none lost or reordered (P-35)`, async () => {
    const socket = app.client();
    const frames = framesOf(socket);
    const thrower = socket.channel(uniqueTopic('room'));
    const others: Channel[] = Array.from({ length: CHANNELS }, () => socket.channel(uniqueTopic('room')));
    const errored = new Map<string, number>();
    for (const channel of [thrower, ...others]) {
      channel.onError(() => {
        errored.set(channel.topic, (errored.get(channel.topic) ?? 0) + 1);
      });
    }
    await Promise.all([thrower, ...others].map((channel) => joined(channel, 5000)));

    // Every channel pipelines PER_ROUND pings per round, without waiting for replies; half of the
    // channels use an async handler with a varying delay, so the mailboxes really queue.
    let sent = 0;
    const exchange = async (channel: Channel, index: number) => {
      for (let round = 0; round < ROUNDS; round++) {
        const pushes = [];
        for (let i = 0; i < PER_ROUND; i++) {
          const seq = round * PER_ROUND + i;
          const payload = { seq, delay: (seq * 7 + index) % 4 };
          pushes.push(outcome(channel.push(index % 2 === 0 ? 'ping' : 'slow_ping', payload), 5000, `${channel.topic} seq ${seq}`));
          sent++;
        }
        for (const result of await Promise.all(pushes)) assert.equal(result.status, 'ok');
      }
    };
    const exchanging = Promise.all(others.map(exchange));
    await eventually(() => sent >= (CHANNELS * PER_ROUND * 2), 'the exchange is under way', 5000);
    const crashed = outcome(thrower.push('crash', {}, 500), 1000, 'the crash push').catch(() => undefined);
    await exchanging;
    await crashed;

    assert.deepEqual([...errored.entries()], [[thrower.topic, 1]], 'only the thrower saw phx_error');
    for (const channel of others) {
      const replies = frames.filter((f) => f.topic === channel.topic && f.event === 'phx_reply' && f.payload.response?.seq !== undefined);
      assert.deepEqual(
        replies.map((f) => f.payload.response.seq),
        Array.from({ length: ROUNDS * PER_ROUND }, (_, seq) => seq),
        `${channel.topic}: every reply, in send order`,
      );
      assert.deepEqual(recorder.of('terminate', channel.topic), [], `${channel.topic} is still joined`);
    }
    assert.equal(frames.filter((f) => f.event === 'phx_error').length, 1);
    const errorAt = frames.findIndex((f) => f.event === 'phx_error');
    const repliesAfter = frames.slice(errorAt).filter((f) => f.topic !== thrower.topic && f.event === 'phx_reply').length;
    assert.ok(repliesAfter >= CHANNELS * PER_ROUND, `the others kept talking after the crash (${repliesAfter} replies after it)`);
    assert.deepEqual(recorder.of('terminate', thrower.topic), [{ error: 'handler exploded' }]);
    assert.equal(logs.find('error', /RoomChannel\.crash crashed/).length, 1);

    // The thrower's rejoin succeeds and it serves again.
    await eventually(() => recorder.of('join', thrower.topic).length === 2, 'phoenix.js rejoined the thrower');
    assert.deepEqual(await outcome(thrower.push('ping', { back: true })), { status: 'ok', response: { back: true } });
    assert.ok(socket.isConnected());
  });

  it('a malformed frame closes only its sender connection with 1011; other clients, on the same topic too, carry on', async () => {
    const topic = uniqueTopic('room');
    const bystander = app.client();
    const bystanderCodes = closeCodesOf(bystander);
    const channel = bystander.channel(topic);
    await joined(channel);
    const sender = await app.raw();
    await sender.join(topic, {}, '1');
    const listener = await app.raw();
    await listener.join(topic, {}, '1');

    sender.send('this is not a Phoenix frame');
    assert.equal(await sender.closedWith(2000), 1011);
    assert.deepEqual(await sender.nothingFor(0), [], 'no reply to the malformed frame');

    assert.deepEqual(await outcome(channel.push('broadcast', { event: 'shout', body: 'still here' })), { status: 'ok', response: {} });
    assert.deepEqual(await listener.nextJson(2000, 'the broadcast at the raw listener'), [null, null, topic, 'shout', { body: 'still here' }]);
    assert.deepEqual(bystanderCodes, []);
    await eventually(() => recorder.of('terminate', topic).length === 1, "the sender's channel terminated");
    assert.deepEqual(recorder.of('terminate', topic), [{ shutdown: 'closed' }]);
  });
});
