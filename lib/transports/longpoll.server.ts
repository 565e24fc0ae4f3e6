/**
 * The long-poll transport of one mount, at `<path>/longpoll`, as Phoenix
 * serves it: the sessions this node holds, and the HTTP answers.
 *
 * How a request travels: the origin is checked, then
 * - `GET` without a valid token runs the connect step; accepted, a session
 *   is made and the answer is `{"status":410,"token":T,"messages":[]}`.
 * - `GET` with a token of a session here waits for frames (`200`) or for
 *   the window to end (`204`).
 * - `POST` with such a token hands each NDJSON line (at most 100) to the
 *   connection, in order, and answers `{"status":200}`; `408` when a frame
 *   was not handled within the window (or ended the session), `410` when the
 *   session is gone.
 * A token naming another node goes there through the PubSub
 * (longpoll-relay.ts), so a balancer without stickiness still works. The
 * outcome is always in the JSON `status`, with HTTP 200, except HTTP 400 for
 * another method or an unreadable body, 500 for bad base64, and 503 while
 * the node is shutting down or full, or when `connect` outlives
 * `connectTimeout`.
 */
import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CLOSE_CODE } from '../channels.constants.js';
import { describe, MESSAGES } from '../channels.messages.js';
import type { ResolvedLongPollOptions } from '../interfaces/channels-module-options.interface.js';
import type { ConnectInfo } from '../interfaces/socket-handler.interface.js';
import { LocalPubSub } from '../pubsub/local.pubsub.js';
import type { ChannelsMount } from '../socket/channels-mount.js';
import type { SocketConnection } from '../socket/socket-connection.js';
import { exceedsBytes } from '../serializers/byte-size.js';
import { parseConnectParams, parseCookies } from '../socket/socket-acceptor.js';
import { publishLimit } from '../telemetry/telemetry.js';
import { POST_STATUS, writeEmpty, writeJson, writeJsonText, type PostedFrames } from './longpoll-http.js';
import { LongPollRelay } from './longpoll-relay.js';
import { newSessionId, readToken, signToken, verifyToken, type SessionAddress } from './longpoll-token.js';
import { LongPollTransport, type HeldPoll, type PollSink, type SessionOwner } from './longpoll.transport.js';
import { compileOriginCheck } from './origin-check.js';

const logger = new Logger('LongPollServer');

/** Lines of one NDJSON POST that are handled; the rest are ignored (P-69). */
export const MAX_BATCH_LINES = 100;
/** The longest base64 line decoded (Phoenix's bound). */
const MAX_BASE64_LINE = 10_000_000;
const NDJSON = 'application/x-ndjson';
const TOKEN_HEADER = 'x-phoenix-longpoll-token';
const AUTH_TOKEN_HEADER = 'x-phoenix-authtoken';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A poll answered on this node, to its HTTP client. */
class ResponseSink implements PollSink {
  constructor(private readonly response: ServerResponse) {}

  answer(body: string): void {
    writeJsonText(this.response, body);
  }
}

function cancelPoll(this: ServerResponse & { heldPoll?: { cancel(): void } }): void {
  this.heldPoll?.cancel();
}

export class LongPollServer implements SessionOwner {
  private readonly sessions = new Map<string, LongPollTransport>();
  private readonly checkOrigin: ReturnType<typeof compileOriginCheck>;
  private relayRef: LongPollRelay | null | undefined = undefined;
  private closed = false;
  /** Set once the session limit was logged, until a session ends: a full node refuses every GET without a token. */
  private limitLogged = false;

  constructor(
    readonly mount: ChannelsMount,
    private readonly isDraining: () => boolean,
  ) {
    this.checkOrigin = compileOriginCheck(mount.options.checkOrigin);
  }

  get options(): ResolvedLongPollOptions {
    return this.mount.options.longpoll!;
  }

  get maxBufferedBytes(): number {
    return this.mount.options.maxBufferedBytes;
  }

  get path(): string {
    return this.mount.options.longpollPath;
  }

  get node(): string {
    return this.mount.pubsub.node;
  }

  /** Routing through the PubSub, unless it is a one-node LocalPubSub. */
  private get relay(): LongPollRelay | null {
    if (this.relayRef === undefined) {
      const pubsub = this.mount.pubsub;
      this.relayRef = pubsub instanceof LocalPubSub ? null : new LongPollRelay(this, pubsub);
    }
    return this.relayRef;
  }

  // ── HTTP ─────────────────────────────────────────────────────────────────

  /** Answers one request to `<path>/longpoll`. Never throws. */
  handle(request: IncomingMessage, response: ServerResponse): void {
    const origin = request.headers.origin;
    if (!this.checkOrigin(origin, request.headers.host)) {
      logger.error(MESSAGES.originRefused(origin, this.path));
      writeJson(response, { status: 403 });
      return;
    }
    let work: Promise<void> | undefined;
    switch (request.method) {
      case 'OPTIONS':
        this.preflight(request, response);
        return;
      case 'GET':
        work = this.get(request, response);
        break;
      case 'POST':
        work = this.post(request, response);
        break;
      default:
        writeEmpty(response, 400);
        return;
    }
    work.catch((error: unknown) => {
      logger.error(`long-poll ${request.method} from ${peerOf(request)} failed: ${(error as Error)?.stack ?? describe(error)}`);
      writeEmpty(response, 500);
    });
  }

  private preflight(request: IncomingMessage, response: ServerResponse): void {
    const requested = request.headers['access-control-request-headers'];
    writeEmpty(response, 200, {
      'access-control-allow-headers': Array.isArray(requested) ? requested.join(', ') : (requested ?? ''),
      'access-control-allow-methods': 'get, post, options',
      'access-control-max-age': '3600',
    });
  }

  private async get(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = urlOf(request);
    const address = this.addressOf(request, url);
    if (address !== null) {
      if (address.node === this.node) {
        const session = this.localSession(address);
        if (session !== null) {
          this.listen(session, new ResponseSink(response), response);
          return;
        }
      } else if (this.relay !== null) {
        const answered = await this.relay.forwardGet(address, response);
        if (answered) return;
      }
    }
    // No token, a bad one, or a session that is gone: a new session, as Phoenix answers such a poll.
    await this.newSession(request, response, url);
  }

  private async post(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const address = this.addressOf(request, urlOf(request));
    let session: LongPollTransport | null = null;
    if (address !== null && address.node === this.node) session = this.localSession(address);
    const remote = address !== null && address.node !== this.node && this.relay !== null;
    if (session === null && !remote) {
      writeJson(response, { status: POST_STATUS.gone });
      return;
    }
    const body = await readBody(request, this.options.maxBodySize);
    if (typeof body === 'string') {
      if (body === 'too large') logger.warn(MESSAGES.longPollBodyTooLarge(peerOf(request), this.options.maxBodySize));
      else logger.error(MESSAGES.longPollBodyRead(request.url));
      writeEmpty(response, 400, { connection: 'close' });
      return;
    }
    const frames = framesOf(body, request.headers['content-type']);
    const status = session !== null ? await this.dispatch(session, frames) : await this.relay!.forwardPost(address!, frames);
    if (status === POST_STATUS.badBase64) {
      logger.warn(MESSAGES.longPollBadBase64(peerOf(request)));
      writeEmpty(response, 500);
    } else writeJson(response, { status });
  }

  // ── Sessions ─────────────────────────────────────────────────────────────

  /** The token of the request: the header wins over the query's last `token` (P-71). */
  private addressOf(request: IncomingMessage, url: URL): SessionAddress | null {
    const header = request.headers[TOKEN_HEADER];
    const token = typeof header === 'string' ? header : url.searchParams.getAll('token').at(-1);
    return token === undefined ? null : readToken(token);
  }

  /** The session of a token this node signed, if it is still here. */
  localSession(address: SessionAddress): LongPollTransport | null {
    if (!verifyToken(this.path, address)) return null;
    return this.sessions.get(address.sessionId) ?? null;
  }

  /** Holds a poll on a session of this node; `response` (when local) cancels it if its client leaves. */
  listen(session: LongPollTransport, sink: PollSink, response: ServerResponse | null): HeldPoll | null {
    const poll = session.poll(sink);
    if (poll !== null && response !== null) {
      (response as ServerResponse & { heldPoll?: unknown }).heldPoll = poll;
      response.once('close', cancelPoll);
    }
    return poll;
  }

  private async newSession(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    if (!this.admits(peerOf(request))) {
      writeEmpty(response, 503);
      return;
    }
    const info: ConnectInfo = {
      peerData: { address: request.socket.remoteAddress ?? '', port: request.socket.remotePort ?? 0 },
      uri: url,
      headers: request.headers,
      cookies: parseCookies(request.headers),
      transport: 'longpoll',
      authToken: this.mount.options.authToken ? headerValue(request.headers[AUTH_TOKEN_HEADER]) : null,
    };
    const outcome = await this.mount.accept(parseConnectParams(url.search.slice(1)), info);
    if (!outcome.accepted) {
      // A refusal is the poll status 403 (the client gives up); a connect that timed out is HTTP 503,
      // which the client retries as it does for a full node, as a WebSocket client retries a 503 upgrade.
      if (outcome.status === 503) writeEmpty(response, 503);
      else writeJson(response, { status: 403 });
      return;
    }
    // Other nodes must be able to reach the session before its token leaves.
    if (this.relay !== null) await this.relay.start();
    if (response.destroyed || !this.admits(peerOf(request))) {
      // The client left during connect, or the node filled up or began shutting down meanwhile.
      writeEmpty(response, 503);
      return;
    }
    const sessionId = newSessionId();
    const token = signToken(this.path, this.node, sessionId);
    const session = new LongPollTransport(sessionId, token, peerOf(request), this);
    this.sessions.set(sessionId, session);
    session.connection = this.mount.open(outcome.serializer, outcome.state, session);
    writeJson(response, { status: 410, token, messages: [] });
  }

  /** Room for one more session, and not shutting down. */
  private admits(peer: string): boolean {
    if (this.closed || this.isDraining()) return false;
    if (this.sessions.size >= this.options.maxSessions) {
      publishLimit('longpoll.maxSessions', this.options.maxSessions, 'refuse', null, peer, 'longpoll');
      if (!this.limitLogged) logger.warn(MESSAGES.longPollSessionLimit(this.path, this.options.maxSessions));
      this.limitLogged = true;
      return false;
    }
    return true;
  }

  sessionEnded(session: LongPollTransport): void {
    if (this.sessions.get(session.sessionId) === session) this.sessions.delete(session.sessionId);
    this.limitLogged = false;
  }

  /**
   * Hands the frames to the session's connection in order.
   * While the connection holds frames for its socket-id subscription, the
   * POST waits; a frame not handled within the window answers 408 (it is
   * still handled later) and the rest are skipped, as is everything after a
   * frame that ended the session.
   */
  async dispatch(session: LongPollTransport, frames: PostedFrames): Promise<number> {
    const { lines, ndjson } = frames;
    for (let i = 0; i < lines.length; i++) {
      const connection = session.connection;
      if (connection === null || !connection.isOpen) return POST_STATUS.timeout;
      const line = lines[i]!;
      if (!ndjson || line.charCodeAt(0) === 0x5b /* [ */) {
        if (exceedsBytes(line, this.mount.options.maxFrameSize)) return this.tooBig(connection);
        connection.receive(line, false);
      } else {
        const binary = decodeBase64(line);
        if (binary === null) return POST_STATUS.badBase64;
        if (binary.length > this.mount.options.maxFrameSize) return this.tooBig(connection);
        connection.receive(binary, true);
      }
      // A held frame is handled once the connection can; the POST waits for that at most a window.
      if (connection.isHolding && !(await released(connection, this.options.windowMs))) return POST_STATUS.timeout;
      // A malformed frame ends the session, as it crashes the Phoenix session: 408 now, 410 later.
      if (!connection.isOpen) return POST_STATUS.timeout;
    }
    return POST_STATUS.ok;
  }

  /**
   * `maxFrameSize` holds for a long-poll frame as for a WebSocket one: the
   * session ends as a WebSocket closes with 1009 (this POST answers 408, the
   * next request 410).
   */
  private tooBig(connection: SocketConnection): number {
    const max = this.mount.options.maxFrameSize;
    logger.warn(MESSAGES.longPollFrameTooBig(connection.peer, max));
    publishLimit('maxFrameSize', max, 'close', null, connection.peer, 'longpoll');
    void connection.endWith({ shutdown: 'closed' }, CLOSE_CODE.tooBig, 'message too big');
    return POST_STATUS.timeout;
  }

  /** Shutdown: routed requests are answered, the relay leaves the PubSub, sessions left are ended. */
  async close(): Promise<void> {
    this.closed = true;
    const ending: Promise<void>[] = [];
    for (const session of [...this.sessions.values()]) {
      if (session.connection !== null) ending.push(session.connection.drain());
      else session.close(1012, 'server shutting down');
    }
    await Promise.all(ending);
    await this.relayRef?.stop();
  }
}

/** The frames of a POST body: NDJSON lines (at most 100, P-69), or the whole body as one text frame. */
function framesOf(body: Buffer, contentType: string | undefined): PostedFrames {
  const text = body.toString('utf8');
  if (contentType !== NDJSON) return { lines: [text], ndjson: false };
  const lines: string[] = [];
  let start = 0;
  while (lines.length < MAX_BATCH_LINES) {
    const end = text.indexOf('\n', start);
    if (end === -1) {
      lines.push(text.slice(start));
      break;
    }
    lines.push(text.slice(start, end > start && text.charCodeAt(end - 1) === 0x0d ? end - 1 : end));
    start = end + 1;
  }
  return { lines, ndjson: true };
}

/** Strict, padded, standard base64 (as Phoenix's `Base.decode64!`), or null. */
function decodeBase64(line: string): Buffer | null {
  if (line.length > MAX_BASE64_LINE || !BASE64.test(line)) return null;
  return Buffer.from(line, 'base64');
}

/** Resolves true once the connection handled its held frames, false after `limitMs`. */
function released(connection: SocketConnection, limitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), limitMs);
    connection.onReleased(() => {
      clearTimeout(timer);
      resolve(connection.isOpen);
    });
  });
}

/** The body; `'too large'` past `limit` bytes (the rest is not kept); `'already read'` when something read it before us. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too large' | 'already read'> {
  return new Promise((resolve, reject) => {
    if (request.readableEnded) {
      resolve('already read');
      return;
    }
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      request.resume();
      resolve('too large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        resolve('too large');
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks, size)));
    request.once('error', reject);
  });
}

function urlOf(request: IncomingMessage): URL {
  return new URL(request.url ?? '/', `http://${request.headers.host ?? 'localhost'}`);
}

function peerOf(request: IncomingMessage): string {
  return `${request.socket.remoteAddress}:${request.socket.remotePort}`;
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}
