/**
 * The `Sec-WebSocket-Protocol` offer of an upgrade: the `phoenix` client's
 * auth token, and the subprotocol the server answers with.
 *
 * phoenix.js with `authToken` offers `["phoenix", "base64url.bearer.phx." + B]`
 * where B is `btoa(token)` without its `=` padding (the standard alphabet,
 * despite the prefix). With the `authToken` option on, that entry is taken
 * out of the offer, decoded, and `phoenix` becomes an accepted subprotocol.
 * With `subprotocols` configured (or the token on), the first accepted
 * subprotocol the client offered is selected; an offer of only others is
 * refused with 403. With neither, the offer is ignored: no subprotocol is
 * selected.
 */

/** The prefix phoenix.js puts before the encoded token. */
export const AUTH_TOKEN_PREFIX = 'base64url.bearer.phx.';
const PHOENIX_SUBPROTOCOL = 'phoenix';
const UNPADDED_BASE64 = /^[A-Za-z0-9+/]*$/;

export type SubprotocolOutcome =
  | { readonly ok: true; readonly selected: string | null; readonly authToken: string | null }
  | { readonly ok: false; readonly status: 400 | 403; readonly why: string };

/** Decides on one upgrade's offer; `header` is the raw `Sec-WebSocket-Protocol` value, if any. */
export function negotiateSubprotocols(
  header: string | undefined,
  options: { readonly authToken: boolean; readonly subprotocols: readonly string[] | null },
): SubprotocolOutcome {
  let offered = header === undefined ? [] : header.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  let authToken: string | null = null;
  let accepted = options.subprotocols;
  if (options.authToken) {
    accepted = [PHOENIX_SUBPROTOCOL, ...(options.subprotocols ?? [])];
    const carrying = offered.filter((entry) => entry.startsWith(AUTH_TOKEN_PREFIX));
    // Exactly one entry carries the token; anything else leaves the offer as it came, as Phoenix does.
    if (carrying.length === 1) {
      authToken = decodeUnpaddedBase64(carrying[0]!.slice(AUTH_TOKEN_PREFIX.length));
      if (authToken === null) return { ok: false, status: 400, why: 'the auth token in Sec-WebSocket-Protocol is not base64' };
      offered = offered.filter((entry) => entry !== carrying[0]);
    }
  }
  if (accepted === null || offered.length === 0) return { ok: true, selected: null, authToken };
  const selected = accepted.find((protocol) => offered.includes(protocol));
  if (selected === undefined) {
    return {
      ok: false,
      status: 403,
      why: `none of the offered subprotocols ${offered.join(', ')} is accepted (subprotocols: ${accepted.join(', ')})`,
    };
  }
  return { ok: true, selected, authToken };
}

/** The token as phoenix.js's `atob` would give it back (one character per byte), or null when not base64. */
function decodeUnpaddedBase64(encoded: string): string | null {
  if (!UNPADDED_BASE64.test(encoded) || encoded.length % 4 === 1) return null;
  return Buffer.from(encoded, 'base64').toString('latin1');
}
