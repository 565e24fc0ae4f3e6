/**
 * Presence across three app processes (test/fixtures/cluster-node.ts) on the
 * shared Redis under a unique key prefix, `phoenix` clients with the client's
 * `Presence` on each. One node is killed with SIGKILL: the time until its
 * presences have left every other node's clients is measured. Short periods
 * (heartbeat 100 ms, down 1000 ms) keep it quick; `npm run bench:presence`
 * measures the same with the default periods.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Channel } from 'phoenix';
import { eventually, joined, uniqueTopic } from '../support/phoenix-helpers.js';
import { shapeOf, watchPresence, type WatchedPresence } from '../support/presence-helpers.js';
import { NodeProcess } from '../support/redis-node-process.js';
import { REDIS_URL, uniquePrefix } from '../support/redis-server.js';

const HEARTBEAT_MS = 100;
const DOWN_MS = 1000;
const FLAGS = ['--presence-heartbeat', `${HEARTBEAT_MS}`, '--presence-down', `${DOWN_MS}`, '--presence-broadcast', '20'];

interface Client {
  readonly node: NodeProcess;
  readonly user: string;
  readonly channel: Channel;
  readonly presence: WatchedPresence;
}

async function client(node: NodeProcess, topic: string, user: string): Promise<Client> {
  const channel = node.client({ user }).channel(topic, { user });
  const presence = watchPresence(channel);
  let stated = false;
  channel.on('presence_state', () => {
    stated = true;
  });
  await joined(channel, 5000);
  await eventually(() => stated, `presence_state for ${user}`, 5000);
  return { node, user, channel, presence };
}

function truthOf(users: string[]): string[] {
  const counts = new Map<string, number>();
  for (const user of users) counts.set(user, (counts.get(user) ?? 0) + 1);
  return [...counts.keys()].sort().map((user) => `${user}×${counts.get(user)}`);
}

async function converged(clients: Client[], truth: string[], timeoutMs = 8000): Promise<void> {
  await eventually(
    () => clients.every((c) => JSON.stringify(shapeOf(c.presence.view())) === JSON.stringify(truth)),
    `every client lists ${truth.join(', ')}`,
    timeoutMs,
  );
}

describe('Presence across three app processes', () => {
  let nodes: NodeProcess[] = [];
  let prefix: string;
  before(async () => {
    prefix = uniquePrefix('presence-processes');
    nodes = await NodeProcess.startAll(['k0', 'k1', 'k2'], REDIS_URL, prefix, FLAGS);
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  });

  it('converges; a node killed with SIGKILL has its presences leave the others within downPeriod + heartbeatPeriod; back under its name, nothing stale returns', async (t) => {
    const topic = uniqueTopic('presence');
    const clients: Client[] = [];
    for (const [n, node] of nodes.entries()) {
      for (const user of [`k${n}-a`, `k${n}-b`, 'everywhere']) clients.push(await client(node, topic, user));
    }
    await converged(clients, truthOf(clients.map((c) => c.user)));

    const survivors = clients.filter((c) => c.node !== nodes[2]);
    const refsBefore = Object.values(survivors[0]!.presence.view()).flat();
    const joinedAfterKill: string[] = [];
    const leftAt: number[] = [];
    const killed = nodes[2]!;
    for (const c of survivors) {
      c.channel.on('presence_diff', (diff) => {
        for (const entry of Object.values(diff.joins) as Array<{ metas: Array<{ phx_ref: string }> }>) joinedAfterKill.push(...entry.metas.map((m) => m.phx_ref));
        if (Object.keys(diff.leaves).length > 0) leftAt.push(performance.now());
      });
    }
    const exited = new Promise((resolve) => killed.child.once('exit', resolve));
    const killedAt = performance.now();
    killed.child.kill('SIGKILL');
    await exited;
    const truthAfter = truthOf(survivors.map((c) => c.user));
    await converged(survivors, truthAfter, DOWN_MS + HEARTBEAT_MS + 5000);
    const removedMs = Math.max(...leftAt) - killedAt;
    const refsAfter = new Set(Object.values(survivors[0]!.presence.view()).flat());
    // The killed node's refs: listed before, gone now.
    const staleRefs = refsBefore.filter((ref) => !refsAfter.has(ref));
    assert.equal(staleRefs.length, 3, "the killed node's three presences left");
    t.diagnostic(`SIGKILLed node's presences gone from every other node's clients ${Math.round(removedMs)} ms after the kill (downPeriod ${DOWN_MS} ms, heartbeatPeriod ${HEARTBEAT_MS} ms)`);
    assert.ok(removedMs >= DOWN_MS - 2 * HEARTBEAT_MS, `not before the down period (${Math.round(removedMs)} ms)`);
    assert.ok(removedMs <= DOWN_MS + HEARTBEAT_MS + 3000, `within the bound plus scheduling slack (${Math.round(removedMs)} ms)`);
    for (const node of nodes.slice(0, 2)) {
      assert.equal(node.grep(/\[Presence\] node k2 has been silent for \d+ms: taken for dead/).length, 1, `${node.name} logged k2 down once`);
    }

    // k2 comes back under its name, with new clients.
    const restarted = await NodeProcess.start('k2', REDIS_URL, prefix, 15_000, FLAGS);
    nodes[2] = restarted;
    const fresh = [await client(restarted, topic, 'k2-new'), await client(restarted, topic, 'everywhere')];
    const all = [...survivors, ...fresh];
    await converged(all, truthOf(all.map((c) => c.user)));
    await new Promise((resolve) => setTimeout(resolve, 5 * HEARTBEAT_MS));
    await converged(all, truthOf(all.map((c) => c.user)));
    for (const ref of staleRefs) {
      assert.equal(joinedAfterKill.includes(ref), false, `the killed node's ${ref} never joined again`);
      for (const c of all) assert.equal(JSON.stringify(c.presence.view()).includes(ref), false, `${ref} not listed by ${c.user}`);
    }
    // Its clients still try to reconnect to the dead port: stop() disconnects them.
    await killed.stop();
  });
});
