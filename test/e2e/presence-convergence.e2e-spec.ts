/**
 * 1,000 simulated users (each a `phoenix` client with its own connection and
 * the client's `Presence`) joining, leaving, crashing, moving, updating and
 * disconnecting at random across three nodes on RedisPubSub; afterwards every
 * client's view, and every node's list, equals the truth the test kept.
 * Seeded: PRESENCE_SEED=<n> replays a run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LogCapture } from '../support/log-capture.js';
import { eventually, outcome, sleep } from '../support/phoenix-helpers.js';
import { plain, refsByKey, shapeOf } from '../support/presence-helpers.js';
import { presenceClient, startPresenceNodes, type PresenceClient, type PresenceNode } from '../support/presence-nodes.js';
import { prng } from '../support/prng.js';
import { REDIS_URL, uniquePrefix } from '../support/redis-server.js';

const USERS = 1000;
const OPS = 1000;
const TOPICS = 10;
const CONCURRENCY = 40;

interface User {
  readonly id: number;
  /** Keys are shared by pairs of users (two devices of one person) for a fifth of them. */
  readonly key: string;
  client: PresenceClient | null;
  topic: string | null;
}

/** Runs `tasks` with at most `limit` in flight. */
async function pool(tasks: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: limit }, async () => {
    while (next < tasks.length) await tasks[next++]!();
  });
  await Promise.all(workers);
}

describe('Presence: 1,000 users at random across three nodes', () => {
  let nodes: PresenceNode[] = [];
  let capture: LogCapture;
  before(async () => {
    // The crashes log an error each, on purpose.
    capture = LogCapture.install();
    nodes = await startPresenceNodes(['c0', 'c1', 'c2'], { url: REDIS_URL, keyPrefix: uniquePrefix('presence-1000') });
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.app.close()));
    capture.restore();
  });

  it('every client and every node ends with exactly the truth', async (t) => {
    const seed = Number(process.env.PRESENCE_SEED ?? Date.now() % 1_000_000);
    t.diagnostic(`seed ${seed}`);
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const run = `t${process.pid}-${seed}`;
    const topics = Array.from({ length: TOPICS }, (_, i) => `presence:${run}-${i}`);
    const users: User[] = Array.from({ length: USERS }, (_, id) => ({ id, key: `user-${id % 800}`, client: null, topic: null }));
    const startedAt = performance.now();
    const counts = { join: 0, leave: 0, disconnect: 0, crash: 0, move: 0, update: 0 };

    /** Where a join goes: drawn when the op is made, so that a seed replays the same choices. */
    const place = (): { node: PresenceNode; topic: string } => ({ node: pick(nodes), topic: pick(topics) });
    const join = async (user: User, where: { node: PresenceNode; topic: string }): Promise<void> => {
      user.topic = where.topic;
      user.client = await presenceClient(where.node, where.topic, user.key, { meta: { user: user.id } });
      counts.join++;
    };
    const leave = async (user: User): Promise<void> => {
      const client = user.client!;
      user.client = null;
      user.topic = null;
      await outcome(client.channel.leave(), 5000, 'leave');
      client.socket.disconnect();
    };

    await pool(
      users.map((user) => {
        const where = place();
        return () => join(user, where);
      }),
      CONCURRENCY,
    );
    t.diagnostic(`1,000 joined in ${Math.round(performance.now() - startedAt)} ms`);

    const ops: Array<() => Promise<void>> = [];
    // Each op picks a user when it runs, so one user's ops never overlap: what it does depends on its state then.
    const busy = new Set<User>();
    for (let n = 0; n < OPS; n++) {
      const r = random();
      const choice = random();
      const where = place();
      ops.push(async () => {
        const idle = users.filter((u) => !busy.has(u));
        const user = idle[Math.floor(choice * idle.length)]!;
        busy.add(user);
        try {
          await act(user, r, n, where);
        } finally {
          busy.delete(user);
        }
      });
    }
    const act = async (user: User, r: number, n: number, where: { node: PresenceNode; topic: string }): Promise<void> => {
      if (user.client === null) return join(user, where);
      if (r < 0.3) {
        counts.leave++;
        return leave(user);
      }
      if (r < 0.5) {
        counts.disconnect++;
        user.client.socket.disconnect();
        user.client = null;
        user.topic = null;
        return;
      }
      if (r < 0.65) {
        // phoenix.js rejoins a crashed channel by itself (P-63), and the rejoin tracks again.
        counts.crash++;
        // No reply comes (the channel crashes): a short push timeout, so no 10 s timer outlives the test.
        user.client.channel.push('crash', {}, 200);
        return;
      }
      if (r < 0.85) {
        counts.move++;
        await leave(user);
        return join(user, where);
      }
      counts.update++;
      await outcome(user.client.channel.push('update', { merge: { status: `s${n}` } }), 5000, 'update');
    };
    await pool(ops, CONCURRENCY);
    t.diagnostic(`ops ${JSON.stringify(counts)} done at ${Math.round(performance.now() - startedAt)} ms`);

    const live = users.filter((user) => user.client !== null);
    const truth = new Map<string, string[]>();
    for (const topic of topics) {
      const here = live.filter((user) => user.topic === topic).map((user) => user.key);
      const metas = new Map<string, number>();
      for (const key of here) metas.set(key, (metas.get(key) ?? 0) + 1);
      truth.set(topic, [...metas.keys()].sort().map((key) => `${key}×${metas.get(key)}`));
    }
    const settleStart = performance.now();
    await eventually(
      () => live.every((user) => JSON.stringify(shapeOf(user.client!.presence.view())) === JSON.stringify(truth.get(user.topic!))),
      'every live client lists exactly the truth of its topic',
      60_000,
    );
    t.diagnostic(`${live.length} live clients converged ${Math.round(performance.now() - settleStart)} ms after the last op`);
    for (const topic of topics) {
      const lists = await Promise.all(nodes.map(async (node) => refsByKey(plain(await node.presence.list(topic)))));
      for (const [n, list] of lists.entries()) {
        assert.deepEqual(shapeOf(list), truth.get(topic), `node c${n}'s list of ${topic}`);
        assert.deepEqual(list, lists[0], `node c${n} lists the same refs as c0 for ${topic}`);
      }
      for (const user of live.filter((u) => u.topic === topic)) {
        const view = user.client!.presence.view();
        for (const key of Object.keys(view)) assert.deepEqual([...view[key]!].sort(), [...lists[0]![key]!].sort(), `user ${user.id}'s refs of ${key}`);
      }
    }
    assert.ok(counts.crash > 0 && counts.disconnect > 0 && counts.move > 0, 'every kind of op ran');
    for (const user of users) user.client?.socket.disconnect();
    await sleep(10);
  });
});
