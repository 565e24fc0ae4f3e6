/**
 * `ConnectInfo.cookies` (issue 15): the cookie case of authentication. The
 * `Cookie` header of the WebSocket upgrade, of the long-poll request that
 * creates a session, and of the test kit's `info.headers` reaches `connect`
 * parsed, values decoded, in an object that inherits nothing from
 * `Object.prototype`, where `__proto__` is only a key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChannelTest } from '../../lib/testing/index.js';
import { Fixtures } from '../fixtures/fixtures.js';
import { TestSocket } from '../fixtures/test.socket.js';
import { lpSession } from '../support/longpoll-client.js';
import { startApp, type TestApp } from '../support/test-app.js';

const COOKIE = 'sid=s%3Aabc.def; theme=dark; __proto__=x; empty=';

describe('ConnectInfo.cookies (issue 15)', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(Fixtures.standard({ longpoll: true }));
  });
  after(() => app.close());

  const assertParsed = (cookies: Readonly<Record<string, string | undefined>>) => {
    assert.equal(cookies.sid, 's:abc.def', 'URI-decoded');
    assert.equal(cookies.theme, 'dark');
    assert.equal(cookies.empty, '');
    assert.equal(Object.prototype.isPrototypeOf(cookies), false, 'nothing inherited from Object.prototype');
    assert.equal('toString' in cookies, false);
    assert.equal(Object.getOwnPropertyDescriptor(cookies, '__proto__')?.value, 'x', '__proto__ is an own key like any other');
    assert.equal(({} as Record<string, unknown>).x, undefined, 'Object.prototype untouched');
  };

  it('parses the Cookie header of a WebSocket upgrade for connect', async () => {
    const handler = app.app.get(TestSocket);
    await app.raw({ headers: { cookie: COOKIE } });
    assertParsed(handler.lastInfo!.cookies);
    assert.equal(handler.lastInfo!.headers.cookie, COOKIE, 'the raw header stays in headers');
  });

  it('gives an empty object without a Cookie header', async () => {
    const handler = app.app.get(TestSocket);
    await app.raw();
    assert.deepEqual({ ...handler.lastInfo!.cookies }, {});
  });

  it('parses the Cookie header of the long-poll request that creates the session', async () => {
    const handler = app.app.get(TestSocket);
    await lpSession(app.httpBase, { headers: { cookie: COOKIE } });
    assert.equal(handler.lastInfo!.transport, 'longpoll');
    assertParsed(handler.lastInfo!.cookies);
  });

  it('parses a cookie header given to the test kit in info.headers', async () => {
    const kit = await ChannelTest.create({ providers: [TestSocket], socket: TestSocket });
    try {
      await kit.connect({}, { info: { headers: { cookie: COOKIE } } });
      assertParsed(kit.get(TestSocket).lastInfo!.cookies);
    } finally {
      await kit.close();
    }
  });
});
