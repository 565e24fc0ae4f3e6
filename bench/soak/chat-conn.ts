/**
 * The faults run's client: bench/common/wire.ts's light WebSocket client,
 * reading every Phoenix frame instead of only counting broadcasts, because
 * the run must know which message each subscriber got. It joins several
 * topics on one connection, pushes with a callback per reply, and hands each
 * `msg` broadcast to its owner. Frames are small (a few dozen bytes), so one
 * `JSON.parse` each is cheap next to the server's work.
 */
import type net from 'node:net';
import { WireConn, type Dialect } from '../common/wire.js';

/** A reply's status and response, or null when the connection went first. */
export type ReplyCallback = (status: string | null, response: unknown) => void;

export interface ChatConnOwner {
  /** A `msg` broadcast on `topic`. */
  onMsg(topic: string, payload: { from?: unknown; seq?: unknown }): void;
  /** The server ended a channel (phx_error, phx_close) without being asked. */
  onChannelEnded(topic: string, event: string): void;
  /** The connection closed, whoever closed it. */
  onConnClosed(conn: ChatConn): void;
}

type Frame = [string | null, string | null, string, string, any];

export class ChatConn extends WireConn {
  owner: ChatConnOwner | null = null;
  private readonly replies = new Map<string, ReplyCallback>();
  private refs = 0;

  constructor(socket: net.Socket, dialect: Dialect, onReady: (err?: Error) => void) {
    super(socket, dialect, onReady);
    this.observer = {
      onBroadcast() {},
      onClose: (conn) => (conn as ChatConn).closedNow(),
    };
  }

  /** Sends `[joinRef, ref, topic, event, payload]` and calls `onReply` with its reply. */
  push(joinRef: string, topic: string, event: string, payload: unknown, onReply: ReplyCallback): void {
    const ref = `${++this.refs}`;
    this.replies.set(ref, onReply);
    this.sendText(JSON.stringify([joinRef, ref, topic, event, payload]));
  }

  /** Every pending reply callback gets null: the connection is gone. */
  private closedNow(): void {
    const replies = [...this.replies.values()];
    this.replies.clear();
    for (const onReply of replies) onReply(null, null);
    this.owner?.onConnClosed(this);
  }

  protected override onPhx(buf: Buffer, start: number, end: number): void {
    const [, ref, topic, event, payload] = JSON.parse(buf.toString('utf8', start, end)) as Frame;
    if (event === 'phx_reply') {
      if (ref === null) return;
      const onReply = this.replies.get(ref);
      if (onReply === undefined) return;
      this.replies.delete(ref);
      onReply(payload?.status ?? null, payload?.response);
    } else if (event === 'msg') {
      this.owner?.onMsg(topic, payload);
    } else if (event === 'phx_error' || event === 'phx_close') {
      this.owner?.onChannelEnded(topic, event);
    }
  }
}
