import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newSessionId, readToken, signToken, verifyToken } from './longpoll-token.js';

describe('long-poll session tokens', () => {
  it('name the node and session, and verify only for the mount and node they were signed for', () => {
    const id = newSessionId();
    const token = signToken('/socket/longpoll', 'node-a', id);
    const address = readToken(token)!;
    assert.equal(address.node, 'node-a');
    assert.equal(address.sessionId, id);
    assert.equal(verifyToken('/socket/longpoll', address), true);
    assert.equal(verifyToken('/admin/longpoll', address), false, 'another mount');
    assert.equal(verifyToken('/socket/longpoll', { ...address, node: 'node-b' }), false, 'another node');
    assert.equal(verifyToken('/socket/longpoll', { ...address, sessionId: newSessionId() }), false, 'another session');
  });

  it('are unguessable: 16 random bytes of session id', () => {
    const ids = new Set(Array.from({ length: 1000 }, newSessionId));
    assert.equal(ids.size, 1000);
    for (const id of ids) assert.match(id, /^[\w-]{22}$/);
  });

  it('never read a JWT or other user token as a session token', () => {
    for (const text of ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc', 'abc', '', 'lp1.x.y.z', `lp1..${newSessionId()}.${'A'.repeat(43)}`]) {
      assert.equal(readToken(text), null, text);
    }
  });
});
