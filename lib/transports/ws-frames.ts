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

/**
 * One unmasked WebSocket frame for `data` (text for a string, binary for a
 * Buffer), as a single buffer: the header (RFC 6455 5.2, the same bytes as
 * ws's `Sender.frame`) and the payload written into one allocation, rather
 * than the payload's bytes, a header and their concatenation.
 */
export function frameOnce(data: string | Buffer): Buffer {
  const text = typeof data === 'string';
  const length = text ? Buffer.byteLength(data) : data.length;
  const head = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  frame[0] = text ? 0x81 : 0x82; // FIN + text or binary opcode
  if (head === 2) frame[1] = length;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  if (text) frame.write(data, head, length, 'utf8');
  else data.copy(frame, head);
  return frame;
}

/** ws's own framing of `data`, as one buffer: what `frameOnce` must equal (its spec compares them). @internal */
export function wsFrame(data: string | Buffer): Buffer {
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
