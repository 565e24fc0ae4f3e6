/**
 * Long-poll across nodes: a request whose token names another node is
 * routed to that node through the PubSub, as Phoenix does, so a load
 * balancer needs no stickiness.
 *
 * Each node listens on one topic per mount, `phx:lp:<path>:<node>`. The node
 * that got the HTTP request (the origin) publishes `lp:get`, `lp:post` or
 * `lp:cancel` (its client left a held poll) on the owner's topic; the owner
 * checks the token, serves the request on the session, and publishes
 * `lp:answer` on the origin's topic, preceded by `lp:ack` when the answer
 * will take a while (a held poll, frames waiting for the connection). An
 * origin that hears nothing within `pubsubTimeoutMs` counts the session as
 * gone: a GET then starts a new session here, a POST answers 410. The cost
 * is two PubSub messages per routed request, and none for a request that
 * lands on the session's own node.
 */
import { Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { describe } from '../channels.messages.js';
import type { FastlaneCache } from '../pubsub/fastlane.js';
import type { PubSub } from '../pubsub/pubsub.js';
import type { Subscriber } from '../pubsub/subscriber.interface.js';
import type { Broadcast } from '../serializers/message.js';
import { POST_STATUS, writeJsonText, type PostedFrames } from './longpoll-http.js';
import type { LongPollServer } from './longpoll.server.js';
import { readToken, type SessionAddress } from './longpoll-token.js';
import { POLL_STATUS, pollAnswer, type HeldPoll, type LongPollTransport, type PollSink } from './longpoll.transport.js';

const logger = new Logger('LongPollRelay');

const EVENT = {
  get: 'lp:get',
  post: 'lp:post',
  cancel: 'lp:cancel',
  ack: 'lp:ack',
  answer: 'lp:answer',
} as const;

/** What the owner sends back: a poll's JSON answer, a POST's status, or `gone` when it has no such session. */
interface Answer {
  readonly id: string;
  readonly gone?: boolean;
  readonly body?: string;
  readonly status?: number;
}

/** A request this node routed and waits on. */
interface Pending {
  timer: NodeJS.Timeout | null;
  /** The owner has the request and will answer: wait for the answer rather than for an ack. */
  acked: boolean;
  /** Settles the request: an answer, `null` for "gone", or `'late'` when an acked answer never came. */
  settle(answer: Answer | null | 'late'): void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export class LongPollRelay implements Subscriber {
  private readonly topic: string;
  private readonly pending = new Map<string, Pending>();
  /** Polls held here for other nodes, by `<origin node>\n<request id>`, so their clients can cancel them. */
  private readonly heldForOthers = new Map<string, HeldPoll>();
  private subscribing: Promise<void> | null = null;
  private nextId = 0;

  constructor(
    private readonly server: LongPollServer,
    private readonly pubsub: PubSub,
  ) {
    this.topic = this.topicOf(server.node);
  }

  private topicOf(node: string): string {
    return `phx:lp:${this.server.path}:${node}`;
  }

  /** Listens on this node's topic; settles once other nodes reach it. A failure is logged and retried on the next call. */
  start(): Promise<void> {
    this.subscribing ??= Promise.resolve()
      .then(() => this.pubsub.subscribe(this.topic, this))
      .catch((error: unknown) => {
        this.subscribing = null;
        logger.warn(`long-poll routing on ${this.topic} is not reachable from other nodes yet: ${describe(error)}`);
      });
    return this.subscribing;
  }

  async stop(): Promise<void> {
    for (const pending of [...this.pending.values()]) pending.settle('late');
    for (const poll of this.heldForOthers.values()) poll.cancel();
    this.heldForOthers.clear();
    if (this.subscribing === null) return;
    this.subscribing = null;
    try {
      await this.pubsub.unsubscribe(this.topic, this);
    } catch (error) {
      logger.debug(`leaving ${this.topic} failed: ${describe(error)}`);
    }
  }

  // ── Origin: this node got the request, another holds the session ────────

  /** Routes a poll; resolves false when the owner has no such session (the caller starts a new one). */
  async forwardGet(address: SessionAddress, response: ServerResponse): Promise<boolean> {
    await this.start();
    return new Promise<boolean>((resolve) => {
      const id = this.send(address.node, EVENT.get, { token: address.token }, (answer) => {
        response.off('close', clientLeft);
        if (answer === null || (answer !== 'late' && answer.gone === true)) {
          resolve(false);
          return;
        }
        if (answer === 'late' || typeof answer.body !== 'string') {
          // The owner took the poll but never answered (it went away): an empty poll, like a window that ended.
          writeJsonText(response, pollAnswer(POLL_STATUS.empty, JSON.stringify(address.token), []));
        } else writeJsonText(response, answer.body);
        resolve(true);
      });
      const clientLeft = (): void => {
        const pending = this.pending.get(id);
        if (pending === undefined) return;
        this.pending.delete(id);
        if (pending.timer !== null) clearTimeout(pending.timer);
        this.publish(address.node, EVENT.cancel, { id, from: this.server.node });
        resolve(true);
      };
      response.once('close', clientLeft);
    });
  }

  /** Routes a POST; resolves with its status (410 when the owner has no such session). */
  async forwardPost(address: SessionAddress, frames: PostedFrames): Promise<number> {
    await this.start();
    return new Promise<number>((resolve) => {
      this.send(address.node, EVENT.post, { token: address.token, lines: frames.lines, ndjson: frames.ndjson }, (answer) => {
        if (answer === null || (answer !== 'late' && answer.gone === true)) resolve(POST_STATUS.gone);
        else if (answer === 'late') resolve(POST_STATUS.timeout);
        else resolve(typeof answer.status === 'number' ? answer.status : POST_STATUS.timeout);
      });
    });
  }

  private send(node: string, event: string, body: object, settle: Pending['settle']): string {
    const id = String(++this.nextId);
    const pending: Pending = {
      timer: null,
      acked: false,
      settle: (answer) => {
        if (this.pending.get(id) !== pending) return;
        this.pending.delete(id);
        if (pending.timer !== null) clearTimeout(pending.timer);
        settle(answer);
      },
    };
    pending.timer = setTimeout(() => pending.settle(null), this.server.options.pubsubTimeoutMs);
    this.pending.set(id, pending);
    this.publish(node, event, { ...body, id, from: this.server.node });
    return id;
  }

  private acked(id: string): void {
    const pending = this.pending.get(id);
    if (pending === undefined || pending.acked) return;
    pending.acked = true;
    if (pending.timer !== null) clearTimeout(pending.timer);
    // The owner answers within its window; past that plus a PubSub round, it is gone.
    const { windowMs, pubsubTimeoutMs } = this.server.options;
    pending.timer = setTimeout(() => pending.settle('late'), windowMs + pubsubTimeoutMs);
  }

  // ── Owner: another node got the request, this one holds the session ─────

  deliver(broadcast: Broadcast, _fastlane: FastlaneCache): void {
    const message = broadcast.payload;
    if (!isRecord(message) || typeof message.id !== 'string') return;
    try {
      switch (broadcast.event) {
        case EVENT.get:
          this.serveGet(message);
          break;
        case EVENT.post:
          this.servePost(message);
          break;
        case EVENT.cancel:
          if (typeof message.from === 'string') this.cancelHeld(`${message.from}\n${message.id}`);
          break;
        case EVENT.ack:
          this.acked(message.id);
          break;
        case EVENT.answer:
          this.pending.get(message.id)?.settle(message as unknown as Answer);
          break;
      }
    } catch (error) {
      logger.error(`a routed long-poll ${broadcast.event} failed: ${(error as Error)?.stack ?? describe(error)}`);
    }
  }

  private cancelHeld(key: string): void {
    const poll = this.heldForOthers.get(key);
    if (poll === undefined) return;
    this.heldForOthers.delete(key);
    poll.cancel();
  }

  private sessionFor(message: Record<string, unknown>): LongPollTransport | null {
    if (typeof message.token !== 'string') return null;
    const address = readToken(message.token);
    if (address === null || address.node !== this.server.node) return null;
    return this.server.localSession(address);
  }

  private serveGet(message: Record<string, unknown>): void {
    const id = message.id as string;
    const from = message.from;
    if (typeof from !== 'string') return;
    const session = this.sessionFor(message);
    if (session === null) {
      this.publish(from, EVENT.answer, { id, gone: true });
      return;
    }
    const key = `${from}\n${id}`;
    const sink: PollSink = {
      answer: (body) => {
        this.heldForOthers.delete(key);
        this.publish(from, EVENT.answer, { id, body });
      },
    };
    const poll = this.server.listen(session, sink, null);
    if (poll === null) return;
    this.heldForOthers.set(key, poll);
    this.publish(from, EVENT.ack, { id });
  }

  private servePost(message: Record<string, unknown>): void {
    const id = message.id as string;
    const from = message.from;
    if (typeof from !== 'string') return;
    const session = this.sessionFor(message);
    const lines = message.lines;
    if (session === null || !Array.isArray(lines) || !lines.every((line) => typeof line === 'string')) {
      this.publish(from, EVENT.answer, { id, gone: true });
      return;
    }
    // Frames that must wait for the connection may take up to the window: tell the origin to wait that long.
    if (session.connection?.isHolding) this.publish(from, EVENT.ack, { id });
    this.server.dispatch(session, { lines: lines as string[], ndjson: message.ndjson === true }).then(
      (status) => this.publish(from, EVENT.answer, { id, status }),
      (error: unknown) => {
        logger.error(`a routed long-poll POST failed: ${(error as Error)?.stack ?? describe(error)}`);
        this.publish(from, EVENT.answer, { id, status: POST_STATUS.timeout });
      },
    );
  }

  private publish(node: string, event: string, payload: object): void {
    this.pubsub.broadcast(this.topicOf(node), event, payload).catch((error: unknown) => {
      // The other side times out and treats the session as gone; nothing else to do here.
      logger.debug(`routing long-poll ${event} to ${node} failed: ${describe(error)}`);
    });
  }
}
