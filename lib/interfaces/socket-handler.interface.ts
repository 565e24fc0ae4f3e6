import type { IncomingHttpHeaders } from 'node:http';

/**
 * What `connect` learns of the request: the peer, the URL, the headers, the
 * cookies and the `phoenix` client's `authToken`.
 *
 * For a cookie-based session, read the session cookie from `cookies` and
 * verify it as your HTTP side does (a signed or encrypted cookie, a session
 * id looked up in your store). Browsers send cookies on a WebSocket upgrade
 * and on long-poll requests to the same site; keep `checkOrigin` on, since
 * a cookie is also sent when another site opens the socket.
 *
 * Over WebSocket, `peerData`, `uri` and `cookies` are getters, computed when
 * first read: read them by name (`const { peerData, cookies } = info`);
 * a spread (`{ ...info }`) does not copy them.
 *
 * @example
 * async connect(params: Record<string, string>, socket: Socket, info: ConnectInfo) {
 *   const user = await this.sessions.userFor(info.cookies.sid);
 *   if (user === null) return false;
 *   socket.assign('userId', user.id);
 *   return true;
 * }
 * @publicApi
 */
export interface ConnectInfo {
  /**
   * The client's address and port. Read from the socket when first asked
   * (it costs a system call, which connections that never ask are spared):
   * read it in `connect`, not after the connection has closed.
   */
  readonly peerData: { readonly address: string; readonly port: number };
  readonly uri: URL;
  readonly headers: IncomingHttpHeaders;
  /**
   * The request's cookies by name, parsed from its `Cookie` header (values
   * URI-decoded where they can be; empty without the header). The object
   * inherits nothing from `Object.prototype`, so a cookie named `__proto__`
   * or `toString` is just a key.
   */
  readonly cookies: Readonly<Record<string, string | undefined>>;
  /** The transport, `'websocket'`, `'longpoll'` or `'test'`. */
  readonly transport: string;
  /**
   * The `phoenix` client's `authToken`, when the `authToken` option is on and
   * the client sent one; otherwise null.
   */
  readonly authToken: string | null;
}

/**
 * The connection as the socket handler sees it: assigns to set, and the id
 * once `id()` has run. Assigns are copied into every channel joined on it.
 *
 * @publicApi
 */
export interface Socket {
  readonly assigns: Record<string, any>;
  readonly id: string | null;
  /** Sets one assign, or merges a record of them. */
  assign(key: string, value: unknown): this;
  assign(values: Record<string, unknown>): this;
}

/**
 * The analogue of `Phoenix.Socket`'s `connect/3` and `id/1`, as a provider.
 * Only `true` from `connect` accepts; anything else (false, a throw) refuses
 * the upgrade with HTTP 403.
 *
 * @publicApi
 */
export interface SocketHandler {
  connect(params: Record<string, any>, socket: Socket, info: ConnectInfo): boolean | Promise<boolean>;
  id?(socket: Socket): string | null;
}
