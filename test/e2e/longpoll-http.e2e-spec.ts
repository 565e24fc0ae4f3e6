/**
 * The long-poll transport at the wire: raw HTTP
 * GETs and POSTs on /socket/longpoll, the JSON statuses, the token, the
 * window, the limits. The `phoenix` client's LongPoll is in
 * longpoll-client.e2e-spec.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChannelsEndpoint } from '../../lib/index.js';
import { ChannelsHost } from '../../lib/channels.host.js';
import { Fixtures } from '../fixtures/fixtures.js';
import { Recorder } from '../fixtures/recorder.js';
import { SlowIdPubSub } from '../fixtures/slow-id.pubsub.js';
import { TestSocket } from '../fixtures/test.socket.js';
import { clientPush } from '../support/binary-frames.js';
import { httpRequest } from '../support/http-request.js';
import { LogCapture } from '../support/log-capture.js';
import { lpGet, lpMessages, lpPost, lpSession } from '../support/longpoll-client.js';
import { eventually, sleep, uniqueTopic } from '../support/phoenix-helpers.js';
import { startApp, type TestApp } from '../support/test-app.js';

const WINDOW_MS = 300;

/** Creates a session and joins `topic` with join_ref "1"; returns the token once the join reply is read. */
async function joinedSession(app: TestApp, topic: string, query = 'vsn=2.0.0'): Promise<string> {
  const token = await lpSession(app.httpBase, { query });
  const posted = await lpPost(app.httpBase, { query, token, lines: [['1', '1', topic, 'phx_join', {}]] });
  assert.deepEqual(posted.json, { status: 200 });
  const [reply] = await lpMessages(app.httpBase, token, 1, { query });
  assert.deepEqual(reply, ['1', '1', topic, 'phx_reply', { status: 'ok', response: {} }]);
  return token;
}

describe('long-poll over HTTP (windowMs 300)', () => {
  let app: TestApp;
  let recorder: Recorder;
  let logs: LogCapture;

  before(async () => {
    app = await startApp(Fixtures.standard({ longpoll: { windowMs: WINDOW_MS } }));
    recorder = app.app.get(Recorder);
    logs = LogCapture.install();
  });
  after(async () => {
    logs.restore();
    await app.close();
  });

  it('answers a GET without a token with HTTP 200 {"status":410,"token":T,"messages":[]} (P-65)', async () => {
    const answer = await lpGet(app.httpBase);
    assert.equal(answer.http, 200);
    assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(Object.keys(answer.json ?? {}).sort(), ['messages', 'status', 'token']);
    assert.equal(answer.json?.status, 410);
    assert.deepEqual(answer.json?.messages, []);
    assert.match(answer.json?.token ?? '', /^lp1\.[\w-]+\.[\w-]{22}\.[\w-]{43}$/);
    const info = app.app.get(TestSocket).lastInfo!;
    assert.equal(info.transport, 'longpoll');
    assert.equal(info.uri.pathname, '/socket/longpoll');
    assert.equal(info.authToken, null, 'authToken is off by default');
  });

  it('holds a poll with nothing pending for about windowMs, then answers 204 with the same token (P-66)', async () => {
    const token = await lpSession(app.httpBase);
    const startedAt = Date.now();
    const answer = await lpGet(app.httpBase, { token });
    const heldMs = Date.now() - startedAt;
    assert.deepEqual(answer.json, { status: 204, token, messages: [] });
    assert.ok(heldMs >= WINDOW_MS - 50, `held ${heldMs}ms, the window is ${WINDOW_MS}ms`);
  });

  it('answers the poll after a POSTed join promptly with 200 and the frames oldest first (P-67)', async () => {
    const topic = uniqueTopic();
    const token = await lpSession(app.httpBase);
    const posted = await lpPost(app.httpBase, { token, lines: [['1', '1', topic, 'phx_join', { after_join: 'hi' }]] });
    assert.deepEqual(posted.json, { status: 200 });
    const answer = await lpGet(app.httpBase, { token });
    assert.equal(answer.json?.status, 200, 'frames were waiting (a poll that waited for its window would answer 204)');
    assert.equal(answer.json?.token, token);
    const frames = (answer.json?.messages ?? []).map((message) => JSON.parse(message));
    const rest = frames.length === 2 ? [] : await lpMessages(app.httpBase, token, 1);
    assert.deepEqual(
      [...frames, ...rest],
      [
        ['1', '1', topic, 'phx_reply', { status: 'ok', response: {} }],
        ['1', null, topic, 'after_join', { body: 'hi' }],
      ],
    );
  });

  it('wakes a held poll with frames produced while it waits', async () => {
    const topic = uniqueTopic();
    const token = await joinedSession(app, topic);
    const poll = lpGet(app.httpBase, { token });
    await sleep(50);
    await app.app.get(ChannelsEndpoint).broadcast(topic, 'news', { n: 1 });
    const answer = await poll;
    assert.equal(answer.json?.status, 200);
    assert.deepEqual(answer.json?.messages?.map((m) => JSON.parse(m)), [[null, null, topic, 'news', { n: 1 }]]);
  });

  it('answers a POST with a bad token {"status":410}, and a GET with a bad token with a new session (P-68)', async () => {
    const token = await lpSession(app.httpBase);
    const forged = `${token.slice(0, -4)}AAAA`;
    for (const bad of [forged, 'not-a-token', 'lp1.bm9kZQ.x.y']) {
      const posted = await lpPost(app.httpBase, { token: bad, lines: [[null, '1', 'phoenix', 'heartbeat', {}]] });
      assert.deepEqual(posted.json, { status: 410 }, `POST with ${bad}`);
      const polled = await lpGet(app.httpBase, { token: bad });
      assert.equal(polled.json?.status, 410, `GET with ${bad}`);
      assert.notEqual(polled.json?.token, bad);
      assert.notEqual(polled.json?.token, token);
    }
  });

  it('handles only the first 100 lines of an NDJSON POST and answers {"status":200} (P-69)', async () => {
    const topic = uniqueTopic();
    const token = await joinedSession(app, topic);
    const lines = Array.from({ length: 101 }, (_, i) => ['1', String(i + 2), topic, 'ping', { n: i + 1 }]);
    const posted = await lpPost(app.httpBase, { token, lines });
    assert.deepEqual(posted.json, { status: 200 });
    const replies = await lpMessages(app.httpBase, token, 100);
    assert.deepEqual(
      replies.map((frame) => frame[1]),
      Array.from({ length: 100 }, (_, i) => String(i + 2)),
    );
    const after = await lpGet(app.httpBase, { token });
    assert.deepEqual(after.json, { status: 204, token, messages: [] }, 'the 101st line was not handled');
  });

  it('reads a line not starting with "[" as a base64 binary frame, and never sends a binary frame back (P-70)', async () => {
    const topic = uniqueTopic();
    const token = await joinedSession(app, topic);
    const mark = logs.entries.length;
    const binary = clientPush('1', '2', topic, 'binary_echo', Buffer.from('efg')).toString('base64');
    const posted = await lpPost(app.httpBase, { token, lines: [binary, ['1', '3', topic, 'ping', { after: 'binary' }]] });
    assert.deepEqual(posted.json, { status: 200 });
    const [reply] = await lpMessages(app.httpBase, token, 1);
    assert.deepEqual(reply, ['1', '3', topic, 'phx_reply', { status: 'ok', response: { after: 'binary' } }], 'the binary reply was not sent');
    assert.deepEqual(recorder.of('binary', 'binary_echo').at(-1), true, 'the handler got a Buffer');
    assert.equal(
      logs.since(mark).filter((e) => e.level === 'warn' && /a binary frame for the long-poll session of .* dropped/.test(e.message)).length,
      1,
    );
  });

  it('answers HTTP 500 to a line that is not base64, keeping the session', async () => {
    const topic = uniqueTopic();
    const token = await joinedSession(app, topic);
    const posted = await lpPost(app.httpBase, { token, lines: ['not base64!'] });
    assert.equal(posted.http, 500);
    const again = await lpPost(app.httpBase, { token, lines: [['1', '2', topic, 'ping', {}]] });
    assert.deepEqual(again.json, { status: 200 });
    assert.equal((await lpMessages(app.httpBase, token, 1))[0][1], '2');
  });

  it('takes the token from x-phoenix-longpoll-token or the token query param, the header winning (P-71)', async () => {
    const topic = uniqueTopic();
    const token = await joinedSession(app, topic);
    const ping = (ref: string) => [['1', ref, topic, 'ping', {}]];
    assert.deepEqual((await lpPost(app.httpBase, { token, tokenIn: 'header', lines: ping('2') })).json, { status: 200 });
    assert.deepEqual(
      (await lpPost(app.httpBase, { query: 'vsn=2.0.0&token=bogus', token, tokenIn: 'header', lines: ping('3') })).json,
      { status: 200 },
      'a valid header beats a bogus query token',
    );
    assert.deepEqual(
      (await lpPost(app.httpBase, { query: `vsn=2.0.0&token=${encodeURIComponent(token)}`, headers: { 'x-phoenix-longpoll-token': 'bogus' }, lines: ping('4') })).json,
      { status: 410 },
      'a bogus header beats a valid query token',
    );
    const refs = (await lpMessages(app.httpBase, token, 2, { tokenIn: 'header' })).map((frame) => frame[1]);
    assert.deepEqual(refs, ['2', '3']);
  });

  it('answers with no-store and allow-origin *, answers an OPTIONS preflight, and refuses PUT with 400 (P-72)', async () => {
    const created = await lpGet(app.httpBase);
    assert.equal(created.headers['cache-control'], 'no-store');
    assert.equal(created.headers['access-control-allow-origin'], '*');
    const preflight = await httpRequest(app.httpBase, {
      method: 'OPTIONS',
      path: '/socket/longpoll?vsn=2.0.0',
      headers: { 'access-control-request-headers': 'x-phoenix-longpoll-token, content-type', origin: 'http://127.0.0.1' },
    });
    assert.equal(preflight.status, 200);
    assert.equal(preflight.headers['access-control-allow-headers'], 'x-phoenix-longpoll-token, content-type');
    assert.equal(preflight.headers['access-control-allow-methods'], 'get, post, options');
    assert.equal(preflight.headers['access-control-max-age'], '3600');
    assert.equal(preflight.headers['access-control-allow-origin'], '*');
    const put = await httpRequest(app.httpBase, { method: 'PUT', path: '/socket/longpoll?vsn=2.0.0' });
    assert.equal(put.status, 400);
    assert.equal(put.body, '');
    assert.equal(put.headers['cache-control'], 'no-store');
  });

  it('answers {"status":403} to a refused origin, a refusing connect and a bad vsn (P-73, P-06, P-05)', async () => {
    const foreign = await lpGet(app.httpBase, { headers: { origin: 'https://evil.example.com' } });
    assert.equal(foreign.http, 200);
    assert.deepEqual(foreign.json, { status: 403 });
    const session = await lpSession(app.httpBase);
    assert.deepEqual((await lpPost(app.httpBase, { token: session, headers: { origin: 'https://evil.example.com' }, lines: [] })).json, { status: 403 }, 'every request is checked');
    assert.equal((await lpGet(app.httpBase, { headers: { origin: 'http://127.0.0.1:1' } })).json?.status, 410, 'the request host is accepted');
    assert.deepEqual((await lpGet(app.httpBase, { query: 'vsn=2.0.0&refuse=1' })).json, { status: 403 });
    assert.deepEqual((await lpGet(app.httpBase, { query: 'vsn=2.0.0&throw=1' })).json, { status: 403 });
    for (const vsn of ['2.1.0', '3.0.0', '2.0', 'abc']) {
      assert.deepEqual((await lpGet(app.httpBase, { query: `vsn=${vsn}` })).json, { status: 403 }, `vsn=${vsn}`);
    }
  });

  it('speaks V1 without vsn: one object frame per POST of another content type, V1 objects back', async () => {
    const topic = uniqueTopic();
    const token = await lpSession(app.httpBase, { query: '' });
    const join = JSON.stringify({ topic, event: 'phx_join', payload: {}, ref: '1' });
    assert.deepEqual((await lpPost(app.httpBase, { query: '', token, body: join, contentType: 'application/json' })).json, { status: 200 });
    const [reply] = await lpMessages(app.httpBase, token, 1, { query: 'vsn=2.0.0' });
    assert.deepEqual(
      reply,
      { topic, event: 'phx_reply', payload: { status: 'ok', response: {} }, ref: '1' },
      'the serializer is fixed at session creation; vsn on later requests is ignored',
    );
  });

  it('ends a session on a malformed frame: that POST gets 408, later ones 410, and other sessions go on', async () => {
    const topic = uniqueTopic();
    const victim = await joinedSession(app, topic);
    const bystander = await joinedSession(app, topic);
    const mark = logs.entries.length;
    const posted = await lpPost(app.httpBase, { token: victim, lines: ['[not json', ['1', '2', topic, 'ping', {}]] });
    assert.deepEqual(posted.json, { status: 408 });
    assert.deepEqual((await lpPost(app.httpBase, { token: victim, lines: [['1', '3', topic, 'ping', {}]] })).json, { status: 410 });
    const renewed = await lpGet(app.httpBase, { token: victim });
    assert.equal(renewed.json?.status, 410);
    assert.notEqual(renewed.json?.token, victim, 'the next poll starts a new session');
    assert.ok(logs.since(mark).some((e) => e.level === 'warn' && /malformed frame from/.test(e.message)));
    await eventually(() => recorder.of('terminate', topic).length === 1, 'the victim channel terminated');
    assert.deepEqual(recorder.of('terminate', topic), [{ shutdown: 'closed' }]);
    assert.deepEqual((await lpPost(app.httpBase, { token: bystander, lines: [['1', '2', topic, 'ping', { ok: 1 }]] })).json, { status: 200 });
    assert.deepEqual((await lpMessages(app.httpBase, bystander, 1))[0], ['1', '2', topic, 'phx_reply', { status: 'ok', response: { ok: 1 } }]);
  });

  it('ends a session not polled for 1.5 × windowMs: channels terminate { shutdown: "inactive" }, a later POST gets 410 (P-75)', async () => {
    const topic = uniqueTopic();
    const token = await joinedSession(app, topic);
    const leftAt = Date.now();
    await eventually(() => recorder.of('terminate', topic).length === 1, 'the session ended', 5000);
    const endedAfter = Date.now() - leftAt;
    assert.deepEqual(recorder.of('terminate', topic), [{ shutdown: 'inactive' }]);
    // The server counts from its answer to the last poll, a little before the client has it.
    assert.ok(endedAfter >= WINDOW_MS, `ended ${endedAfter}ms after the last poll, not at once`);
    assert.deepEqual((await lpPost(app.httpBase, { token, lines: [['1', '2', topic, 'ping', {}]] })).json, { status: 410 });
  });

  it('keeps a session that is polled, however long (P-75)', async () => {
    const topic = uniqueTopic();
    const token = await joinedSession(app, topic);
    for (let i = 0; i < 3; i++) assert.equal((await lpGet(app.httpBase, { token })).json?.status, 204);
    assert.deepEqual(recorder.of('terminate', topic), []);
  });

  it('ends the session on a disconnect of its socket id: the held poll gets 410, the next poll a new session (P-76)', async () => {
    const topic = uniqueTopic();
    const id = `lp-user-${process.pid}-${Date.now()}`;
    const query = `vsn=2.0.0&id=${id}`;
    const token = await joinedSession(app, topic, query);
    const poll = lpGet(app.httpBase, { query, token });
    await sleep(50);
    await app.app.get(ChannelsEndpoint).disconnect(id);
    const held = await poll;
    assert.deepEqual(held.json, { status: 410 }, 'answered by the session ending (a window ending answers 204)');
    await eventually(() => recorder.of('terminate', topic).length === 1, 'the channel terminated');
    assert.deepEqual(recorder.of('terminate', topic), [{ shutdown: 'disconnected' }]);
    const next = await lpGet(app.httpBase, { query, token });
    assert.equal(next.json?.status, 410);
    assert.notEqual(next.json?.token, token);
  });

  it('lets the first GET carry a user param named token to connect, as Phoenix 1.8 clients send it', async () => {
    const answer = await lpGet(app.httpBase, { query: 'vsn=2.0.0&token=eyJhbGciOi.eyJzdWIiOiIxIn0.sig' });
    assert.equal(answer.json?.status, 410);
    assert.equal(app.app.get(TestSocket).lastParams?.token, 'eyJhbGciOi.eyJzdWIiOiIxIn0.sig');
  });
});

describe('long-poll limits and their answers', () => {
  let app: TestApp;
  let recorder: Recorder;
  let logs: LogCapture;

  before(async () => {
    app = await startApp(
      Fixtures.standard({ longpoll: { windowMs: 2000, maxBufferedMessages: 5, maxBodySize: 300 } }),
    );
    recorder = app.app.get(Recorder);
    logs = LogCapture.install();
  });
  after(async () => {
    logs.restore();
    await app.close();
  });

  it('ends a session holding more than maxBufferedMessages frames; its next poll starts a new session', async () => {
    const topic = uniqueTopic();
    const token = await joinedSession(app, topic);
    const endpoint = app.app.get(ChannelsEndpoint);
    for (let i = 0; i < 6; i++) await endpoint.broadcast(topic, 'news', { i });
    await eventually(() => recorder.of('terminate', topic).length === 1, 'the overflowing session ended');
    assert.deepEqual(recorder.of('terminate', topic), [{ shutdown: 'closed' }]);
    assert.ok(logs.find('warn', /ending the long-poll session of .*: 5 frames .* longpoll\.maxBufferedMessages 5/).length >= 1);
    const next = await lpGet(app.httpBase, { token });
    assert.equal(next.json?.status, 410);
    assert.notEqual(next.json?.token, token);
  });

  it('keeps a session at exactly maxBufferedMessages frames', async () => {
    const topic = uniqueTopic();
    const token = await joinedSession(app, topic);
    const endpoint = app.app.get(ChannelsEndpoint);
    for (let i = 0; i < 5; i++) await endpoint.broadcast(topic, 'news', { i });
    const answer = await lpGet(app.httpBase, { token });
    assert.equal(answer.json?.status, 200);
    assert.equal(answer.json?.messages?.length, 5);
  });

  it('answers HTTP 400 to a body over maxBodySize, and the session goes on', async () => {
    const topic = uniqueTopic();
    const token = await joinedSession(app, topic);
    const big = await lpPost(app.httpBase, { token, lines: [['1', '2', topic, 'ping', { pad: 'x'.repeat(400) }]] });
    assert.equal(big.http, 400);
    assert.equal(big.raw, '');
    assert.ok(logs.find('warn', /over longpoll\.maxBodySize \(300 bytes\); answered 400/).length >= 1);
    assert.deepEqual((await lpPost(app.httpBase, { token, lines: [['1', '3', topic, 'ping', {}]] })).json, { status: 200 });
    assert.equal((await lpMessages(app.httpBase, token, 1))[0][1], '3');
  });
});

describe('long-poll maxSessions', () => {
  let app: TestApp;
  let logs: LogCapture;

  before(async () => {
    app = await startApp(Fixtures.standard({ longpoll: { maxSessions: 2 } }));
    logs = LogCapture.install();
  });
  after(async () => {
    logs.restore();
    await app.close();
  });

  it('answers HTTP 503 to a new session past maxSessions, and admits one again once a session ends', async () => {
    const id = `lp-limit-${process.pid}-${Date.now()}`;
    await lpSession(app.httpBase, { query: `vsn=2.0.0&id=${id}` });
    await lpSession(app.httpBase);
    const refused = await lpGet(app.httpBase);
    assert.equal(refused.http, 503);
    assert.equal(refused.raw, '', 'an empty body, which phoenix.js retries as it retries a 500');
    assert.equal((await lpGet(app.httpBase)).http, 503);
    assert.equal(logs.find('warn', /refusing new long-poll sessions on \/socket\/longpoll with 503: the node holds 2 sessions/).length, 1, 'logged once');
    await app.app.get(ChannelsEndpoint).disconnect(id);
    await eventually(() => app.app.get(ChannelsHost).mounts[0]!.connections.size === 1, 'the disconnected session ended');
    assert.equal((await lpGet(app.httpBase)).json?.status, 410);
  });
});

describe('long-poll POST while the connection holds frames for its socket id', () => {
  let app: TestApp;

  before(async () => {
    app = await startApp(Fixtures.standard({ longpoll: { windowMs: 200 }, pubsub: new SlowIdPubSub(1000) }));
  });
  after(() => app.close());

  it('answers 408 to a frame not handled within windowMs, and handles it once the connection can (P-74)', async () => {
    const topic = uniqueTopic();
    const query = `vsn=2.0.0&id=slowid:${process.pid}`;
    const token = await lpSession(app.httpBase, { query });
    const startedAt = Date.now();
    const posted = await lpPost(app.httpBase, { query, token, lines: [['1', '1', topic, 'phx_join', {}]] });
    assert.deepEqual(posted.json, { status: 408 });
    assert.ok(Date.now() - startedAt >= 150, 'it waited for the window');
    const [reply] = await lpMessages(app.httpBase, token, 1, { query }, 3000);
    assert.deepEqual(reply, ['1', '1', topic, 'phx_reply', { status: 'ok', response: {} }]);
  });
});

describe('long-poll at shutdown', () => {
  it('ends every session on app.close(): channels terminate { shutdown: "draining" } and a held poll gets 410', async () => {
    const app = await startApp(Fixtures.standard({ longpoll: { windowMs: 5000 } }));
    const recorder = app.app.get(Recorder);
    const topic = uniqueTopic();
    const token = await joinedSession(app, topic);
    const held = lpGet(app.httpBase, { token });
    await sleep(50);
    const closing = app.close();
    assert.deepEqual((await held).json, { status: 410 });
    await closing;
    assert.deepEqual(recorder.of('terminate', topic), [{ shutdown: 'draining' }]);
  });
});

describe('long-poll off (the default)', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(Fixtures.standard());
  });
  after(() => app.close());

  it('leaves /socket/longpoll to the app, which answers 404', async () => {
    const answer = await lpGet(app.httpBase);
    assert.equal(answer.http, 404);
  });
});
