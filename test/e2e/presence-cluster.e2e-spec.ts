/**
 * Presence across nodes: three Nest apps in one process, each its own node
 * on RedisPubSub (the shared Redis with a unique key prefix, or a throwaway
 * redis-server for the restart test), clients with the `phoenix` client's
 * `Presence` on every node. Short heartbeat and down periods keep it quick.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ChannelsEndpoint } from '../../lib/index.js';
import { FAST_PRESENCE } from '../fixtures/presence/presence.fixtures.js';
import { LogCapture } from '../support/log-capture.js';
import { eventually, outcome, sleep, uniqueTopic } from '../support/phoenix-helpers.js';
import { plain, refsByKey, shapeOf } from '../support/presence-helpers.js';
import { presenceClient, startPresenceNode, startPresenceNodes, type PresenceClient, type PresenceNode } from '../support/presence-nodes.js';
import { REDIS_URL, RedisServer, uniquePrefix } from '../support/redis-server.js';

/** `{user: metas}` as `shapeOf` prints it, from a list of users (a user twice has two metas). */
function truthOf(users: string[]): string[] {
  const counts = new Map<string, number>();
  for (const user of users) counts.set(user, (counts.get(user) ?? 0) + 1);
  return [...counts.keys()].sort().map((user) => `${user}×${counts.get(user)}`);
}

/** Every client and every node lists exactly `truth`, with the same refs everywhere. */
async function converged(nodes: PresenceNode[], clients: PresenceClient[], topic: string, truth: string[], timeoutMs = 5000): Promise<void> {
  let lists: Array<Record<string, string[]>> = [];
  await eventually(
    () => clients.every((client) => JSON.stringify(shapeOf(client.presence.view())) === JSON.stringify(truth)),
    `every client lists ${truth.join(', ')}`,
    timeoutMs,
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    lists = await Promise.all(nodes.map(async (node) => refsByKey(plain(await node.presence.list(topic)))));
    const same = lists.every((list) => JSON.stringify(list) === JSON.stringify(lists[0]));
    if (same && JSON.stringify(shapeOf(lists[0]!)) === JSON.stringify(truth)) break;
    if (Date.now() > deadline) assert.fail(`the nodes' lists differ or miss the truth: ${JSON.stringify(lists)}`);
    await sleep(20);
  }
  for (const client of clients) {
    const view = client.presence.view();
    for (const key of Object.keys(view)) assert.deepEqual([...view[key]!].sort(), [...lists[0]![key]!].sort(), `${client.user}'s refs of ${key}`);
  }
}

describe('Presence across three nodes on RedisPubSub', () => {
  let nodes: PresenceNode[] = [];
  let extra: PresenceNode[] = [];
  afterEach(async () => {
    await Promise.all([...nodes, ...extra].map((node) => node.app.close()));
    nodes = [];
    extra = [];
  });

  it('every node and client converge; a join, an update and a leave on one node reach the clients of the others as diffs (P-78..P-80)', async () => {
    nodes = await startPresenceNodes(['p0', 'p1', 'p2'], { url: REDIS_URL, keyPrefix: uniquePrefix('presence') });
    const topic = uniqueTopic('presence');
    const clients: PresenceClient[] = [];
    const users: string[] = [];
    for (const [n, node] of nodes.entries()) {
      for (const user of [`n${n}-a`, `n${n}-b`, 'everywhere']) {
        clients.push(await presenceClient(node, topic, user, { meta: { node: n } }));
        users.push(user);
      }
    }
    await converged(nodes, clients, topic, truthOf(users));
    const everywhere = (await nodes[1]!.presence.list(topic)).everywhere!.metas.map((meta) => meta.node);
    assert.deepEqual(everywhere, [0, 1, 2], 'a key tracked on three nodes has three metas, in tracking order, on every node');
    const observedOnP2 = nodes[2]!.watcher.of(topic).flatMap((change) => Object.keys(change.joins));
    assert.ok(observedOnP2.includes('n0-a') && observedOnP2.includes('n1-b'), "p2's server-side observer saw the other nodes' joins");

    // An update on p0 reaches a client of p2 as one diff.
    const far = clients.find((client) => client.user === 'n2-a')!;
    const diffs: any[] = [];
    far.channel.on('presence_diff', (diff) => void diffs.push(diff));
    const mover = clients.find((client) => client.user === 'n0-a')!;
    const oldRef = mover.presence.view()['n0-a']![0]!;
    const { response } = await outcome(mover.channel.push('update', { meta: { node: 0, status: 'away' } }), 3000, 'update');
    await eventually(() => far.presence.metas()['n0-a']?.[0]?.status === 'away', 'the far client sees the update');
    assert.deepEqual(diffs, [
      {
        joins: { 'n0-a': { metas: [{ node: 0, status: 'away', phx_ref: response.ref, phx_ref_prev: oldRef }] } },
        leaves: { 'n0-a': { metas: [{ node: 0, phx_ref: oldRef }] } },
      },
    ]);

    // A leave on p1 and a closed connection on p2.
    await outcome(clients.find((client) => client.user === 'n1-b')!.channel.leave(), 3000, 'leave');
    clients.find((client) => client.user === 'n2-b')!.socket.disconnect();
    const live = clients.filter((client) => client.user !== 'n1-b' && client.user !== 'n2-b');
    await converged(nodes, live, topic, truthOf(live.map((client) => client.user)));
  });

  it('a node that shuts down has its presences leave on the others at once, without waiting for downPeriod', async () => {
    const presence = { ...FAST_PRESENCE, heartbeatPeriod: 1000, downPeriod: 30_000 };
    nodes = await startPresenceNodes(['p0', 'p1'], { url: REDIS_URL, keyPrefix: uniquePrefix('presence'), presence });
    const topic = uniqueTopic('presence');
    const stays = await presenceClient(nodes[0]!, topic, 'stays');
    const goes = await presenceClient(nodes[1]!, topic, 'goes');
    await converged(nodes, [stays, goes], topic, truthOf(['stays', 'goes']));
    await presenceClientTrack(nodes[1]!, topic, 'server-entry');
    await eventually(() => stays.presence.view()['server-entry'] !== undefined, 'the server entry is listed');
    const closing = nodes.pop()!;
    const closedAt = Date.now();
    await closing.app.close();
    await eventually(() => JSON.stringify(shapeOf(stays.presence.view())) === JSON.stringify(['stays×1']), 'only stays is left', 5000);
    assert.ok(Date.now() - closedAt < 5000, 'long before the 30 s downPeriod');
  });

  it('a node that falls silent has its presences removed on the others within downPeriod + heartbeatPeriod, as leaves to their clients', async (t) => {
    nodes = await startPresenceNodes(['p0', 'p1', 'p2'], { url: REDIS_URL, keyPrefix: uniquePrefix('presence') });
    const topic = uniqueTopic('presence');
    const clients = await Promise.all(nodes.map((node, n) => presenceClient(node, topic, `u${n}`)));
    await converged(nodes, clients, topic, truthOf(['u0', 'u1', 'u2']));
    const silent = nodes[2]!;
    const left: string[] = [];
    clients[0]!.channel.on('presence_diff', (diff) => {
      left.push(...Object.keys(diff.leaves));
    });
    // Its Redis connections are cut without a word: to the others it is as if the process died.
    const cutAt = performance.now();
    await silent.pubsub.close();
    await eventually(() => clients.slice(0, 2).every((client) => client.presence.view().u2 === undefined), 'u2 is gone from p0 and p1', 5000);
    const tookMs = performance.now() - cutAt;
    t.diagnostic(`silent node removed after ${Math.round(tookMs)} ms (downPeriod ${FAST_PRESENCE.downPeriod} ms, heartbeat ${FAST_PRESENCE.heartbeatPeriod} ms)`);
    assert.ok(tookMs >= FAST_PRESENCE.downPeriod - 150, `not before downPeriod (${Math.round(tookMs)} ms)`);
    assert.deepEqual(left, ['u2'], 'a leave went to the clients');
    await converged(nodes.slice(0, 2), clients.slice(0, 2), topic, truthOf(['u0', 'u1']));
  });

  it('a node back under the same name replaces its old instance at once; under a new name the old entries expire; stale entries never come back', async () => {
    const presence = { ...FAST_PRESENCE, heartbeatPeriod: 200, downPeriod: 3000 };
    const keyPrefix = uniquePrefix('presence');
    nodes = await startPresenceNodes(['p0', 'p1', 'p2'], { url: REDIS_URL, keyPrefix, presence });
    const topic = uniqueTopic('presence');
    const observer = await presenceClient(nodes[0]!, topic, 'observer');
    const old1 = await presenceClient(nodes[1]!, topic, 'on-p1');
    const old2 = await presenceClient(nodes[2]!, topic, 'on-p2');
    await converged(nodes, [observer, old1, old2], topic, truthOf(['observer', 'on-p1', 'on-p2']));
    const staleRefs = [old1.presence.view()['on-p1']![0]!, old2.presence.view()['on-p2']![0]!];
    const joinedRefs: string[] = [];
    nodes[0]!.watcher.changes.length = 0;
    observer.channel.on('presence_diff', (diff) => {
      for (const entry of Object.values(diff.joins) as Array<{ metas: Array<{ phx_ref: string }> }>) joinedRefs.push(...entry.metas.map((m) => m.phx_ref));
    });

    // Both fall silent (as if killed): p1 comes back as p1, p2 as p2-new.
    await Promise.all([nodes[1]!.pubsub.close(), nodes[2]!.pubsub.close()]);
    const silentAt = performance.now();
    extra = nodes.splice(1, 2);
    const p1Again = await startPresenceNode('p1', { url: REDIS_URL, keyPrefix, presence });
    const p2New = await startPresenceNode('p2-new', { url: REDIS_URL, keyPrefix, presence });
    nodes.push(p1Again, p2New);
    await eventually(() => observer.presence.view()['on-p1'] === undefined, 'the old p1 entry left when p1 came back', 2000);
    assert.ok(performance.now() - silentAt < presence.downPeriod, 'the same name replaced the old instance before downPeriod');
    assert.ok(observer.presence.view()['on-p2'] !== undefined, 'p2-new is another node: the old p2 entry waits for downPeriod');
    const back1 = await presenceClient(p1Again, topic, 'on-p1');
    const back2 = await presenceClient(p2New, topic, 'on-p2');
    await eventually(() => observer.presence.view()['on-p2']?.length === 1 && !observer.presence.view()['on-p2']!.includes(staleRefs[1]!), 'the stale p2 entry expired', 6000);
    await converged(nodes, [observer, back1, back2], topic, truthOf(['observer', 'on-p1', 'on-p2']));
    // Several heartbeats later, nothing stale has come back anywhere.
    await sleep(3 * presence.heartbeatPeriod);
    for (const ref of staleRefs) {
      assert.equal(joinedRefs.includes(ref), false, `${ref} never joined again`);
      for (const node of nodes) assert.equal(JSON.stringify(plain(await node.presence.list(topic))).includes(ref), false, `${ref} not on ${node.name}`);
    }
    assert.equal(
      nodes[0]!.watcher.changes.some((change) => staleRefs.some((ref) => JSON.stringify(plain(change.joins)).includes(ref))),
      false,
      'no observer saw a stale entry join',
    );
  });
});

describe('Presence: what other nodes say that cannot be right', () => {
  let nodes: PresenceNode[] = [];
  let capture: LogCapture | undefined;
  afterEach(async () => {
    capture?.restore();
    await Promise.all(nodes.map((node) => node.app.close()));
    nodes = [];
  });

  it('drops a malformed presence message with one warning, and warns when two live nodes share a name (only the newer one counts)', async () => {
    const keyPrefix = uniquePrefix('presence');
    nodes = await startPresenceNodes(['w0', 'w1'], { url: REDIS_URL, keyPrefix });
    const topic = uniqueTopic('presence');
    const watcher = await presenceClient(nodes[0]!, topic, 'watcher');
    capture = LogCapture.install();
    const endpoint = nodes[1]!.app.app.get(ChannelsEndpoint);
    await endpoint.broadcast('phx_presence', 'delta', { n: 'w1', i: 'forged', s: 1, o: 'not ops' });
    await endpoint.broadcast('phx_presence', 'delta', { nonsense: true });
    // w1 hears its own broadcast at once, w0 through Redis a moment later: two messages each.
    await eventually(() => capture!.entries.filter((e) => /malformed presence message 'delta'/.test(e.message)).length === 4, 'both nodes logged both');
    const malformed = capture.entries.filter((e) => /malformed presence message 'delta'/.test(e.message));
    assert.equal(malformed.filter((e) => e.level === 'warn' && e.context === 'Presence').length, 2, 'one warning per receiving node (w0 and w1 both hear it)');
    assert.ok(malformed.some((e) => e.level === 'debug'), 'the next ones at debug');

    // A second live node named w1: the first one's entries leave, and what it says from then on is ignored.
    const first = await presenceClient(nodes[1]!, topic, 'on-first-w1');
    await eventually(() => watcher.presence.view()['on-first-w1'] !== undefined, 'listed (the forged header replaced nothing)');
    const twin = await startPresenceNode('w1', { url: REDIS_URL, keyPrefix });
    nodes.push(twin);
    await eventually(() => watcher.presence.view()['on-first-w1'] === undefined, "the older w1's entries left on w0");
    await eventually(() => capture!.entries.some((e) => e.level === 'warn' && /two live nodes share that name/.test(e.message)), 'the warning', 3000);
    await sleep(5 * FAST_PRESENCE.heartbeatPeriod);
    assert.equal(watcher.presence.view()['on-first-w1'], undefined, 'its heartbeats did not bring them back');
    void first;
  });
});

describe('Presence across a Redis restart', () => {
  let redis: RedisServer | undefined;
  let nodes: PresenceNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.app.close()));
    nodes = [];
    await redis?.stop('SIGKILL');
  });

  it('loses no presence: no leave while Redis is away (longer than downPeriod), and changes made meanwhile reach everyone once it is back', async () => {
    redis = await RedisServer.start();
    nodes = await startPresenceNodes(['r0', 'r1', 'r2'], {
      url: redis.url,
      keyPrefix: uniquePrefix('presence'),
      redis: { maxReconnectDelayMs: 200, connectTimeoutMs: 2000 },
    });
    const topic = uniqueTopic('presence');
    const clients = await Promise.all(nodes.map((node, n) => presenceClient(node, topic, `u${n}`)));
    await converged(nodes, clients, topic, truthOf(['u0', 'u1', 'u2']));
    const leaves: string[] = [];
    for (const client of clients) {
      client.channel.on('presence_diff', (diff) => {
        leaves.push(...Object.keys(diff.leaves));
      });
    }

    const transitions: boolean[] = [];
    const unlisten = nodes[0]!.pubsub.onConnectionChange((connected) => transitions.push(connected));
    await redis.stop('SIGKILL');
    await eventually(() => nodes.every((node) => !node.pubsub.isConnected), 'every node noticed the outage', 5000);
    // A change while Redis is away: local clients see it at once, the others once it is back.
    const during = await presenceClient(nodes[0]!, topic, 'joined-during-outage');
    await outcome(clients[1]!.channel.leave(), 3000, 'leave during the outage');
    await sleep(FAST_PRESENCE.downPeriod * 1.5);
    assert.deepEqual(leaves.filter((key) => key !== 'u1'), [], 'nobody was declared dead during the outage');
    assert.ok(clients[2]!.presence.view().u0 !== undefined, 'u0 still listed on r2');

    await redis.start();
    await eventually(() => nodes.every((node) => node.pubsub.isConnected), 'every node reconnected', 10_000);
    assert.deepEqual(transitions, [false, true], 'RedisPubSub reported its outage and its return, once each');
    unlisten();
    const live = [clients[0]!, clients[2]!, during];
    await converged(nodes, live, topic, truthOf(['u0', 'u2', 'joined-during-outage']), 10_000);
  });
});

/** A server-side topic entry on `node`. */
async function presenceClientTrack(node: PresenceNode, topic: string, key: string): Promise<void> {
  await node.presence.track(topic, key, { by: 'server' });
}
