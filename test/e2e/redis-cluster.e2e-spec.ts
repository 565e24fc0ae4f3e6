/**
 * Three app processes on RedisPubSub over a throwaway redis-server (never the
 * shared one: this file stops and restarts it), `phoenix` clients on each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Channel } from 'phoenix';
import { collect, eventually, joined, nextEvent, outcome, sleep, uniqueTopic } from '../support/phoenix-helpers.js';
import { NodeProcess } from '../support/redis-node-process.js';
import { RedisServer, uniquePrefix } from '../support/redis-server.js';

const OUTAGE = /\[RedisPubSub\] lost Redis at /;
const RECOVERY = /\[RedisPubSub\] Redis at .* is back after \d+ms/;

/** Up, as far as its log says: every outage line has its recovery line. */
function recovered(node: NodeProcess): boolean {
  return node.grep(RECOVERY).length === node.grep(OUTAGE).length;
}

describe('RedisPubSub: a cluster of three app processes', () => {
  let redis: RedisServer | undefined;
  let nodes: NodeProcess[] = [];

  before(async () => {
    redis = await RedisServer.start();
    const prefix = uniquePrefix('cluster');
    nodes = await NodeProcess.startAll(['node0', 'node1', 'node2'], redis!.url, prefix);
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop('SIGKILL');
  });

  it('clients on every node exchange broadcasts: each delivered exactly once, in order per publisher', async () => {
    const topic = uniqueTopic('cluster');
    const channels = nodes.map((node) => node.client().channel(topic));
    await Promise.all(channels.map((channel) => joined(channel, 5000)));
    const seen = channels.map((channel) => collect(channel, 'msg'));
    const done = channels.map(() => 0);
    channels.forEach((channel, i) => channel.on('done', () => {
      done[i]!++;
    }));
    const N = 60;
    // Every node publishes at once; each publisher's pushes are handled in order by its channel.
    await Promise.all(
      channels.map(async (channel, p) => {
        const replies = [];
        for (let n = 0; n < N; n++) replies.push(outcome(channel.push('publish', { body: { p, n } }), 5000, `publish ${p}/${n}`));
        replies.push(outcome(channel.push('publish', { event: 'done', body: { p } }), 5000, `done ${p}`));
        for (const reply of await Promise.all(replies)) assert.equal(reply.status, 'ok');
      }),
    );
    // 'done' follows each publisher's messages: with all three in, every message is.
    await eventually(() => done.every((count) => count === 3), "every subscriber got every publisher's 'done'", 10_000);
    seen.forEach((messages, s) => {
      for (let p = 0; p < 3; p++) {
        const fromP = messages.filter((m) => m.body.p === p).map((m) => m.body.n);
        assert.deepEqual(fromP, Array.from({ length: N }, (_, n) => n), `subscriber on node${s}, publisher node${p}`);
      }
      assert.equal(messages.length, 3 * N, `subscriber on node${s} got each broadcast once`);
    });
    for (const node of nodes) assert.ok(node.isAlive, `${node.name} is alive`);
  });

  it('Redis stopped and restarted during traffic: no crash, local traffic goes on, broadcasts refused, one outage line, resumes', async () => {
    const topic = uniqueTopic('cluster');
    const [n0, n1, n2] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    const publisher = n0.client().channel(topic);
    const remote = n1.client().channel(topic);
    const neighbour = n1.client().channel(topic);
    const far = n2.client().channel(topic);
    await Promise.all([publisher, remote, neighbour, far].map((channel) => joined(channel, 5000)));
    const remoteSaw = collect(remote, 'msg');
    const farSaw = collect(far, 'msg');
    const neighbourLocal = collect(neighbour, 'local');
    const outcomes: Array<{ n: number; at: number; status: string; code?: string }> = [];
    const pings: Array<{ at: number; ms: number; ok: boolean }> = [];
    let running = true;

    // Traffic: node0 publishes every 40 ms; node1 answers pings and carries local broadcasts.
    const publishing = (async () => {
      for (let n = 0; running; n++) {
        const reply = await outcome(publisher.push('publish', { body: { n } }), 3000, `publish ${n}`);
        outcomes.push({ n, at: Date.now(), status: reply.status, code: reply.response?.code });
        await sleep(40);
      }
    })();
    const local = (async () => {
      for (let n = 0; running; n++) {
        const started = Date.now();
        const reply = await outcome(remote.push('ping', { n }), 3000, `ping ${n}`).catch(() => ({ status: 'timeout' }));
        pings.push({ at: started, ms: Date.now() - started, ok: reply.status === 'ok' });
        await outcome(remote.push('local', { body: { n } }), 3000, `local ${n}`).catch(() => undefined);
        await sleep(40);
      }
    })();

    try {
      await eventually(() => remoteSaw.length >= 5, 'cross-node traffic before the outage', 5000);
      const stoppedAt = Date.now();
      await redis!.stop();
      await eventually(
        () => outcomes.some((o) => o.at > stoppedAt && o.code === 'ERR_CHANNELS_PUBSUB_UNAVAILABLE'),
        'a broadcast refused with ERR_CHANNELS_PUBSUB_UNAVAILABLE',
        5000,
      );
      // A join during the outage: local, so it succeeds.
      const lateTopic = uniqueTopic('cluster');
      const late = n2.client().channel(lateTopic);
      await joined(late, 3000);
      const localBefore = neighbourLocal.length;
      await sleep(1500); // the outage lasts: several reconnection attempts on every node
      assert.ok(neighbourLocal.length >= localBefore + 10, `local broadcasts kept flowing (${neighbourLocal.length - localBefore} in 1.5s)`);

      const restartedAt = Date.now();
      const [remoteFrom, farFrom] = [remoteSaw.length, farSaw.length];
      await redis!.start();
      // Each node reconnects on its own backoff: wait for both receiving nodes.
      await eventually(() => remoteSaw.length > remoteFrom && farSaw.length > farFrom, 'cross-node traffic resumed on node1 and node2', 5000);
      const resumedMs = Date.now() - restartedAt;
      assert.ok(resumedMs < 5000, `resumed ${resumedMs}ms after the restart`);
      // The topic joined during the outage was subscribed on reconnect (in the batch with `far`'s topic).
      const lateGot = nextEvent(late, 'msg', 5000);
      const probe = n0.client().channel(lateTopic);
      await joined(probe, 5000);
      assert.equal((await outcome(probe.push('publish', { body: 'late' }), 5000, 'publish late')).status, 'ok');
      assert.deepEqual((await lateGot).body, 'late');

      running = false;
      await Promise.all([publishing, local]);

      const outageOutcomes = outcomes.filter((o) => o.status !== 'ok');
      assert.ok(outageOutcomes.length > 0);
      for (const o of outageOutcomes) assert.equal(o.code, 'ERR_CHANNELS_PUBSUB_UNAVAILABLE', `publish ${o.n}`);
      // Local traffic never stopped: every ping answered, none slow.
      assert.ok(pings.length > 20);
      assert.deepEqual(pings.filter((p) => !p.ok || p.ms > 1000), [], 'pings failed or slow during the outage');
      // In order and once each on both receivers, outage gaps aside; nothing refused was delivered.
      const refused = new Set(outageOutcomes.map((o) => o.n));
      for (const [name, saw] of [['node1', remoteSaw], ['node2', farSaw]] as const) {
        const ns = saw.map((m) => m.body.n as number);
        for (let i = 1; i < ns.length; i++) assert.ok(ns[i]! > ns[i - 1]!, `${name}: ${ns[i - 1]} then ${ns[i]}`);
        assert.deepEqual(ns.filter((n) => refused.has(n)), [], `${name} got a refused broadcast`);
      }
      // Each connection of each node has its own backoff: a node is back once both are.
      await eventually(() => nodes.every(recovered), 'every node logged its recovery', 5000);
      for (const node of nodes) {
        assert.ok(node.isAlive, `${node.name} is alive`);
        assert.equal(node.grep(OUTAGE).length, 1, `${node.name} logged the outage once:\n${node.grep(/RedisPubSub/).join('\n')}`);
        assert.equal(node.grep(RECOVERY).length, 1, `${node.name} logged the recovery once`);
      }
    } finally {
      running = false;
      await Promise.all([publishing, local]).catch(() => undefined);
      if (!redis!.isRunning) await redis!.start();
    }
  });

  it('a node killed with SIGKILL: the others go on exchanging broadcasts', async () => {
    const topic = uniqueTopic('cluster');
    const [n0, n1, n2] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    await eventually(() => nodes.every(recovered), 'every node connected to Redis', 5000);
    const a = n0.client().channel(topic);
    const b = n1.client().channel(topic);
    const c = n2.client().channel(topic);
    await Promise.all([a, b, c].map((channel) => joined(channel, 5000)));
    await n2.kill();
    assert.equal(n2.child.signalCode, 'SIGKILL');
    const exchange = async (from: Channel, to: Channel, body: string): Promise<void> => {
      const got = nextEvent(to, 'msg', 5000);
      assert.equal((await outcome(from.push('publish', { body }), 5000, `publish ${body}`)).status, 'ok');
      assert.equal((await got).body, body);
    };
    for (let i = 0; i < 5; i++) {
      await exchange(a, b, `a->b ${i}`);
      await exchange(b, a, `b->a ${i}`);
    }
    assert.ok(n0.isAlive && n1.isAlive);
  });
});
