import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { negotiateSubprotocols } from './subprotocols.js';

const off = { authToken: false, subprotocols: null };
const token = { authToken: true, subprotocols: null };

describe('negotiateSubprotocols', () => {
  it('ignores any offer when neither authToken nor subprotocols is set', () => {
    assert.deepEqual(negotiateSubprotocols('phoenix, base64url.bearer.phx.dA', off), { ok: true, selected: null, authToken: null });
    assert.deepEqual(negotiateSubprotocols(undefined, off), { ok: true, selected: null, authToken: null });
  });

  it('decodes the phoenix.js token (standard alphabet, no padding) and selects phoenix', () => {
    const encoded = btoa('tok>en~').replace(/=/g, '');
    assert.equal(encoded, 'dG9rPmVufg', 'btoa pads with =, which phoenix.js strips');
    assert.deepEqual(negotiateSubprotocols(`phoenix, base64url.bearer.phx.${encoded}`, token), {
      ok: true,
      selected: 'phoenix',
      authToken: 'tok>en~',
    });
  });

  it('upgrades without a subprotocol when the token was the only offer', () => {
    assert.deepEqual(negotiateSubprotocols('base64url.bearer.phx.dA', token), { ok: true, selected: null, authToken: 't' });
  });

  it('reads no token from two token entries, as Phoenix does', () => {
    assert.deepEqual(negotiateSubprotocols('phoenix, base64url.bearer.phx.dA, base64url.bearer.phx.dQ', token), {
      ok: true,
      selected: 'phoenix',
      authToken: null,
    });
  });

  it('refuses a token that is not base64 with 400', () => {
    assert.deepEqual(negotiateSubprotocols('phoenix, base64url.bearer.phx.a', token), {
      ok: false,
      status: 400,
      why: 'the auth token in Sec-WebSocket-Protocol is not base64',
    });
    assert.equal(negotiateSubprotocols('base64url.bearer.phx.dA-_', token).ok, false);
  });

  it('selects the first configured subprotocol offered, and refuses an offer of only others with 403 (P-11)', () => {
    const configured = { authToken: false, subprotocols: ['mqtt', 'v2.chat'] };
    assert.deepEqual(negotiateSubprotocols('v2.chat, mqtt', configured), { ok: true, selected: 'mqtt', authToken: null });
    assert.deepEqual(negotiateSubprotocols('graphql-ws', configured), {
      ok: false,
      status: 403,
      why: 'none of the offered subprotocols graphql-ws is accepted (subprotocols: mqtt, v2.chat)',
    });
    assert.deepEqual(
      negotiateSubprotocols('phoenix, base64url.bearer.phx.dA', { authToken: true, subprotocols: ['mqtt'] }),
      { ok: true, selected: 'phoenix', authToken: 't' },
      'phoenix joins the accepted list when authToken is on',
    );
  });
});
