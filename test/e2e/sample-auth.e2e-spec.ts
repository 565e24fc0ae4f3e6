/**
 * The sample's connect tokens end to end: a JWT from `POST /api/token`
 * (signed and expiring, with @nestjs/jwt), checked by the sample's socket
 * handler when the `phoenix` client connects with `authToken` over WebSocket
 * or long-poll, or with a `token` param. Expired, forged and absent tokens
 * are refused with HTTP 403 (and `{"status":403}` on long-poll).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JwtService } from '@nestjs/jwt';
import { LongPoll, type Socket as PhoenixSocket, type SocketConnectOption } from 'phoenix';
import { AppModule } from '../../sample/app.module.js';
import { TOKEN_TTL_SECONDS } from '../../sample/token.service.js';
import { httpRequest } from '../support/http-request.js';
import { lpGet } from '../support/longpoll-client.js';
import { eventually, joined, nextEvent, sleep, uniqueTopic } from '../support/phoenix-helpers.js';
import { startApp, type ClientOptions, type TestApp } from '../support/test-app.js';

const LongPollTransport = LongPoll as unknown as SocketConnectOption['transport'];
const WS_PATH = '/socket/websocket?vsn=2.0.0';
/** How long a refused client is watched: it retries every 50 ms, so it has tried several times by then. */
const REFUSED_WATCH_MS = 600;

/** What phoenix.js offers in Sec-WebSocket-Protocol for `authToken: token`. */
function offer(token: string): string {
  return `phoenix, base64url.bearer.phx.${btoa(token).replace(/=/g, '')}`;
}

/** A JWT with `alg: none`: claims anyone can write, with no signature. */
function unsigned(claims: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

describe('the sample connects only with a signed, unexpired token', () => {
  let app: TestApp;
  let jwt: JwtService;
  let valid: string;
  let expired: string;
  let forged: string;

  before(async () => {
    app = await startApp(AppModule);
    jwt = app.app.get(JwtService);
    valid = await issue('alice');
    expired = await jwt.signAsync({ sub: 'alice' }, { expiresIn: -10 });
    forged = new JwtService({ secret: 'a key the server does not have' }).sign({ sub: 'alice' }, { audience: 'chat-socket', expiresIn: 60 });
  });
  after(() => app?.close());

  async function issue(user: string): Promise<string> {
    const answer = await httpRequest(app.httpBase, {
      method: 'POST',
      path: '/api/token',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user }),
    });
    assert.equal(answer.status, 200, answer.body);
    return (JSON.parse(answer.body) as { token: string }).token;
  }

  /** A phoenix client that must never open: resolves with the errors it reported while retrying. */
  async function refusedClient(options: ClientOptions): Promise<unknown[]> {
    const errors: unknown[] = [];
    let opened = false;
    const socket: PhoenixSocket = app.client(options);
    socket.onOpen(() => {
      opened = true;
    });
    socket.onError((error) => {
      errors.push(error);
    });
    await eventually(() => errors.length >= 2, 'the client was refused twice');
    await sleep(REFUSED_WATCH_MS);
    socket.disconnect();
    assert.equal(opened, false, 'the connection opened');
    return errors;
  }

  /** The status of a WebSocket upgrade offering `token` as phoenix.js's authToken does (or no token). */
  async function upgradeStatus(token?: string): Promise<number> {
    const headers: Record<string, string> = token === undefined ? {} : { 'sec-websocket-protocol': offer(token) };
    return (await httpRequest(app.httpBase, { path: WS_PATH, upgrade: true, headers })).status;
  }

  it('issues a token for a valid name from POST /api/token, expiring after the documented time, and answers 400 to a bad name', async () => {
    const answer = await httpRequest(app.httpBase, {
      method: 'POST',
      path: '/api/token',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'bob' }),
    });
    assert.equal(answer.status, 200);
    const { token, expiresAt } = JSON.parse(answer.body) as { token: string; expiresAt: number };
    const claims = jwt.decode<{ sub: string; aud: string; exp: number; iat: number }>(token);
    assert.equal(claims.sub, 'bob');
    assert.equal(claims.aud, 'chat-socket');
    assert.equal(claims.exp - claims.iat, TOKEN_TTL_SECONDS);
    assert.equal(expiresAt, claims.exp * 1000);
    for (const body of [{ user: 'not valid!' }, { user: 'x'.repeat(33) }, {}, { user: 7 }]) {
      const bad = await httpRequest(app.httpBase, {
        method: 'POST',
        path: '/api/token',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(bad.status, 400, JSON.stringify(body));
    }
  });

  it('connects the phoenix client with a valid token in authToken over WebSocket, as the user the token names', async () => {
    const socket = app.client({ authToken: valid, params: { user: 'mallory' } } as never);
    const channel = socket.channel(uniqueTopic());
    const hello = nextEvent(channel, 'hello');
    await joined(channel);
    assert.deepEqual(await hello, { user: 'alice' }, 'a user param must not override the token');
    assert.equal(await upgradeStatus(valid), 101);
  });

  it('connects the phoenix LongPoll client with a valid token, which it sends in x-phoenix-authtoken', async () => {
    const socket = app.client({ transport: LongPollTransport, authToken: valid } as never);
    const channel = socket.channel(uniqueTopic());
    const hello = nextEvent(channel, 'hello');
    await joined(channel);
    assert.deepEqual(await hello, { user: 'alice' });
    socket.disconnect();
  });

  it('connects a client without the authToken option that sends the token as a param', async () => {
    const socket = app.client({ params: { token: valid } });
    const channel = socket.channel(uniqueTopic());
    const hello = nextEvent(channel, 'hello');
    await joined(channel);
    assert.deepEqual(await hello, { user: 'alice' });
  });

  it('refuses an expired token with HTTP 403: the phoenix client never opens, over WebSocket or long-poll', async () => {
    assert.equal(await upgradeStatus(expired), 403);
    const errors = await refusedClient({ authToken: expired } as never);
    assert.match(String((errors[0] as { message?: string }).message), /403/);
    const polled = await lpGet(app.httpBase, { headers: { 'x-phoenix-authtoken': expired } });
    assert.equal(polled.json?.status, 403);
    const longpollErrors = await refusedClient({ transport: LongPollTransport, authToken: expired } as never);
    assert.equal(longpollErrors[0], 403, 'the LongPoll client reports the 403 it was answered');
  });

  it('refuses forged tokens with HTTP 403: another key, no signature (alg none), another audience, garbage', async () => {
    const otherAudience = await jwt.signAsync({ sub: 'alice' }, { audience: 'another-service' });
    for (const token of [forged, unsigned({ sub: 'alice', aud: 'chat-socket' }), otherAudience, 'not-a-jwt']) {
      assert.equal(await upgradeStatus(token), 403, token);
    }
    const errors = await refusedClient({ authToken: forged } as never);
    assert.match(String((errors[0] as { message?: string }).message), /403/);
    await refusedClient({ params: { token: forged } });
  });

  it('refuses a connection without a token with HTTP 403', async () => {
    assert.equal(await upgradeStatus(), 403);
    await refusedClient({});
    await refusedClient({ params: { user: 'alice' } });
    const polled = await lpGet(app.httpBase);
    assert.equal(polled.json?.status, 403);
  });

  it('tells, on GET /api/token, whether a token would be accepted and why not', async () => {
    const check = (token?: string) =>
      httpRequest(app.httpBase, { path: '/api/token', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    const ok = await check(valid);
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).user, 'alice');
    for (const [token, reason] of [
      [expired, 'expired'],
      [forged, 'invalid'],
      [undefined, 'missing'],
    ] as const) {
      const refused = await check(token);
      assert.equal(refused.status, 401);
      assert.equal(JSON.parse(refused.body).reason, reason);
    }
  });
});
