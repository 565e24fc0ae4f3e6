/**
 * The one place that reaches into `ws` internals: framing a broadcast once
 * and writing those bytes to many sockets (the fastlane's last step). The
 * benchmark in bench/ shows what it buys; if `ws` changes shape, the checks
 * below make every write fall back to the public `send`.
 */
import * as ws from 'ws';
import type { WebSocket } from 'ws';

// `Sender` is exported by ws at run time but absent from its typings.
const Sender = (ws as unknown as { Sender: { frame: (data: Buffer, options: object) => Buffer[] } }).Sender;

interface SenderInternals {
  _state?: number;
  _queue?: unknown[];
}

interface WebSocketInternals {
  _sender?: SenderInternals | null;
  _socket?: import('node:net').Socket | null;
}

/** The unmasked frame for `data`, as the list of buffers to write. */
export function frameOnce(data: string | Buffer): Buffer[] {
  const binary = typeof data !== 'string';
  const payload = binary ? data : Buffer.from(data);
  return Sender.frame(payload, {
    fin: true,
    rsv1: false,
    opcode: binary ? 2 : 1,
    mask: false,
    readOnly: false,
  });
}

/** The raw socket under a ws WebSocket, or null. */
export function rawSocket(ws: WebSocket): import('node:net').Socket | null {
  return (ws as unknown as WebSocketInternals)._socket ?? null;
}

/**
 * Writes a pre-built frame straight to the socket when ws has nothing queued
 * (so order is kept); returns false when the caller must use `ws.send`.
 */
export function writeFramed(ws: WebSocket, frame: Buffer[]): boolean {
  const internals = ws as unknown as WebSocketInternals;
  const sender = internals._sender;
  const socket = internals._socket;
  if (!sender || !socket || sender._state !== 0 || !Array.isArray(sender._queue) || sender._queue.length !== 0) {
    return false;
  }
  for (const part of frame) socket.write(part);
  return true;
}
