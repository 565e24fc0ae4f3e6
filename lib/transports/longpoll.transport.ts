/**
 * One long-poll session: the transport of one connection whose client polls
 * over HTTP.
 *
 * Frames the connection writes are buffered here until a poll takes them,
 * already quoted as the JSON strings the answer carries; a fastlaned
 * broadcast is quoted once for every session that buffers it. A held poll is woken once per burst (after the frames of the
 * current turn of the event loop are in), so a blast of broadcasts leaves in
 * one answer. Only the latest poll is woken; an earlier one still held
 * answers `204` when its window ends. A session not polled for 1.5 × the
 * window ends with `{ shutdown: 'inactive' }`. Binary frames cannot travel
 * in the JSON answer, so they are dropped with a log line.
 */
import { Logger } from '@nestjs/common';
import { CLOSE_CODE } from '../channels.constants.js';
import { MESSAGES } from '../channels.messages.js';
import type { ResolvedLongPollOptions } from '../interfaces/channels-module-options.interface.js';
import { FrameSlot, type SharedFrame } from '../pubsub/fastlane.js';
import type { OutFrame } from '../serializers/serializer.interface.js';
import type { SocketConnection } from '../socket/socket-connection.js';
import type { Transport } from '../socket/transport.interface.js';
import { publishSlowConsumer } from '../telemetry/telemetry.js';

const logger = new Logger('LongPollTransport');

/** A frame as a JSON string literal, and its size in UTF-8 bytes. */
interface QuotedFrame {
  readonly text: string;
  readonly bytes: number;
}

/** A shared frame quoted once for every session that buffers it. */
const QUOTED = new FrameSlot<QuotedFrame>();

function quote(frame: string): QuotedFrame {
  const text = JSON.stringify(frame);
  return { text, bytes: Buffer.byteLength(text) };
}

/** Poll statuses of the JSON answer: frames, nothing within the window, session gone (or, without a token, made). */
export const POLL_STATUS = { messages: 200, empty: 204, gone: 410 } as const;

/** The JSON text of a poll answer: `{"status":410}` for a gone session, else status, token and frames (each already quoted). */
export function pollAnswer(status: number, quotedToken: string | null, quotedFrames: readonly string[]): string {
  if (quotedToken === null) return `{"status":${status}}`;
  return `{"status":${status},"token":${quotedToken},"messages":[${quotedFrames.join(',')}]}`;
}

/** Where a poll's answer (its JSON text) goes: an HTTP response here, or the node that routed the poll to us. */
export interface PollSink {
  answer(body: string): void;
}

/** What the session needs from the server that made it. */
export interface SessionOwner {
  readonly options: ResolvedLongPollOptions;
  readonly maxBufferedBytes: number;
  sessionEnded(session: LongPollTransport): void;
}

/** A poll waiting for frames. */
export class HeldPoll {
  timer: NodeJS.Timeout | null = null;
  done = false;

  constructor(
    readonly session: LongPollTransport,
    readonly sink: PollSink,
  ) {}

  /** The client went away: the poll is dropped without an answer, and frames stay buffered. */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.session.pollLeft(this);
  }

  answer(status: number, quotedFrames: readonly string[]): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.sink.answer(pollAnswer(status, status === POLL_STATUS.gone ? null : this.session.quotedToken, quotedFrames));
  }
}

function windowEnded(poll: HeldPoll): void {
  poll.timer = null;
  if (poll.done) return;
  poll.session.pollLeft(poll);
  poll.answer(POLL_STATUS.empty, []);
}

function wake(session: LongPollTransport): void {
  session.flush();
}

function checkInactive(session: LongPollTransport): void {
  session.checkInactive();
}

const NO_MESSAGES: readonly string[] = Object.freeze([]);

export class LongPollTransport implements Transport {
  readonly name = 'longpoll';
  readonly expectsHeartbeats = false;
  connection: SocketConnection | null = null;
  /** The token as a JSON string literal, for every answer. */
  readonly quotedToken: string;
  /** Frames waiting for a poll, each a JSON string literal. */
  private buffer: string[] = [];
  private bufferedBytes = 0;
  private waiting: HeldPoll | null = null;
  private wakeScheduled = false;
  private lastPollAt = Date.now();
  private inactivityTimer: NodeJS.Timeout;
  private closing = false;
  private ended = false;
  private warnedUnsendable = false;

  constructor(
    readonly sessionId: string,
    readonly token: string,
    readonly peer: string,
    private readonly owner: SessionOwner,
  ) {
    this.quotedToken = JSON.stringify(token);
    this.inactivityTimer = setTimeout(checkInactive, this.inactiveAfterMs, this);
    this.inactivityTimer.unref();
  }

  private get inactiveAfterMs(): number {
    return Math.round(this.owner.options.windowMs * 1.5);
  }

  // ── Polls ────────────────────────────────────────────────────────────────

  /**
   * Answers at once when frames are buffered; otherwise holds the poll until
   * frames arrive or the window ends. Returns the held poll, or null when
   * it was answered.
   */
  poll(sink: PollSink): HeldPoll | null {
    const poll = new HeldPoll(this, sink);
    if (this.ended) {
      poll.answer(POLL_STATUS.gone, NO_MESSAGES);
      return null;
    }
    this.lastPollAt = Date.now();
    if (this.buffer.length > 0) {
      poll.answer(POLL_STATUS.messages, this.take());
      return null;
    }
    // Only the latest poll is woken; an earlier one answers 204 when its own window ends.
    this.waiting = poll;
    poll.timer = setTimeout(windowEnded, this.owner.options.windowMs, poll);
    return poll;
  }

  /** A held poll answered or cancelled: it no longer waits. @internal */
  pollLeft(poll: HeldPoll): void {
    if (this.waiting === poll) this.waiting = null;
    this.lastPollAt = Date.now();
  }

  /** Answers the waiting poll with everything buffered. @internal */
  flush(): void {
    this.wakeScheduled = false;
    const poll = this.waiting;
    if (poll === null || this.buffer.length === 0) return;
    this.waiting = null;
    this.lastPollAt = Date.now();
    poll.answer(POLL_STATUS.messages, this.take());
  }

  private take(): string[] {
    const messages = this.buffer;
    this.buffer = [];
    this.bufferedBytes = 0;
    return messages;
  }

  // ── Transport ────────────────────────────────────────────────────────────

  send(frame: OutFrame): void {
    if (this.closing) return;
    if (typeof frame === 'string') this.enqueue(quote(frame));
    else this.dropUnsendable(frame);
  }

  sendShared(shared: SharedFrame): void {
    if (this.closing) return;
    const data = shared.data;
    if (typeof data !== 'string') {
      this.dropUnsendable(data);
      return;
    }
    let quoted = QUOTED.get(shared);
    if (quoted === undefined) {
      quoted = quote(data);
      QUOTED.set(shared, quoted);
    }
    this.enqueue(quoted);
  }

  close(_code: number, _reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.closing = true;
    clearTimeout(this.inactivityTimer);
    this.buffer = [];
    this.bufferedBytes = 0;
    const poll = this.waiting;
    this.waiting = null;
    // The client learns at once that the session is gone (410), and starts a new one.
    poll?.answer(POLL_STATUS.gone, NO_MESSAGES);
    this.owner.sessionEnded(this);
    void this.connection?.transportClosed();
  }

  private enqueue(frame: QuotedFrame): void {
    const { maxBufferedMessages } = this.owner.options;
    const maxBytes = this.owner.maxBufferedBytes;
    if (this.buffer.length >= maxBufferedMessages || this.bufferedBytes + frame.bytes > maxBytes) {
      this.overflow();
      return;
    }
    this.buffer.push(frame.text);
    this.bufferedBytes += frame.bytes;
    if (this.waiting !== null && !this.wakeScheduled) {
      this.wakeScheduled = true;
      setImmediate(wake, this);
    }
  }

  /** Past a buffer limit the session ends, as a slow WebSocket is closed: the next poll gets 410. */
  private overflow(): void {
    this.closing = true;
    publishSlowConsumer(this.peer, this.name, this.bufferedBytes, this.owner.maxBufferedBytes);
    logger.warn(
      MESSAGES.longPollOverflow(this.peer, this.buffer.length, this.bufferedBytes, this.owner.options.maxBufferedMessages, this.owner.maxBufferedBytes),
    );
    // Not from inside the write that overflowed: a channel may be in the middle of its own work.
    setImmediate(endSession, this);
  }

  private dropUnsendable(frame: OutFrame): void {
    // Once per session at warn: a binary broadcast reaches every long-poll subscriber.
    const level = this.warnedUnsendable ? 'debug' : 'warn';
    if (!Logger.isLevelEnabled(level)) return;
    this.warnedUnsendable = true;
    logger[level](MESSAGES.longPollUnsendable(this.peer, Buffer.isBuffer(frame) ? 'a binary' : `a ${typeof frame}`));
  }

  // ── Inactivity ───────────────────────────────────────────────────────────

  /** @internal */
  checkInactive(): void {
    if (this.ended) return;
    const limitMs = this.inactiveAfterMs;
    const idleMs = Date.now() - this.lastPollAt;
    if (this.waiting === null && idleMs >= limitMs) {
      logger.debug(`long-poll session of ${this.peer} not polled for ${idleMs}ms; ending it`);
      void this.connection?.endWith({ shutdown: 'inactive' }, CLOSE_CODE.goingAway, 'inactive');
      if (this.connection === null) this.close(CLOSE_CODE.goingAway, 'inactive');
      return;
    }
    this.inactivityTimer = setTimeout(checkInactive, this.waiting === null ? limitMs - idleMs : limitMs, this);
    this.inactivityTimer.unref();
  }
}

function endSession(session: LongPollTransport): void {
  if (session.connection !== null) void session.connection.endWith({ shutdown: 'closed' }, CLOSE_CODE.policyViolation, 'buffer full');
  else session.close(CLOSE_CODE.policyViolation, 'buffer full');
}
