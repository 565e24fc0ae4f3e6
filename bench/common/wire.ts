/**
 * A deliberately small WebSocket client for the load generators.
 *
 * Why not `ws` or `socket.io-client`: on a 2-core machine the generator shares
 * the CPU with the server, so every microsecond it spends per frame is taken
 * from the thing being measured. This client does the HTTP upgrade itself,
 * then walks frame headers and looks at no more than the first few payload
 * bytes of each frame to tell a broadcast from a reply. Only replies that a
 * scenario asks about are parsed. It speaks two dialects on top:
 *
 * - `phx`: Phoenix V2 JSON frames `[join_ref, ref, topic, event, payload]`.
 *   A broadcast is the fastlane frame `[null,null,...`, or `[null,"<epoch>.<offset>",...`
 *   on a topic with history; a heartbeat reply is `[null,"<digits>",...`;
 *   anything else that starts with `["` is a reply or a push.
 * - `sio`: Engine.IO v4 / Socket.IO v5 packets over the websocket transport.
 *   `42[...` is an event (a broadcast), `43<id>[...` an ack, `2` an Engine.IO
 *   ping (answered with `3`).
 *
 * Client frames are masked as RFC 6455 requires (one random key per
 * connection). Server frames are never fragmented by the servers under test;
 * continuation frames are counted as data but not reassembled.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';

/** `phx` and `sio` over this WebSocket client; `lp` is Phoenix over long-poll (longpoll-wire.ts). */
export type Dialect = 'phx' | 'sio' | 'lp';

export interface WireTarget {
  readonly host: string;
  readonly port: number;
  readonly dialect: Dialect;
  /** More connect params for `phx`, as a query string without `?` (e.g. `user=c1`). */
  readonly query?: string;
}

/** What a load worker drives: a WebSocket (`WireConn`) or a long-poll session (`LongPollConn`). */
export interface LoadConn extends LoadConnState {
  readonly dialect: Dialect;
  request(event: string, payloadJson: string, onReply: ReplyHandler): void;
  join(topic: string, timeoutMs: number): Promise<boolean>;
  heartbeat(): void;
  isPaused(): boolean;
  pause(): void;
  reset(): void;
}

/** Called for a reply the connection was waiting for: the frame's text payload is `buf[start, end)`. */
export type ReplyHandler = (conn: LoadConn, buf: Buffer, start: number, end: number) => void;

/** Receives every broadcast (after `conn.broadcasts` was incremented) and every close. */
export interface WireObserver {
  onBroadcast(conn: LoadConn): void;
  onClose(conn: LoadConn): void;
}

const PHX_PATH = '/socket/websocket?vsn=2.0.0';
const SIO_PATH = '/socket.io/?EIO=4&transport=websocket';
const HEADER_END = Buffer.from('\r\n\r\n');

const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;

const CH_BRACKET = 0x5b; // [
const CH_N = 0x6e; // n
const CH_QUOTE = 0x22; // "
const CH_DOT = 0x2e; // .
const CH_0 = 0x30;
const CH_2 = 0x32;
const CH_3 = 0x33;
const CH_4 = 0x34;

const noopObserver: WireObserver = { onBroadcast() {}, onClose() {} };

/** The counters and state of every load connection. Fields are public so the worker can read them without getters. */
export abstract class LoadConnState {
  observer: WireObserver = noopObserver;
  /** Broadcast frames received since the last reset. */
  broadcasts = 0;
  /** Bytes of broadcast frame payloads received since the last reset. */
  broadcastBytes = 0;
  open = false;
  closed = false;
  /** Topic this connection joined, if any. */
  topic = '';
  /** Index the worker gave this connection. */
  index = 0;
}

/** One client connection. */
export class WireConn extends LoadConnState implements LoadConn {
  readonly socket: net.Socket;
  readonly dialect: Dialect;

  private readonly mask: Buffer;
  private handshakeDone = false;
  private sioReady = false;
  private pending: Buffer | null = null;
  private parts: Buffer[] | null = null;
  private partOpcode = 0;
  private remaining = 0;
  private waiter: ReplyHandler | null = null;
  private nextRef = 1;
  private onReady: ((err?: Error) => void) | null;

  constructor(socket: net.Socket, dialect: Dialect, onReady: (err?: Error) => void) {
    super();
    this.socket = socket;
    this.dialect = dialect;
    this.mask = randomBytes(4);
    this.onReady = onReady;
  }

  /** Sends a text frame. */
  sendText(text: string): void {
    if (this.closed) return;
    const len = Buffer.byteLength(text);
    const head = len < 126 ? 6 : len < 65536 ? 8 : 14;
    const out = Buffer.allocUnsafe(head + len);
    out[0] = 0x80 | OP_TEXT;
    if (len < 126) {
      out[1] = 0x80 | len;
    } else if (len < 65536) {
      out[1] = 0x80 | 126;
      out.writeUInt16BE(len, 2);
    } else {
      out[1] = 0x80 | 127;
      out.writeUInt32BE(0, 2);
      out.writeUInt32BE(len, 6);
    }
    const m = this.mask;
    out[head - 4] = m[0]!;
    out[head - 3] = m[1]!;
    out[head - 2] = m[2]!;
    out[head - 1] = m[3]!;
    out.write(text, head, 'utf8');
    for (let i = 0; i < len; i++) out[head + i] = out[head + i]! ^ m[i & 3]!;
    this.socket.write(out);
  }

  /**
   * Sends a request and calls `onReply` with the next reply frame. One request
   * at a time per connection: the scenarios never pipeline.
   */
  request(event: string, payloadJson: string, onReply: ReplyHandler): void {
    this.waiter = onReply;
    const ref = this.nextRef++;
    if (this.dialect === 'phx') {
      this.sendText(`["1","${ref}",${JSON.stringify(this.topic)},"${event}",${payloadJson}]`);
    } else {
      this.sendText(`42${ref}["${event}",${payloadJson}]`);
    }
  }

  /** Joins `topic` (phx_join, or a `join` event with an ack on Socket.IO); resolves true on an ok reply. */
  join(topic: string, timeoutMs: number): Promise<boolean> {
    this.topic = topic;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(false);
      }, timeoutMs);
      const onReply: ReplyHandler = (_c, buf, start, end) => {
        clearTimeout(timer);
        resolve(replyIsOk(this.dialect, buf, start, end));
      };
      this.waiter = onReply;
      if (this.dialect === 'phx') {
        const t = JSON.stringify(topic);
        this.sendText(`["1","1",${t},"phx_join",{}]`);
        this.nextRef = 2;
      } else {
        this.sendText(`420["join",{"topic":${JSON.stringify(topic)}}]`);
        this.nextRef = 1;
      }
    });
  }

  /** Sends a Phoenix heartbeat; its reply is recognised and dropped. No-op on Socket.IO (the server pings there). */
  heartbeat(): void {
    if (this.dialect === 'phx' && this.waiter === null) {
      this.sendText(`[null,"${this.nextRef++}","phoenix","heartbeat",{}]`);
    }
  }

  isPaused(): boolean {
    return this.socket.isPaused();
  }

  /** Stops reading: the kernel buffers fill and the server has to hold what it cannot send. */
  pause(): void {
    this.socket.pause();
  }

  /** Closes with a TCP reset so no TIME_WAIT entries pile up between scenarios. */
  reset(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.resetAndDestroy();
  }

  /** Feeds bytes from the socket. */
  onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let pos = 0;
    if (!this.handshakeDone) {
      const end = buf.indexOf(HEADER_END);
      if (end < 0) {
        if (buf.length > 16384) this.fail(new Error('upgrade response too long'));
        else this.pending = buf;
        return;
      }
      const statusLine = buf.toString('latin1', 0, Math.min(end, 64));
      if (!statusLine.startsWith('HTTP/1.1 101')) {
        this.fail(new Error(`upgrade refused: ${statusLine.split('\r\n')[0]}`));
        return;
      }
      this.handshakeDone = true;
      this.open = true;
      if (this.dialect === 'phx') this.ready();
      pos = end + 4;
    }
    const len = buf.length;
    while (pos < len) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, len - pos);
        this.parts!.push(buf.subarray(pos, pos + take));
        pos += take;
        this.remaining -= take;
        if (this.remaining === 0) {
          const whole = Buffer.concat(this.parts!);
          this.parts = null;
          this.onFrame(this.partOpcode, whole, 0, whole.length);
        }
        continue;
      }
      const avail = len - pos;
      if (avail < 2) {
        this.pending = buf.subarray(pos);
        return;
      }
      const b0 = buf[pos]!;
      let plen = buf[pos + 1]! & 0x7f;
      let hlen = 2;
      if (plen === 126) {
        if (avail < 4) {
          this.pending = buf.subarray(pos);
          return;
        }
        plen = buf.readUInt16BE(pos + 2);
        hlen = 4;
      } else if (plen === 127) {
        if (avail < 10) {
          this.pending = buf.subarray(pos);
          return;
        }
        plen = buf.readUInt32BE(pos + 2) * 0x100000000 + buf.readUInt32BE(pos + 6);
        hlen = 10;
      }
      pos += hlen;
      const opcode = b0 & 0x0f;
      if (len - pos >= plen) {
        this.onFrame(opcode, buf, pos, pos + plen);
        pos += plen;
      } else {
        this.partOpcode = opcode;
        this.parts = [buf.subarray(pos)];
        this.remaining = plen - (len - pos);
        pos = len;
      }
    }
  }

  onSocketClose(): void {
    const wasOpen = this.open;
    this.closed = true;
    this.open = false;
    if (this.onReady !== null) this.fail(new Error('closed before ready'));
    if (wasOpen) this.observer.onClose(this);
  }

  fail(err: Error): void {
    const cb = this.onReady;
    this.onReady = null;
    if (!this.closed) {
      this.closed = true;
      this.socket.destroy();
    }
    if (cb !== null) cb(err);
  }

  private ready(): void {
    const cb = this.onReady;
    this.onReady = null;
    if (cb !== null) cb();
  }

  private onFrame(opcode: number, buf: Buffer, start: number, end: number): void {
    if (opcode === OP_TEXT || opcode === OP_BINARY || opcode === 0) {
      if (this.dialect === 'phx') this.onPhx(buf, start, end);
      else this.onSio(buf, start, end);
    } else if (opcode === OP_PING) {
      this.sendControl(0xa, buf.subarray(start, end));
    } else if (opcode === OP_CLOSE) {
      this.open = false;
      if (!this.closed) {
        this.closed = true;
        this.socket.destroy();
      }
    }
  }

  /** A Phoenix frame's text is `buf[start, end)`; a subclass may read frames its own way. */
  protected onPhx(buf: Buffer, start: number, end: number): void {
    if (buf[start] === CH_BRACKET && buf[start + 1] === CH_N) {
      if (buf[start + 6] === CH_N || isPosition(buf, start + 7, end)) {
        this.broadcasts++;
        this.broadcastBytes += end - start;
        this.observer.onBroadcast(this);
      }
      // `[null,"<digits>"...`: a heartbeat reply, dropped.
      return;
    }
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w(this, buf, start, end);
    }
  }

  private onSio(buf: Buffer, start: number, end: number): void {
    const c0 = buf[start];
    if (c0 === CH_4) {
      const c1 = buf[start + 1];
      if (c1 === CH_2) {
        this.broadcasts++;
        this.broadcastBytes += end - start;
        this.observer.onBroadcast(this);
      } else if (c1 === CH_3) {
        const w = this.waiter;
        if (w !== null) {
          this.waiter = null;
          w(this, buf, start, end);
        }
      } else if (c1 === CH_0 && !this.sioReady) {
        this.sioReady = true;
        this.ready();
      } else if (!this.sioReady) {
        this.fail(new Error(`socket.io connect refused: ${buf.toString('utf8', start, Math.min(end, start + 200))}`));
      }
    } else if (c0 === CH_2 && end - start === 1) {
      this.sendText('3');
    } else if (c0 === CH_0) {
      // Engine.IO open packet: connect to the main namespace.
      this.sendText('40');
    }
  }

  private sendControl(opcode: number, payload: Buffer): void {
    if (this.closed || payload.length > 125) return;
    const out = Buffer.allocUnsafe(6 + payload.length);
    out[0] = 0x80 | opcode;
    out[1] = 0x80 | payload.length;
    const m = this.mask;
    out[2] = m[0]!;
    out[3] = m[1]!;
    out[4] = m[2]!;
    out[5] = m[3]!;
    for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i]! ^ m[i & 3]!;
    this.socket.write(out);
  }
}

/** True when a reply frame carries status ok (parses the frame: used for joins and blasts only). */
export function replyIsOk(dialect: Dialect, buf: Buffer, start: number, end: number): boolean {
  try {
    if (dialect !== 'sio') {
      const frame = JSON.parse(buf.toString('utf8', start, end)) as unknown[];
      const payload = frame[4] as { status?: unknown } | undefined;
      return frame[3] === 'phx_reply' && payload?.status === 'ok';
    }
    // `43<id>[<result>]`
    let i = start + 2;
    while (i < end && buf[i] !== CH_BRACKET) i++;
    const args = JSON.parse(buf.toString('utf8', i, end)) as Array<{ status?: unknown }>;
    return args[0]?.status === 'ok';
  } catch {
    return false;
  }
}

/** The decoded response of a reply frame (phx: payload.response; sio: the first ack argument). */
export function replyBody(dialect: Dialect, buf: Buffer, start: number, end: number): unknown {
  if (dialect !== 'sio') {
    const frame = JSON.parse(buf.toString('utf8', start, end)) as unknown[];
    return (frame[4] as { response?: unknown } | undefined)?.response;
  }
  let i = start + 2;
  while (i < end && buf[i] !== CH_BRACKET) i++;
  return (JSON.parse(buf.toString('utf8', i, end)) as unknown[])[0];
}

function onSocketData(this: net.Socket & { wireConn: WireConn }, chunk: Buffer): void {
  this.wireConn.onData(chunk);
}

function onSocketClose(this: net.Socket & { wireConn: WireConn }): void {
  this.wireConn.onSocketClose();
}

function onSocketError(this: net.Socket & { wireConn: WireConn }): void {
  // 'close' follows; a reset at the end of a scenario is expected.
}

/** Makes the connection object `openWire` drives: a `WireConn`, or a subclass. */
export type WireConnFactory<C extends WireConn> = (socket: net.Socket, dialect: Dialect, onReady: (err?: Error) => void) => C;

const plainWireConn: WireConnFactory<WireConn> = (socket, dialect, onReady) => new WireConn(socket, dialect, onReady);

/**
 * Opens a connection and completes the WebSocket upgrade (and, for Socket.IO,
 * the Engine.IO open and namespace connect). Rejects after `timeoutMs`.
 */
export function openWire<C extends WireConn = WireConn>(
  target: WireTarget,
  timeoutMs: number,
  make: WireConnFactory<C> = plainWireConn as WireConnFactory<C>,
): Promise<C> {
  return new Promise<C>((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    const timer = setTimeout(() => conn.fail(new Error(`connect timeout after ${timeoutMs} ms`)), timeoutMs);
    const conn = make(socket, target.dialect, (err) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(conn);
    });
    const s = socket as net.Socket & { wireConn: WireConn };
    s.wireConn = conn;
    socket.on('data', onSocketData);
    socket.on('close', onSocketClose);
    socket.on('error', onSocketError);
    const path = target.dialect === 'phx' ? (target.query ? `${PHX_PATH}&${target.query}` : PHX_PATH) : SIO_PATH;
    socket.write(
      `GET ${path} HTTP/1.1\r\n` +
        `Host: ${target.host}:${target.port}\r\n` +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
        'Sec-WebSocket-Version: 13\r\n\r\n',
    );
  });
}

/** True when the ref at `at` (after its opening quote) holds a '.' before its closing quote: a history position. */
function isPosition(buf: Buffer, at: number, end: number): boolean {
  const limit = Math.min(end, at + 88);
  for (let i = at; i < limit; i++) {
    const c = buf[i];
    if (c === CH_DOT) return true;
    if (c === CH_QUOTE) return false;
  }
  return false;
}
