/**
 * The WebSocket transport: one per connection, over a `ws` socket. Writes are
 * corked for the rest of the tick, so a burst of frames leaves in few TCP
 * writes; fastlaned broadcasts are framed once and the same bytes written to
 * every socket. A connection whose unsent bytes pass `maxBufferedBytes` is
 * closed as a slow consumer instead of growing memory without bound.
 */
import { Logger } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { MESSAGES } from '../channels.messages.js';
import type { SharedFrame } from '../pubsub/fastlane.js';
import type { OutFrame } from '../serializers/serializer.interface.js';
import type { SocketConnection } from '../socket/socket-connection.js';
import type { Transport } from '../socket/transport.interface.js';
import { frameOnce, rawSocket, writeFramed } from './ws-frames.js';

const OPEN = 1;
const logger = new Logger('WebSocketTransport');

function uncork(transport: WebSocketTransport): void {
  transport.uncork();
}

export class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  connection: SocketConnection | null = null;
  private corked = false;
  private closing = false;

  constructor(
    readonly ws: WebSocket,
    readonly peer: string,
    private readonly maxBufferedBytes: number,
  ) {}

  send(frame: OutFrame): void {
    const ws = this.ws;
    if (ws.readyState !== OPEN || this.closing) return;
    this.cork();
    if (typeof frame === 'string') ws.send(frame);
    else if (Buffer.isBuffer(frame)) ws.send(frame, { binary: true });
    else {
      logger.error(`a serializer produced a ${typeof frame} frame, which a WebSocket cannot carry; dropped`);
      return;
    }
    this.checkBacklog();
  }

  sendShared(shared: SharedFrame): void {
    const ws = this.ws;
    if (ws.readyState !== OPEN || this.closing) return;
    const data = shared.data;
    if (typeof data !== 'string' && !Buffer.isBuffer(data)) return;
    this.cork();
    let framed = shared.wire as Buffer[] | undefined;
    if (framed === undefined) {
      framed = frameOnce(data);
      shared.wire = framed;
    }
    if (!writeFramed(ws, framed)) {
      if (typeof data === 'string') ws.send(data);
      else ws.send(data, { binary: true });
    }
    this.checkBacklog();
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    const ws = this.ws;
    if (ws.readyState === OPEN) ws.close(code, reason);
    else ws.terminate();
  }

  /** @internal */
  uncork(): void {
    this.corked = false;
    rawSocket(this.ws)?.uncork();
  }

  private cork(): void {
    if (this.corked) return;
    const socket = rawSocket(this.ws);
    if (socket === null) return;
    this.corked = true;
    socket.cork();
    process.nextTick(uncork, this);
  }

  private checkBacklog(): void {
    const buffered = this.ws.bufferedAmount;
    if (buffered <= this.maxBufferedBytes) return;
    logger.warn(MESSAGES.slowConsumer(this.peer, buffered, this.maxBufferedBytes));
    this.closing = true;
    // A client that does not read would never finish a close handshake: cut the socket.
    this.ws.terminate();
  }
}
