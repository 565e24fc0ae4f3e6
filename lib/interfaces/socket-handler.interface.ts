import type { IncomingHttpHeaders } from 'node:http';

/** What `connect` learns of the request (PROTOCOL.md 1.6). @publicApi */
export interface ConnectInfo {
  readonly peerData: { readonly address: string; readonly port: number };
  readonly uri: URL;
  readonly headers: IncomingHttpHeaders;
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
