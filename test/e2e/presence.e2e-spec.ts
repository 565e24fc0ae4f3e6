/**
 * Presence on one node, through real sockets, the real `phoenix` client and
 * its `Presence` class: the wire (P-77..P-82), the client's callbacks, every
 * way a channel ends (P-59 included), and the server-side API.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Channel, Socket } from 'phoenix';
import { ChannelsEndpoint, ERROR_CODE, Presence, type ChannelSocket, type Presences } from '../../lib/index.js';
import { ChannelTest } from '../../lib/testing/index.js';
import { PresenceChannel } from '../fixtures/presence/presence.channel.js';
import { PresenceFixtures, PresenceWatcher } from '../fixtures/presence/presence.fixtures.js';
import { Recorder } from '../fixtures/recorder.js';
import { TestSocket } from '../fixtures/test.socket.js';
import { LogCapture } from '../support/log-capture.js';
import { eventually, framesOf, joinRefOf, joined, outcome, sleep, uniqueTopic, type ClientFrame } from '../support/phoenix-helpers.js';
import { plain, watchPresence, type WatchedPresence } from '../support/presence-helpers.js';
import { startApp, type TestApp } from '../support/test-app.js';

const REF = /^[A-Za-z0-9_-]{16}$/;

interface Member {
  socket: Socket;
  channel: Channel;
  presence: WatchedPresence;
  frames: ClientFrame[];
}

/** A client joining `topic` as `user` (tracked after the join unless `track: false`), with a client Presence. */
async function member(app: TestApp, topic: string, user: string | number, params: Record<string, unknown> = {}, vsn: '1.0.0' | '2.0.0' = '2.0.0'): Promise<Member> {
  const socket = app.client({ vsn, params: { user: String(user), ...(params.id ? { id: params.id as string } : {}) } });
  const frames = framesOf(socket, topic);
  const channel = socket.channel(topic, { user, ...params });
  const presence = watchPresence(channel);
  await joined(channel);
  await eventually(() => frames.some((f) => f.event === 'presence_state'), `presence_state for ${user} on ${topic}`);
  return { socket, channel, presence, frames };
}

function diffs(frames: ClientFrame[]): ClientFrame[] {
  return frames.filter((frame) => frame.event === 'presence_diff');
}

async function nextDiff(frames: ClientFrame[], seen: number, what: string): Promise<ClientFrame> {
  await eventually(() => diffs(frames).length > seen, what);
  return diffs(frames)[seen]!;
}

async function ok(channel: Channel, event: string, payload: object = {}): Promise<any> {
  const { status, response } = await outcome(channel.push(event, payload), 3000, event);
  assert.equal(status, 'ok', `${event} answered ${status}: ${JSON.stringify(response)}`);
  return response;
}

async function refused(channel: Channel, event: string, payload: object = {}): Promise<any> {
  const { status, response } = await outcome(channel.push(event, payload), 3000, event);
  assert.equal(status, 'error', `${event} answered ${status}`);
  return response;
}

for (const vsn of ['1.0.0', '2.0.0'] as const) {
  describe(`Presence on the wire (vsn ${vsn})`, () => {
    let app: TestApp;
    before(async () => {
      app = await startApp(PresenceFixtures.app());
    });
    after(() => app.close());

    it('pushes presence_state {key: {metas: [{...meta, phx_ref}]}} with string keys after tracking (P-77)', async () => {
      const topic = uniqueTopic('presence');
      const a = await member(app, topic, 42, { meta: { status: 'online', online_at: 1700000000 } }, vsn);
      const state = a.frames.find((frame) => frame.event === 'presence_state')!;
      assert.equal(state.join_ref, vsn === '2.0.0' ? joinRefOf(a.channel) : null, 'pushed on the channel (its join_ref on V2)');
      assert.equal(state.ref, null);
      assert.deepEqual(Object.keys(state.payload), ['42'], 'the number key became the string "42"');
      const [meta] = state.payload['42'].metas;
      assert.match(meta.phx_ref, REF);
      assert.deepEqual(state.payload, { 42: { metas: [{ status: 'online', online_at: 1700000000, phx_ref: meta.phx_ref }] } });
      await eventually(() => a.presence.view()['42']?.length === 1, 'the client lists 42');
      assert.deepEqual(a.presence.view(), { 42: [meta.phx_ref] });
    });

    it('sends a track to every other subscriber as presence_diff {joins: {key: {metas}}, leaves: {}} with join_ref null (P-78)', async () => {
      const topic = uniqueTopic('presence');
      const a = await member(app, topic, 'u1', {}, vsn);
      const seen = diffs(a.frames).length;
      const b = await member(app, topic, 'u2', { meta: { device: 'phone' } }, vsn);
      const bRef = b.frames.find((f) => f.event === 'presence_state')!.payload.u2.metas[0].phx_ref;
      let diff = await nextDiff(a.frames, seen, 'the diff of u2 joining');
      // a's own join diff may come first (it was flushed after a's presence_state).
      if (diff.payload.joins.u1 !== undefined) diff = await nextDiff(a.frames, seen + 1, 'the diff of u2 joining');
      assert.equal(diff.join_ref, null, 'fastlaned broadcast');
      assert.equal(diff.ref, null);
      assert.deepEqual(diff.payload, { joins: { u2: { metas: [{ device: 'phone', phx_ref: bRef }] } }, leaves: {} });
      await eventually(() => Object.keys(a.presence.view()).length === 2, 'a lists u1 and u2');
      assert.deepEqual(a.presence.view().u2, [bRef]);
    });

    it('sends the same phx_ref under leaves for an untrack, a channel leave and a connection close (P-79, P-59)', async () => {
      const topic = uniqueTopic('presence');
      const watcher = await member(app, topic, 'w', { track: false }, vsn);
      const leaving = await member(app, topic, 'u1', {}, vsn);
      const leavingRef = leaving.frames.find((f) => f.event === 'presence_state')!.payload.u1.metas[0].phx_ref;
      const extra = (await ok(leaving.channel, 'track', { key: 'u1-extra', meta: { n: 1 } })).ref as string;
      const closing = await member(app, topic, 'u2', {}, vsn);
      const closingRef = closing.frames.find((f) => f.event === 'presence_state')!.payload.u2.metas[0].phx_ref;
      await eventually(() => Object.keys(watcher.presence.view()).length === 3, 'the watcher lists u1, u1-extra and u2');

      const leftOf = (ref: string) => (frame: ClientFrame) =>
        Object.values(frame.payload.leaves as Presences).some((p) => p.metas.some((m) => m.phx_ref === ref));
      await ok(leaving.channel, 'untrack', { key: 'u1-extra' });
      await eventually(() => diffs(watcher.frames).some(leftOf(extra)), 'the leave of the untracked key');
      assert.deepEqual(diffs(watcher.frames).find(leftOf(extra))!.payload, { joins: {}, leaves: { 'u1-extra': { metas: [{ n: 1, phx_ref: extra }] } } });

      await outcome(leaving.channel.leave(), 3000, 'leave');
      await eventually(() => diffs(watcher.frames).some(leftOf(leavingRef)), 'the leave of the channel that left');
      assert.deepEqual(diffs(watcher.frames).find(leftOf(leavingRef))!.payload, { joins: {}, leaves: { u1: { metas: [{ phx_ref: leavingRef }] } } });

      closing.socket.disconnect();
      await eventually(() => diffs(watcher.frames).some(leftOf(closingRef)), 'the leave of the closed connection');
      assert.deepEqual(diffs(watcher.frames).find(leftOf(closingRef))!.payload, { joins: {}, leaves: { u2: { metas: [{ phx_ref: closingRef }] } } });
      assert.deepEqual(watcher.presence.view(), {});
      assert.deepEqual(app.app.get(Recorder).of('terminate', topic).filter((r) => (r as { shutdown?: string })?.shutdown === 'closed').length, 1);
    });

    it('sends an update as one diff: the new meta (new phx_ref, phx_ref_prev) in joins, the old in leaves (P-80)', async () => {
      const topic = uniqueTopic('presence');
      const watcher = await member(app, topic, 'w', { track: false }, vsn);
      const a = await member(app, topic, 'u1', { meta: { status: 'online' } }, vsn);
      const oldRef = a.frames.find((f) => f.event === 'presence_state')!.payload.u1.metas[0].phx_ref;
      await eventually(() => watcher.presence.view().u1?.length === 1, 'the watcher lists u1');
      const seen = diffs(watcher.frames).length;
      const events = watcher.presence.events.length;
      const { ref: newRef } = await ok(a.channel, 'update', { meta: { status: 'away' } });
      assert.notEqual(newRef, oldRef);
      const diff = await nextDiff(watcher.frames, seen, 'the update diff');
      assert.deepEqual(diff.payload, {
        joins: { u1: { metas: [{ status: 'away', phx_ref: newRef, phx_ref_prev: oldRef }] } },
        leaves: { u1: { metas: [{ status: 'online', phx_ref: oldRef }] } },
      });
      await sleep(50);
      assert.equal(diffs(watcher.frames).length, seen + 1, 'exactly one diff');
      assert.deepEqual(watcher.presence.events.slice(events), [
        { kind: 'join', key: 'u1', current: [oldRef], refs: [newRef] },
        { kind: 'leave', key: 'u1', current: [newRef], refs: [oldRef] },
        { kind: 'sync' },
      ]);
      assert.deepEqual(watcher.presence.metas(), { u1: [{ status: 'away', phx_ref: newRef, phx_ref_prev: oldRef }] });
    });

    it('refuses a second track of a tracked key, and update or untrack of an untracked one, changing nothing (P-81)', async () => {
      const topic = uniqueTopic('presence');
      const watcher = await member(app, topic, 'w', { track: false }, vsn);
      const a = await member(app, topic, 'u1', {}, vsn);
      await eventually(() => watcher.presence.view().u1?.length === 1, 'the watcher lists u1');
      const seen = diffs(watcher.frames).length;
      assert.equal((await refused(a.channel, 'track', { key: 'u1' })).code, ERROR_CODE.alreadyTracked);
      assert.equal((await refused(a.channel, 'update', { key: 'nobody', meta: {} })).code, ERROR_CODE.noPresence);
      assert.equal((await refused(a.channel, 'untrack', { key: 'nobody' })).code, ERROR_CODE.noPresence);
      const before = await ok(a.channel, 'list');
      await sleep(50);
      assert.equal(diffs(watcher.frames).length, seen, 'no diff');
      assert.deepEqual(Object.keys(before), ['u1']);
      assert.equal(before.u1.metas.length, 1);
    });

    it('lists two clients under one key as one key with two metas, on the wire and in Presence.list() (P-82)', async () => {
      const topic = uniqueTopic('presence');
      const laptop = await member(app, topic, 'alice', { meta: { device: 'laptop' } }, vsn);
      const phone = await member(app, topic, 'alice', { meta: { device: 'phone' } }, vsn);
      const state = phone.frames.find((f) => f.event === 'presence_state')!.payload;
      assert.deepEqual(Object.keys(state), ['alice']);
      assert.deepEqual(state.alice.metas.map((m: { device: string }) => m.device), ['laptop', 'phone'], 'metas in tracking order');
      for (const client of [laptop, phone]) {
        await eventually(() => client.presence.view().alice?.length === 2, 'the client lists alice with two metas');
        const listed = client.presence.presence.list((key: string, entry: any) => ({ key, devices: entry.metas.map((m: any) => m.device) }));
        assert.deepEqual(listed, [{ key: 'alice', devices: ['laptop', 'phone'] }]);
      }
    });
  });
}

describe('Presence: the client callbacks fire as against Phoenix', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(PresenceFixtures.app());
  });
  after(() => app.close());

  it('joins, a second device, an update in place and two leaves: onJoin, onLeave, onSync in order with the right metas', async () => {
    const topic = uniqueTopic('presence');
    const watcher = await member(app, topic, 'w', { track: false });
    await eventually(() => watcher.presence.events.length === 1, 'the first sync');
    assert.deepEqual(watcher.presence.events, [{ kind: 'sync' }], 'an empty state: onSync only');
    const stateRef = (m: Member, key: string) => m.frames.find((f) => f.event === 'presence_state')!.payload[key].metas.at(-1).phx_ref;

    const one = await member(app, topic, 'u1', { meta: { device: 'laptop' } });
    const r1 = stateRef(one, 'u1');
    await eventually(() => watcher.presence.events.length === 3, 'u1 joined');
    const two = await member(app, topic, 'u1', { meta: { device: 'phone' } });
    const r2 = stateRef(two, 'u1');
    await eventually(() => watcher.presence.events.length === 5, 'the second device joined');
    const { ref: r3 } = await ok(one.channel, 'update', { merge: { status: 'away' } });
    await eventually(() => watcher.presence.events.length === 8, 'the update');
    await outcome(two.channel.leave(), 3000, 'leave');
    await eventually(() => watcher.presence.events.length === 10, 'the phone left');
    one.socket.disconnect();
    await eventually(() => watcher.presence.events.length === 12, 'the laptop left');

    assert.deepEqual(watcher.presence.events, [
      { kind: 'sync' },
      { kind: 'join', key: 'u1', current: null, refs: [r1] },
      { kind: 'sync' },
      { kind: 'join', key: 'u1', current: [r1], refs: [r2] },
      { kind: 'sync' },
      // The update: joins first (the new meta goes last, the old ones stay in front), then the leave of the old.
      { kind: 'join', key: 'u1', current: [r1, r2], refs: [r3] },
      { kind: 'leave', key: 'u1', current: [r2, r3], refs: [r1] },
      { kind: 'sync' },
      { kind: 'leave', key: 'u1', current: [r3], refs: [r2] },
      { kind: 'sync' },
      { kind: 'leave', key: 'u1', current: [], refs: [r3] },
      { kind: 'sync' },
    ]);
    assert.deepEqual(watcher.presence.view(), {});
  });

  it('keeps a key such as __proto__ an ordinary key on the server and in the client', async () => {
    const topic = uniqueTopic('presence');
    const watcher = await member(app, topic, 'w', { track: false });
    const odd = await member(app, topic, '__proto__');
    await eventually(() => watcher.presence.view()['__proto__']?.length === 1, 'the watcher lists __proto__');
    const listed = await app.app.get(Presence).list(topic);
    assert.deepEqual(Object.keys(listed), ['__proto__']);
    assert.equal(Object.getPrototypeOf(listed), null);
    odd.socket.disconnect();
    await eventually(() => Object.keys(watcher.presence.view()).length === 0, '__proto__ left');
  });
});

describe('Presence: a channel that ends, however it ends, untracks its presences', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(PresenceFixtures.app());
  });
  after(() => app.close());

  const cases: Array<{ name: string; end: (m: Member, app: TestApp, topic: string) => Promise<void> }> = [
    { name: 'a crash (phx_error)', end: async (m) => void m.channel.push('crash', {}, 200) },
    { name: 'stop(normal)', end: async (m) => void m.channel.push('stop', {}, 200) },
    { name: 'a leave', end: async (m) => void m.channel.leave() },
    { name: 'a closed connection (P-59)', end: async (m) => m.socket.disconnect() },
    { name: 'a disconnect broadcast on the socket id', end: async (_m, app) => app.app.get(ChannelsEndpoint).disconnect('presence-sock') },
  ];

  for (const { name, end } of cases) {
    it(`${name}: the other clients see its presences leave`, async () => {
      const topic = uniqueTopic('presence');
      const watcher = await member(app, topic, 'w', { track: false });
      const doomed = await member(app, topic, 'doomed', { id: 'presence-sock' });
      const second = (await ok(doomed.channel, 'track', { key: 'doomed-2', meta: {} })).ref as string;
      const first = doomed.frames.find((f) => f.event === 'presence_state')!.payload.doomed.metas[0].phx_ref;
      await eventually(() => Object.keys(watcher.presence.view()).length === 2, 'the watcher lists both keys');
      const seen = diffs(watcher.frames).length;
      await end(doomed, app, topic);
      await eventually(
        () => !JSON.stringify(watcher.presence.view()).includes(first) && !JSON.stringify(watcher.presence.view()).includes(second),
        'both presences of the ended channel left the watcher',
      );
      const leaves = diffs(watcher.frames).slice(seen).filter((f) => Object.keys(f.payload.leaves).length > 0);
      assert.deepEqual(leaves[0]!.payload.leaves, { doomed: { metas: [{ phx_ref: first }] }, 'doomed-2': { metas: [{ phx_ref: second }] } }, 'one diff for both');
      const server = await app.app.get(Presence).list(topic);
      assert.equal(JSON.stringify(server).includes(first), false, 'gone from the server list too');
    });
  }

  it('a duplicate join of the topic on one connection: the presence of the replaced channel leaves, the new one is tracked (P-24)', async () => {
    const topic = uniqueTopic('presence');
    const watcher = await member(app, topic, 'w', { track: false });
    const raw = await app.raw({ query: 'vsn=2.0.0&user=raw' });
    const reply = await raw.join(topic, { user: 'first' }, '1');
    assert.equal(reply[4].status, 'ok');
    await eventually(() => watcher.presence.view().first?.length === 1, 'the first join is tracked');
    const firstRef = watcher.presence.view().first![0]!;
    raw.send(['2', '2', topic, 'phx_join', { user: 'second' }]);
    await eventually(() => watcher.presence.view().second?.length === 1 && watcher.presence.view().first === undefined, 'first left, second joined');
    const leaves = diffs(watcher.frames).filter((f) => f.payload.leaves.first !== undefined);
    assert.deepEqual(leaves.map((f) => f.payload.leaves), [{ first: { metas: [{ phx_ref: firstRef }] } }]);
    assert.deepEqual(app.app.get(Recorder).of('terminate', topic), [{ shutdown: 'duplicate_join' }]);
  });

  it('a crashed channel that phoenix.js rejoins is tracked again with a new phx_ref', async () => {
    const topic = uniqueTopic('presence');
    const watcher = await member(app, topic, 'w', { track: false });
    const crashing = await member(app, topic, 'phoenix');
    await eventually(() => watcher.presence.view().phoenix?.length === 1, 'listed');
    const before = watcher.presence.view().phoenix![0]!;
    const capture = LogCapture.install();
    try {
      crashing.channel.push('crash', {}, 200);
      await eventually(() => watcher.presence.view().phoenix === undefined, 'the crash untracked it');
      await eventually(() => watcher.presence.view().phoenix?.length === 1, 'the rejoin tracked it again', 5000);
    } finally {
      capture.restore();
    }
    assert.notEqual(watcher.presence.view().phoenix![0], before);
    await eventually(() => crashing.presence.view().phoenix?.length === 1, 'the rejoined client lists itself');
  });

  it('tracking on a channel that has ended is refused with ERR_CHANNELS_CLOSED', async () => {
    const topic = uniqueTopic('presence');
    const m = await member(app, topic, 'gone');
    await outcome(m.channel.leave(), 3000, 'leave');
    const socket = app.app.get(Recorder).of('socket', topic)[0] as ChannelSocket;
    await eventually(() => app.app.get(Recorder).of('terminate', topic).length === 1, 'terminated');
    await assert.rejects(app.app.get(Presence).track(socket, 'late', {}), { code: ERROR_CODE.closed });
    assert.deepEqual(Object.keys(await app.app.get(Presence).list(topic)), []);
  });
});

describe('Presence from server code', () => {
  let app: TestApp;
  afterEach(async () => {
    await app?.close();
  });

  it('tracks, updates and untracks topic entries, lists them outside channels, and tells observers (handle_metas)', async () => {
    app = await startApp(PresenceFixtures.app());
    const presence = app.app.get(Presence);
    const watcherService = app.app.get(PresenceWatcher);
    const topic = uniqueTopic('presence');
    const client = await member(app, topic, 'w', { track: false });
    const ref = await presence.track(topic, 7, { role: 'bot' });
    await eventually(() => client.presence.view()['7']?.length === 1, 'the client lists the bot');
    assert.deepEqual(plain(await presence.list(topic)), { 7: { metas: [{ role: 'bot', phx_ref: ref }] } });
    assert.deepEqual(plain(await presence.getByKey(topic, '7')), { metas: [{ role: 'bot', phx_ref: ref }] });
    assert.equal(await presence.getByKey(topic, 'nobody'), null);
    await assert.rejects(presence.track(topic, '7', {}), (error: any) => error.code === ERROR_CODE.alreadyTracked && /already tracks key "7"/.test(error.message));
    const updated = await presence.update(topic, 7, (current) => ({ ...current, role: 'admin' }));
    await eventually(() => client.presence.metas()['7']?.[0]?.role === 'admin', 'the client sees the update');
    await presence.untrack(topic, 7);
    await eventually(() => client.presence.view()['7'] === undefined, 'the client sees the untrack');
    await assert.rejects(presence.untrack(topic, 7), { code: ERROR_CODE.noPresence });
    await assert.rejects(presence.update(topic, 7, {}), { code: ERROR_CODE.noPresence });

    await eventually(() => watcherService.of(topic).length === 3, 'three changes observed');
    const [joined_, update, left] = watcherService.of(topic);
    assert.deepEqual(plain(joined_!.joins), { 7: { metas: [{ role: 'bot', phx_ref: ref }] } });
    assert.deepEqual(plain(joined_!.presences), { 7: { metas: [{ role: 'bot', phx_ref: ref }] } });
    assert.deepEqual(plain(update!.joins), { 7: { metas: [{ role: 'admin', phx_ref: updated, phx_ref_prev: ref }] } });
    assert.deepEqual(plain(update!.leaves), { 7: { metas: [{ role: 'bot', phx_ref: ref }] } });
    assert.deepEqual(plain(update!.presences), { 7: { metas: [{ role: 'admin', phx_ref: updated, phx_ref_prev: ref }] } });
    assert.deepEqual(plain(left!.presences), {});
  });

  it('rejects bad arguments with ERR_CHANNELS_INVALID_ARGUMENT or ERR_CHANNELS_SERIALIZATION and changes nothing', async () => {
    app = await startApp(PresenceFixtures.app());
    const presence = app.app.get(Presence);
    const topic = uniqueTopic('presence');
    await assert.rejects(presence.track('', 'k', {}), { code: ERROR_CODE.invalidArgument });
    await assert.rejects(presence.track(42 as unknown as string, 'k', {}), { code: ERROR_CODE.invalidArgument });
    await assert.rejects(presence.track(topic, { id: 1 } as unknown as string, {}), { code: ERROR_CODE.invalidArgument });
    await assert.rejects(presence.track(topic, 'k', [] as unknown as Record<string, unknown>), { code: ERROR_CODE.invalidArgument });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await assert.rejects(presence.track(topic, 'k', cyclic), { code: ERROR_CODE.serialization });
    await presence.track(topic, 'k', {});
    await assert.rejects(
      presence.update(topic, 'k', () => {
        throw new Error('no');
      }),
      { code: ERROR_CODE.invalidArgument },
    );
    assert.throws(() => presence.subscribe('room:*:x', () => {}), { code: ERROR_CODE.invalidArgument });
    const listed = await presence.list(topic);
    assert.deepEqual(Object.keys(listed), ['k']);
    assert.equal(listed.k!.metas[0]!.phx_ref_prev, undefined, 'the failed update changed nothing');
    assert.throws(() => {
      (listed.k!.metas[0] as Record<string, unknown>).status = 'mutated';
    }, TypeError, 'metas are frozen');
  });

  it('applies fetch once per diff, not per subscriber, to presence_state and presence_diff (fetch/2)', async () => {
    const calls: Array<{ topic: string; keys: string[] }> = [];
    app = await startApp(
      PresenceFixtures.app({
        presence: {
          fetch: async (topic, presences) => {
            calls.push({ topic, keys: Object.keys(presences) });
            await sleep(5);
            const out: Presences = {};
            for (const [key, entry] of Object.entries(presences)) out[key] = { ...entry, user: { name: `User ${key}` } };
            return out;
          },
        },
      }),
    );
    const topic = uniqueTopic('presence');
    const watchers = await Promise.all([1, 2, 3].map((n) => member(app, topic, `w${n}`, { track: false })));
    calls.length = 0;
    const seen = watchers.map((w) => diffs(w.frames).length);
    const a = await member(app, topic, 'u1');
    const state = a.frames.find((f) => f.event === 'presence_state')!.payload;
    assert.deepEqual(state.u1.user, { name: 'User u1' }, 'presence_state went through fetch');
    const diff = await nextDiff(watchers[0]!.frames, seen[0]!, 'the join diff');
    assert.deepEqual(diff.payload.joins.u1.user, { name: 'User u1' }, 'presence_diff went through fetch');
    await Promise.all(watchers.map((w, i) => nextDiff(w.frames, seen[i]!, 'the join diff')));
    await sleep(50);
    // One call for the list that a's after-join pushed, one for the diff: not one per subscriber.
    assert.deepEqual(calls, [
      { topic, keys: ['u1'] },
      { topic, keys: ['u1'] },
    ]);
    await eventually(() => watchers[0]!.presence.metas().u1 !== undefined, 'listed');
    assert.deepEqual(
      watchers[0]!.presence.presence.list((key: string, entry: any) => entry.user),
      [{ name: 'User u1' }],
      'the client keeps the fields beside metas',
    );
  });

  it('sends a diff without fetch when fetch throws, and logs it', async () => {
    let failing = false;
    app = await startApp(
      PresenceFixtures.app({
        presence: {
          fetch: (_topic, presences) => {
            if (failing) throw new Error('database down');
            return presences;
          },
        },
      }),
    );
    const topic = uniqueTopic('presence');
    const watcher = await member(app, topic, 'w', { track: false });
    failing = true;
    const capture = LogCapture.install();
    try {
      await app.app.get(Presence).track(topic, 'k', { a: 1 });
      await eventually(() => watcher.presence.view().k?.length === 1, 'the diff arrived anyway');
      assert.ok(capture.entries.some((e) => e.level === 'error' && /fetch failed .*database down/.test(e.message)), 'logged');
    } finally {
      capture.restore();
    }
  });

  it('works in the channel test kit: presence_state pushed and presence_diff broadcast', async () => {
    const kit = await ChannelTest.create({ socket: TestSocket, providers: [Recorder, PresenceChannel] });
    try {
      const topic = uniqueTopic('presence');
      const socket = await kit.connect({ user: 'kit-user' });
      const channel = await socket.subscribeAndJoin(topic, {});
      const state = await channel.assertPush('presence_state');
      const ref = state['kit-user'].metas[0].phx_ref;
      assert.match(ref, REF);
      await channel.assertBroadcast('presence_diff', { joins: { 'kit-user': { metas: [{ phx_ref: ref }] } }, leaves: {} });
    } finally {
      await kit.close();
    }
    app = undefined as unknown as TestApp;
  });

  it('refuses presence options on two mounts, and a downPeriod under twice heartbeatPeriod', async () => {
    const { ChannelsModule } = await import('../../lib/index.js');
    assert.throws(() => ChannelsModule.forRoot({ presence: { heartbeatPeriod: 1000, downPeriod: 1500 } }), {
      code: ERROR_CODE.configuration,
      message: 'ChannelsModule option presence.downPeriod (1500ms) must be at least twice heartbeatPeriod (1000ms)',
    });
    assert.throws(() => ChannelsModule.forRoot({ presence: { broadcastPeriod: 0 } }), { code: ERROR_CODE.configuration });
    await assert.rejects(
      startApp({
        imports: [ChannelsModule.forRoot({ path: '/a', presence: {} }), ChannelsModule.forRoot({ path: '/b', presence: {} })],
        providers: [],
      }),
      { message: 'an app has one Presence: give the presence option on one ChannelsModule mount only' },
    );
    app = undefined as unknown as TestApp;
  });
});
