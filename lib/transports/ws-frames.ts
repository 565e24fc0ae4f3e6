/**
 * The one place that reaches into `ws` internals: framing a message once and
 * writing the bytes straight to the TCP socket, so a broadcast is framed once
 * for every subscriber and a connection's frames of one tick leave in one
 * write (the fastlane's last step; `npm run bench` shows what it buys). When
 * ws is busy with something of its own (compression, a queued frame, a
 * close), `framesItself` or `senderIdle` says no and callers use the public `send`.
 */
import * as ws from 'ws';
import type { Socket as NetSocket } from 'node:net';
import type { WebSocket } from 'ws';

// `Sender` is exported by ws at run time but absent from its typings.
const Sender = (ws as unknown as { Sender: { frame: (data: Buffer, options: object) => Buffer[] } }).Sender;

interface WebSocketInternals {
  _sender?: { _state?: number; _queue?: unknown[] } | null;
  _socket?: NetSocket | null;
}

const TEXT = { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false };
const BINARY = { fin: true, rsv1: false, opcode: 2, mask: false, readOnly: false };

/** One unmasked WebSocket frame for `data` (text for a string, binary for a Buffer), as a single buffer. */
export function frameOnce(data: string | Buffer): Buffer {
  const binary = typeof data !== 'string';
  const parts = Sender.frame(binary ? data : Buffer.from(data), binary ? BINARY : TEXT);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** The TCP socket under a ws WebSocket, or null. */
export function rawSocket(socket: WebSocket): NetSocket | null {
  return (socket as unknown as WebSocketInternals)._socket ?? null;
}

/**
 * True when frames we build may be written straight to the TCP socket: no
 * extension (compression) was negotiated. Fixed at the handshake, so asked once.
 */
export function framesItself(socket: WebSocket): boolean {
  return socket.extensions === '';
}

/**
 * True when bytes written straight to the TCP socket keep their order with
 * whatever ws writes itself: nothing is queued in ws's sender.
 */
export function senderIdle(socket: WebSocket): boolean {
  const sender = (socket as unknown as WebSocketInternals)._sender;
  return sender != null && sender._state === 0 && Array.isArray(sender._queue) && sender._queue.length === 0;
}
