/**
 * Long-poll on several nodes sharing one Redis, behind a balancer without
 * stickiness: each request goes to the next node in turn, and a request
 * that lands on a node other than the session's is routed there through
 * the PubSub.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LongPoll, type SocketConnectOption } from 'phoenix';
import { startProxy, type TestProxy } from '../support/http-proxy.js';
import { longPollSessions, lpGet, lpMessages, lpPost, lpSession } from '../support/longpoll-client.js';
import { eventually, joined, nextEvent, outcome, uniqueTopic } from '../support/phoenix-helpers.js';
import { startNodes, type RedisNode, type RedisNodes } from '../support/redis-nodes.js';
import type { ClientOptions } from '../support/test-app.js';

const LONGPOLL = { longpoll: { windowMs: 500, pubsubTimeoutMs: 500 } };
const LongPollTransport = LongPoll as unknown as SocketConnectOption['transport'];


describe('long-poll on two nodes behind a round-robin balancer', () => {
  let cluster: RedisNodes;
  let proxy: TestProxy;

  before(async () => {
    cluster = await startNodes(2, {}, LONGPOLL);
    proxy = await startProxy(cluster.nodes.map((node) => node.app.port));
  });
  after(async () => {
    await proxy.close();
    await cluster.close();
  });

  it('serves the phoenix LongPoll client whose requests alternate between the nodes, with WebSocket clients on both', async () => {
    const [node0, node1] = cluster.nodes as [RedisNode, RedisNode];
    const topic = uniqueTopic();
    const hitsBefore = [...proxy.hits];
    const socket = node0.app.client({ base: proxy.wsBase, transport: LongPollTransport, longpollerTimeout: 5000 } as ClientOptions);
    const overLp = socket.channel(topic, { reply: { hello: 'lp' } });
    assert.deepEqual(await joined(overLp), { hello: 'lp' });
    const onNode0 = node0.app.client().channel(topic);
    const onNode1 = node1.app.client().channel(topic);
    await joined(onNode0);
    await joined(onNode1);
    for (let i = 0; i < 4; i++) assert.deepEqual(await outcome(overLp.push('ping', { i })), { status: 'ok', response: { i } });
    const at0 = nextEvent(onNode0, 'shout');
    const at1 = nextEvent(onNode1, 'shout');
    await outcome(overLp.push('broadcast', { body: 'from long-poll' }));
    assert.deepEqual(await at0, { body: 'from long-poll' });
    assert.deepEqual(await at1, { body: 'from long-poll' });
    const atLp = nextEvent(overLp, 'shout');
    await outcome(onNode1.push('broadcast', { body: 'from node1' }));
    assert.deepEqual(await atLp, { body: 'from node1' });
    assert.ok(proxy.hits[0]! - hitsBefore[0]! >= 3 && proxy.hits[1]! - hitsBefore[1]! >= 3, `requests reached both nodes: ${proxy.hits}`);
    assert.equal(longPollSessions(node0.app.app) + longPollSessions(node1.app.app), 1, 'one session, on one node');
    socket.disconnect();
  });

  it('routes a POST and a poll made on the other node to the node holding the session', async () => {
    const [node0, node1] = cluster.nodes as [RedisNode, RedisNode];
    const topic = uniqueTopic();
    const token = await lpSession(node0.app.httpBase);
    const posted = await lpPost(node1.app.httpBase, { token, lines: [['1', '1', topic, 'phx_join', {}], ['1', '2', topic, 'ping', { via: 'node1' }]] });
    assert.deepEqual(posted.json, { status: 200 });
    const frames = await lpMessages(node1.app.httpBase, token, 2);
    assert.deepEqual(frames, [
      ['1', '1', topic, 'phx_reply', { status: 'ok', response: {} }],
      ['1', '2', topic, 'phx_reply', { status: 'ok', response: { via: 'node1' } }],
    ]);
    assert.deepEqual(node0.recorder.of('join', topic), [{}], 'the join ran on node0, which holds the session');
    assert.deepEqual(node1.recorder.of('join', topic), []);
    const empty = await lpGet(node1.app.httpBase, { token });
    assert.deepEqual(empty.json, { status: 204, token, messages: [] }, 'a routed poll with nothing pending ends with the window');
    const held = lpGet(node1.app.httpBase, { token });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await node1.endpoint.broadcast(topic, 'news', { from: 'node1' });
    const woken = await held;
    assert.equal(woken.json?.status, 200);
    assert.deepEqual(woken.json?.messages?.map((m) => JSON.parse(m)), [[null, null, topic, 'news', { from: 'node1' }]]);
  });

  it('ends a session on one node with a disconnect sent from the other (P-76)', async () => {
    const [node0, node1] = cluster.nodes as [RedisNode, RedisNode];
    const topic = uniqueTopic();
    const id = `lp-cluster-${process.pid}-${Date.now()}`;
    const query = `vsn=2.0.0&id=${id}`;
    const token = await lpSession(node0.app.httpBase, { query });
    await lpPost(node0.app.httpBase, { query, token, lines: [['1', '1', topic, 'phx_join', {}]] });
    await lpMessages(node0.app.httpBase, token, 1, { query });
    await node1.endpoint.disconnect(id);
    await eventually(() => node0.recorder.of('terminate', topic).length === 1, 'the session on node0 ended');
    assert.deepEqual(node0.recorder.of('terminate', topic), [{ shutdown: 'disconnected' }]);
    assert.deepEqual((await lpPost(node1.app.httpBase, { query, token, lines: [['1', '2', topic, 'ping', {}]] })).json, { status: 410 });
  });
});

describe('long-poll when the node holding the session is gone', () => {
  let cluster: RedisNodes;

  before(async () => {
    cluster = await startNodes(1, {}, LONGPOLL);
  });
  after(() => cluster.close());

  it('starts a new session for a poll, and answers 410 to a POST, once pubsubTimeoutMs passes without an answer', async () => {
    const [survivor] = cluster.nodes as [RedisNode];
    const doomed = await startNodes(1, { keyPrefix: cluster.prefix, node: 'doomed' }, LONGPOLL);
    const token = await lpSession(doomed.nodes[0]!.app.httpBase);
    await doomed.close();
    const startedAt = Date.now();
    const polled = await lpGet(survivor.app.httpBase, { token });
    const waitedMs = Date.now() - startedAt;
    assert.equal(polled.json?.status, 410);
    assert.notEqual(polled.json?.token, token);
    assert.ok(waitedMs >= 400, `waited ${waitedMs}ms for the gone node (pubsubTimeoutMs 500)`);
    assert.equal(longPollSessions(survivor.app.app), 1, 'the new session lives on the node that answered');
    assert.deepEqual((await lpPost(survivor.app.httpBase, { token, lines: [[null, '1', 'phoenix', 'heartbeat', {}]] })).json, { status: 410 });
  });
});
