/**
 * A small long-poll client for the load generators (dialect `lp`): the
 * Phoenix long-poll transport as phoenix.js 1.8 speaks it, on node:http with
 * keep-alive connections. One GET is always out; each answer is parsed
 * (the frames travel as JSON strings inside a JSON answer, so there is no
 * way around one JSON.parse per answer) and the next GET leaves at once.
 * Frames are told apart as the WebSocket client does: a fastlane broadcast
 * starts `[null,null,`, a heartbeat reply `[null,"`, anything else is the
 * reply a request waits for. Requests are POSTed as NDJSON, one per POST
 * (the scenarios never pipeline).
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { LoadConnState, replyIsOk, type LoadConn, type ReplyHandler, type WireTarget } from './wire.js';

const PATH = '/socket/longpoll?vsn=2.0.0';
const BROADCAST_PREFIX = '[null,null,';
const HEARTBEAT_PREFIX = '[null,"';

/** One agent per process: keep-alive sockets shared by every connection of the worker. */
const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 4096 });

interface Answer {
  status: number;
  token?: string;
  messages?: string[];
}

function send(
  target: WireTarget,
  method: 'GET' | 'POST',
  token: string | null,
  body: string | null,
  done: (answer: Answer | null) => void,
): ReturnType<typeof request> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== null) headers['x-phoenix-longpoll-token'] = token;
  if (body !== null) {
    headers['content-type'] = 'application/x-ndjson';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const req = request({ host: target.host, port: target.port, method, path: PATH, headers, agent }, (res: IncomingMessage) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => {
      try {
        done(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer);
      } catch {
        done(null);
      }
    });
    res.on('error', () => done(null));
  });
  req.on('error', () => done(null));
  req.end(body ?? undefined);
  return req;
}

export class LongPollConn extends LoadConnState implements LoadConn {
  readonly dialect = 'lp' as const;

  private token: string | null = null;
  private waiter: ReplyHandler | null = null;
  private nextRef = 1;
  private paused = false;
  private polling: ReturnType<typeof request> | null = null;

  /** Where the next request goes; a test of routing may point it at another node of the session's cluster. */
  constructor(public target: WireTarget) {
    super();
  }

  /** Creates the session (the first GET answers 410 with a token) and starts polling. */
  connect(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`long-poll session not created within ${timeoutMs} ms`)), timeoutMs);
      send(this.target, 'GET', null, null, (answer) => {
        clearTimeout(timer);
        if (answer?.status !== 410 || typeof answer.token !== 'string') {
          reject(new Error(`long-poll session refused: ${JSON.stringify(answer)}`));
          return;
        }
        this.token = answer.token;
        this.open = true;
        this.poll();
        resolve();
      });
    });
  }

  private poll(): void {
    if (this.closed || this.paused) return;
    this.polling = send(this.target, 'GET', this.token, null, (answer) => this.polled(answer));
  }

  private polled(answer: Answer | null): void {
    this.polling = null;
    if (this.closed) return;
    if (answer === null || (answer.status !== 200 && answer.status !== 204)) {
      this.lost();
      return;
    }
    const messages = answer.messages;
    if (messages !== undefined) for (const message of messages) this.onFrame(message);
    this.poll();
  }

  private onFrame(frame: string): void {
    if (frame.startsWith(BROADCAST_PREFIX)) {
      this.broadcasts++;
      this.broadcastBytes += frame.length;
      this.observer.onBroadcast(this);
      return;
    }
    if (frame.startsWith(HEARTBEAT_PREFIX)) return;
    const waiter = this.waiter;
    if (waiter !== null) {
      this.waiter = null;
      const bytes = Buffer.from(frame);
      waiter(this, bytes, 0, bytes.length);
    }
  }

  private post(line: string): void {
    send(this.target, 'POST', this.token, line, (answer) => {
      if (answer?.status !== 200) this.lost();
    });
  }

  request(event: string, payloadJson: string, onReply: ReplyHandler): void {
    this.waiter = onReply;
    this.post(`["1","${this.nextRef++}",${JSON.stringify(this.topic)},"${event}",${payloadJson}]`);
  }

  join(topic: string, timeoutMs: number): Promise<boolean> {
    this.topic = topic;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(false);
      }, timeoutMs);
      this.waiter = (_conn, buf, start, end) => {
        clearTimeout(timer);
        resolve(replyIsOk('lp', buf, start, end));
      };
      this.post(`["1","1",${JSON.stringify(topic)},"phx_join",{}]`);
      this.nextRef = 2;
    });
  }

  /** Long-poll clients send no heartbeats. */
  heartbeat(): void {}

  isPaused(): boolean {
    return this.paused;
  }

  /** Stops polling: frames pile up in the server's session. */
  pause(): void {
    this.paused = true;
  }

  reset(): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    this.polling?.destroy();
    this.polling = null;
  }

  private lost(): void {
    if (this.closed) return;
    const wasOpen = this.open;
    this.closed = true;
    this.open = false;
    if (wasOpen) this.observer.onClose(this);
  }
}

/** Opens a long-poll session; rejects after `timeoutMs`. */
export async function openLongPoll(target: WireTarget, timeoutMs: number): Promise<LongPollConn> {
  const conn = new LongPollConn(target);
  await conn.connect(timeoutMs);
  return conn;
}
