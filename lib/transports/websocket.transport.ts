/**
 * The WebSocket transport: one per connection, over a `ws` socket.
 *
 * Frames are framed by us (once per broadcast for the fastlane, once per
 * frame otherwise) and gathered for the rest of the tick; the tick's frames
 * leave in one TCP write. That keeps a burst of broadcasts from costing a
 * write per message per subscriber. When ws has writes of its own pending
 * (compression, a close in progress), we flush what we hold and hand the
 * frame to `ws.send`, so order is kept. A connection whose unsent bytes pass
 * `maxBufferedBytes` is closed as a slow consumer instead of growing memory
 * without bound.
 */
import { Logger } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { MESSAGES } from '../channels.messages.js';
import { FrameSlot, type SharedFrame } from '../pubsub/fastlane.js';
import type { OutFrame } from '../serializers/serializer.interface.js';
import type { SocketConnection } from '../socket/socket-connection.js';
import type { Transport } from '../socket/transport.interface.js';
import { publishSlowConsumer } from '../telemetry/telemetry.js';
import { frameOnce, framesItself, rawSocket, senderIdle } from './ws-frames.js';

const OPEN = 1;
const logger = new Logger('WebSocketTransport');

/** A fastlaned broadcast's WebSocket frame, framed once for every socket that writes it. */
const FRAMED = new FrameSlot<Buffer>();

function flushTransport(transport: WebSocketTransport): void {
  transport.flush();
}

// ── One joined buffer per burst, not per socket ───────────────────────────
// In a fanout burst every subscriber gathers the same frames in the same
// order. The first flush joins them; the next sockets with the same list
// write that same buffer. It saves the copies, and, more importantly, keeps
// the bytes shared while they sit unsent in slow sockets' buffers.
let lastParts: Buffer[] | null = null;
let lastJoined: Buffer | null = null;
let forgetScheduled = false;

function forgetLastJoined(): void {
  lastParts = null;
  lastJoined = null;
  forgetScheduled = false;
}

function joinParts(parts: Buffer[], bytes: number): Buffer {
  const previous = lastParts;
  if (previous !== null && previous.length === parts.length) {
    let same = true;
    for (let i = 0; i < parts.length; i++) {
      if (previous[i] !== parts[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastJoined!;
  }
  const joined = Buffer.concat(parts, bytes);
  lastParts = parts;
  lastJoined = joined;
  if (!forgetScheduled) {
    forgetScheduled = true;
    setImmediate(forgetLastJoined);
  }
  return joined;
}

export class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  readonly expectsHeartbeats = true;
  connection: SocketConnection | null = null;
  /** Framed bytes gathered this tick, written together by `flush`. */
  private pending: Buffer[] | null = null;
  private pendingBytes = 0;
  private closing = false;
  /** False when compression was negotiated: then every frame goes through `ws.send`. */
  private readonly direct: boolean;

  /** `address:port` of the client, read from the socket when first asked (log lines, telemetry): a system call saved per connection. */
  private peerValue: string | null = null;

  constructor(
    readonly ws: WebSocket,
    private readonly tcp: { readonly remoteAddress?: string | undefined; readonly remotePort?: number | undefined },
    private readonly maxBufferedBytes: number,
    /** The `maxFrameSize` ws enforces for this socket, for telemetry. */
    readonly maxFrameSize: number,
  ) {
    this.direct = framesItself(ws);
  }

  get peer(): string {
    return (this.peerValue ??= `${this.tcp.remoteAddress}:${this.tcp.remotePort}`);
  }

  send(frame: OutFrame): void {
    if (this.ws.readyState !== OPEN || this.closing) return;
    if (typeof frame === 'string' || Buffer.isBuffer(frame)) {
      this.write(frame, null);
      return;
    }
    logger.error(`a serializer produced a ${typeof frame} frame, which a WebSocket cannot carry; dropped`);
  }

  sendShared(shared: SharedFrame): void {
    if (this.ws.readyState !== OPEN || this.closing) return;
    const data = shared.data;
    if (typeof data !== 'string' && !Buffer.isBuffer(data)) return;
    this.write(data, shared);
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.flush();
    this.closing = true;
    const ws = this.ws;
    if (ws.readyState === OPEN) ws.close(code, reason);
    else ws.terminate();
  }

  /** Writes what this tick gathered, in one write. @internal */
  flush(): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    const bytes = this.pendingBytes;
    this.pendingBytes = 0;
    const socket = rawSocket(this.ws);
    if (socket === null || socket.destroyed || this.ws.readyState !== OPEN) return;
    socket.write(pending.length === 1 ? pending[0]! : joinParts(pending, bytes));
    this.checkBacklog(0);
  }

  private write(data: string | Buffer, shared: SharedFrame | null): void {
    const ws = this.ws;
    // Once frames are gathered this tick, ws has not been handed anything since: no need to ask again.
    if (!this.direct || (this.pending === null && !senderIdle(ws))) {
      this.flush();
      if (typeof data === 'string') ws.send(data);
      else ws.send(data, { binary: true });
      this.checkBacklog(0);
      return;
    }
    let framed: Buffer;
    if (shared === null) framed = frameOnce(data);
    else {
      const cached = FRAMED.get(shared);
      if (cached === undefined) {
        framed = frameOnce(data);
        FRAMED.set(shared, framed);
      } else framed = cached;
    }
    if (this.pending === null) {
      this.pending = [framed];
      process.nextTick(flushTransport, this);
    } else this.pending.push(framed);
    this.pendingBytes += framed.length;
    if (this.pendingBytes > this.maxBufferedBytes) this.checkBacklog(this.pendingBytes);
  }

  private checkBacklog(gathered: number): void {
    const buffered = this.ws.bufferedAmount + gathered;
    if (buffered <= this.maxBufferedBytes) return;
    logger.warn(MESSAGES.slowConsumer(this.peer, buffered, this.maxBufferedBytes));
    publishSlowConsumer(this.peer, this.name, buffered, this.maxBufferedBytes);
    this.closing = true;
    this.pending = null;
    this.pendingBytes = 0;
    // A client that does not read would never finish a close handshake: cut the socket.
    this.ws.terminate();
  }
}
