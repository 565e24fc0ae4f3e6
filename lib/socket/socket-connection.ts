/**
 * The per-connection multiplexer: it owns the channel table, decodes each
 * frame once, answers heartbeats itself, and routes everything else by
 * topic, in the order Phoenix's socket checks its clauses.
 *
 * A transport calls `receive` for each frame and `transportClosed` once; the
 * connection writes through `Transport.send` / `sendShared` and closes with
 * `Transport.close`.
 */
import { Logger } from '@nestjs/common';
import { CLOSE_CODE, DEFAULTS, REASON, WIRE } from '../channels.constants.js';
import { MESSAGES, describe, stackOf } from '../channels.messages.js';
import type { ChannelConnection } from '../channel/channel-connection.interface.js';
import { ChannelServer, type TerminateReason } from '../channel/channel-server.js';
import { bucketFor, type TokenBucket } from '../channel/token-bucket.js';
import type { ResolvedChannelsOptions } from '../interfaces/channels-module-options.interface.js';
import type { FastlaneCache, SharedFrame } from '../pubsub/fastlane.js';
import type { PubSub } from '../pubsub/pubsub.js';
import type { Subscriber } from '../pubsub/subscriber.interface.js';
import type { ChannelRegistry } from '../registry/channel.registry.js';
import type { Broadcast, Message, Ref } from '../serializers/message.js';
import { exceedsBytes } from '../serializers/byte-size.js';
import type { OutFrame, Serializer } from '../serializers/serializer.interface.js';
import { publishLimit, type LimitAction, type LimitName } from '../telemetry/telemetry.js';
import type { SocketState } from './socket-state.js';
import type { Transport } from './transport.interface.js';

/** What a connection needs from its mount. */
export interface MountContext {
  readonly name: string;
  readonly registry: ChannelRegistry;
  readonly options: ResolvedChannelsOptions;
  readonly pubsub: PubSub;
  /** Live connections of the mount, for drain and the idle sweep. */
  readonly connections: Set<SocketConnection>;
  /** Makes sure the mount's idle sweep runs: it calls `checkIdle` of every live connection (see `heartbeatTimeout`). */
  watchIdle(): void;
  /** Logs a join that no channel pattern matches. */
  unmatchedJoin(topic: string): void;
}

const logger = new Logger('ChannelsSocket');

function isHeartbeat(message: Message): boolean {
  return message.event === WIRE.heartbeat && message.topic === WIRE.phoenixTopic;
}

/** Listens on the socket-id topic for `disconnect`; other events are ignored (P-55). */
class IdTopicSubscriber implements Subscriber {
  constructor(private readonly connection: SocketConnection) {}

  deliver(broadcast: Broadcast, _fastlane: FastlaneCache): void {
    if (broadcast.event === WIRE.disconnect) void this.connection.disconnect();
  }
}

export class SocketConnection implements ChannelConnection {
  private readonly channels = new Map<string, ChannelServer>();
  private idSubscriber: IdTopicSubscriber | null = null;
  private lastFrameAt = Date.now();
  /** True when silence past `heartbeatTimeout` closes this connection (the mount's idle sweep checks it). */
  private watchesIdle = false;
  private closing = false;
  private closeReason: TerminateReason = { shutdown: 'closed' };
  private ended: Promise<void> | null = null;
  /** Frames received while the socket-id subscription is being confirmed (heartbeats are answered at once). */
  private held: Message[] | null = null;
  /** Called once `held` is released (or the connection ends). */
  private releaseWaiters: Array<() => void> | null = null;
  /** `maxJoinsPerSecond`; null when unlimited. */
  private readonly joinBucket: TokenBucket | null;
  /**
   * Message budgets of channels that ended less than a second's refill ago,
   * by topic: a client that leaves and rejoins (or joins again) gets the
   * budget it left with, not a full one. At most `maxChannelsPerSocket`.
   */
  private spentBuckets: Map<string, TokenBucket> | null = null;
  /** Client messages waiting in this connection's mailboxes for their handler (`maxPendingReplies`). */
  private pendingReplies = 0;
  /** When a limit was last logged for this connection, and how many hits went unlogged since. */
  private limitLoggedAt = Number.NEGATIVE_INFINITY;
  private limitsUnlogged = 0;
  /** When a join of an unmatched topic was last logged for this connection (the same interval). */
  private unmatchedLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly mount: MountContext,
    readonly serializer: Serializer,
    private readonly state: SocketState,
    readonly transport: Transport,
  ) {
    this.joinBucket = bucketFor(mount.options.maxJoinsPerSecond, this.lastFrameAt);
  }

  get assigns(): Readonly<Record<string, any>> {
    return this.state.assigns;
  }

  get id(): string | null {
    return this.state.id;
  }

  get pubsub(): PubSub {
    return this.mount.pubsub;
  }

  get shutdownTimeoutMs(): number {
    return this.mount.options.shutdownTimeoutMs;
  }

  get maxQueuedMessages(): number {
    return this.mount.options.maxQueuedMessages;
  }

  get isOpen(): boolean {
    return !this.closing;
  }

  get peer(): string {
    return this.transport.peer;
  }

  get transportName(): string {
    return this.transport.name;
  }

  /** Joined (or joining) topics, for tests and diagnostics. */
  get topics(): string[] {
    return [...this.channels.keys()];
  }

  /** The channel registered for `topic`, if any (the test kit reaches channels through this). */
  channel(topic: string): ChannelServer | undefined {
    return this.channels.get(topic);
  }

  /**
   * Joins the mount's idle sweep and starts the socket-id subscription; call once the
   * transport is open. Frames that arrive before the PubSub confirmed the
   * id subscription are held and handled after it, so a `disconnect` sent
   * from another node right after the connect is never missed; heartbeats
   * are answered at once. How long the PubSub may take to confirm is its
   * own bound (RedisPubSub's `commandTimeoutMs`).
   */
  start(): void {
    this.mount.connections.add(this);
    const timeoutMs = this.mount.options.heartbeatTimeoutMs;
    if (timeoutMs > 0 && this.transport.expectsHeartbeats) {
      this.watchesIdle = true;
      this.mount.watchIdle();
    }
    const id = this.state.id;
    if (id === null) return;
    this.idSubscriber = new IdTopicSubscriber(this);
    let subscribing: void | Promise<void>;
    try {
      subscribing = this.mount.pubsub.subscribe(id, this.idSubscriber);
    } catch (error) {
      logger.warn(`subscribing to socket id ${id} failed: ${describe(error)}`);
      return;
    }
    if (subscribing === undefined) return;
    this.held = [];
    subscribing.then(this.releaseHeld, (error: unknown) => {
      logger.warn(`subscribing to socket id ${id} failed: ${describe(error)}`);
      this.releaseHeld();
    });
  }

  private readonly releaseHeld = (): void => {
    const held = this.held;
    this.held = null;
    if (held !== null) {
      for (const message of held) {
        if (this.closing) break;
        this.handle(message);
      }
    }
    this.wakeReleaseWaiters();
  };

  /** True while frames wait for the socket-id subscription (see `start`): `receive` holds them. */
  get isHolding(): boolean {
    return this.held !== null;
  }

  /** Calls `wake` once held frames have been handled, or the connection has ended. */
  onReleased(wake: () => void): void {
    if (this.held === null || this.closing) wake();
    else (this.releaseWaiters ??= []).push(wake);
  }

  private wakeReleaseWaiters(): void {
    const waiters = this.releaseWaiters;
    if (waiters === null) return;
    this.releaseWaiters = null;
    for (const wake of waiters) wake();
  }

  // ── Incoming frames ───────────────────────────────

  receive(data: Buffer | string, isBinary: boolean): void {
    if (this.closing) return;
    this.lastFrameAt = Date.now();
    let message: Message;
    try {
      message = this.serializer.decode(data, isBinary, this.mount.options.maxPayloadDepth);
    } catch (error) {
      // Malformed: no reply, close with 1011, as the Phoenix connection process crashing would.
      // The connection ends here and now, so frames already read behind this one are not handled.
      logger.warn(MESSAGES.malformed(this.peer, describe(error)));
      void this.endWith({ shutdown: 'closed' }, CLOSE_CODE.internalError, 'malformed message');
      return;
    }
    if (message.event === WIRE.join && this.joinTooLarge(message, data)) return;
    const held = this.held;
    if (held !== null && !isHeartbeat(message)) {
      if (held.length >= this.mount.options.maxQueuedMessages) {
        this.overflow(`the connection (frames held until its socket id is subscribed)`);
        return;
      }
      held.push(message);
      return;
    }
    this.handle(message);
  }

  private handle(message: Message): void {
    try {
      this.dispatch(message);
    } catch (error) {
      // Not the client's fault but ours: it must end this connection, never escape into ws and the process.
      logger.error(`handling a frame from ${this.peer} failed: ${stackOf(error)}; closing with 1011`);
      void this.endWith({ shutdown: 'closed' }, CLOSE_CODE.internalError, 'internal error');
    }
  }

  private dispatch(message: Message): void {
    const { topic, event, joinRef, ref } = message;
    if (isHeartbeat(message)) {
      this.write(this.serializer.encodeReply(null, ref, topic, 'ok', {}));
      return;
    }
    const channel = this.channels.get(topic);
    if (event === WIRE.join) {
      this.join(message, channel ?? null);
      return;
    }
    if (channel !== undefined) {
      // A non-null join_ref must equal the stored one exactly; otherwise the frame is stale and dropped (P-31).
      if (joinRef !== null && joinRef !== channel.storedJoinRef) return;
      if (event === WIRE.leave) channel.leave(ref);
      else if (this.admitsMessage(channel, ref)) channel.handleIn(event, message.payload, ref);
      return;
    }
    if (event === WIRE.leave) {
      this.write(this.serializer.encodeReply(joinRef, ref, topic, 'ok', {}));
      return;
    }
    // A client can send these freely: the line is only built when debug logging is on.
    if (Logger.isLevelEnabled('debug')) {
      logger.debug(`event ${describe(event)} for topic ${describe(topic)}, which ${this.peer} has not joined: unmatched topic`);
    }
    this.write(this.serializer.encodeReply(null, ref, topic, 'error', { reason: REASON.unmatchedTopic }));
  }

  /** A join, and a duplicate join of a topic already joined. */
  private join(message: Message, previous: ChannelServer | null): void {
    const { topic, joinRef, ref } = message;
    const definition = this.mount.registry.match(topic);
    if (definition === undefined) {
      // Logged once per interval per connection: a client cannot turn a flood of such joins into one of log lines.
      if (this.lastFrameAt - this.unmatchedLoggedAt >= DEFAULTS.limitLogIntervalMs) {
        this.unmatchedLoggedAt = this.lastFrameAt;
        this.mount.unmatchedJoin(topic);
      }
      this.write(this.serializer.encodeReply(null, ref, topic, 'error', { reason: REASON.unmatchedTopic }));
      return;
    }
    const options = this.mount.options;
    if (previous === null && this.channels.size >= options.maxChannelsPerSocket) {
      this.refuseJoin(message, 'maxChannelsPerSocket', options.maxChannelsPerSocket, REASON.tooManyChannels);
      return;
    }
    if (this.joinBucket !== null && !this.joinBucket.take(this.lastFrameAt)) {
      this.refuseJoin(message, 'maxJoinsPerSecond', options.maxJoinsPerSecond, REASON.tooManyJoins);
      return;
    }
    if (this.pendingReplies >= options.maxPendingReplies) {
      this.refuseJoin(message, 'maxPendingReplies', options.maxPendingReplies, REASON.tooManyPending);
      return;
    }
    if (previous !== null) logger.debug(`duplicate join of ${topic} on ${this.peer}: closing the existing channel`);
    const bucket = previous !== null ? previous.messageBucket : this.spentBucket(topic);
    const server = new ChannelServer(this, definition, topic, joinRef, ref, bucket);
    this.channels.set(topic, server);
    server.join(message.payload, ref, previous);
  }

  // ── Limits on what a client sends ────────────────────────────────────────
  // Each is checked before any channel code runs for the frame, answered on
  // the wire, and logged at most once per connection per interval.

  /** `maxTopicLength` and `maxJoinPayloadSize`, while the frame's size is at hand. True when it was refused. */
  private joinTooLarge(message: Message, data: Buffer | string): boolean {
    const options = this.mount.options;
    if (message.topic.length > options.maxTopicLength) {
      this.refuseJoin(message, 'maxTopicLength', options.maxTopicLength, REASON.topicTooLong);
      return true;
    }
    // The test kit hands over decoded messages, which have no size.
    if (typeof data !== 'string' && !Buffer.isBuffer(data)) return false;
    const max = options.maxJoinPayloadSize;
    if (!exceedsBytes(data, max)) return false;
    this.refuseJoin(message, 'maxJoinPayloadSize', max, REASON.joinTooLarge);
    return true;
  }

  private refuseJoin(message: Message, limit: LimitName, max: number, reason: string): void {
    this.limitExceeded(limit, max, 'reply', message.topic);
    this.write(this.serializer.encodeReply(message.joinRef, message.ref, message.topic, 'error', { reason }));
  }

  /** `maxPendingReplies` and `maxMessagesPerSecond` for a push to a joined channel. */
  private admitsMessage(channel: ChannelServer, ref: Ref): boolean {
    const options = this.mount.options;
    if (this.pendingReplies >= options.maxPendingReplies) {
      this.limitExceeded('maxPendingReplies', options.maxPendingReplies, 'reply', channel.topic);
      this.write(this.serializer.encodeReply(channel.joinRef, ref, channel.topic, 'error', { reason: REASON.tooManyPending }));
      return false;
    }
    const bucket = channel.messageBucket;
    if (bucket === null || bucket.take(this.lastFrameAt)) return true;
    if (options.messageRateExceeded === 'close') {
      this.limitExceeded('maxMessagesPerSecond', options.maxMessagesPerSecond, 'close', channel.topic);
      void this.endWith({ shutdown: 'closed' }, CLOSE_CODE.policyViolation, REASON.tooManyMessages);
      return false;
    }
    this.limitExceeded('maxMessagesPerSecond', options.maxMessagesPerSecond, 'reply', channel.topic);
    this.write(this.serializer.encodeReply(channel.joinRef, ref, channel.topic, 'error', { reason: REASON.tooManyMessages }));
    return false;
  }

  /**
   * A limit stopped a message: the `limit` telemetry event, and a log line
   * unless one was written for this connection within the last interval
   * (a flood must not become a flood of log lines). The line counts the
   * hits it did not log. Too many channels is logged at error, as Phoenix
   * does; the others at warn.
   */
  private limitExceeded(limit: LimitName, max: number, action: LimitAction, topic: string | null): void {
    publishLimit(limit, max, action, topic, this.peer, this.transport.name);
    const now = this.lastFrameAt;
    if (now - this.limitLoggedAt < DEFAULTS.limitLogIntervalMs) {
      this.limitsUnlogged++;
      return;
    }
    const line = MESSAGES.limitExceeded(this.peer, limit, max, topic === null ? null : describe(topic, 80), action, this.limitsUnlogged);
    this.limitLoggedAt = now;
    this.limitsUnlogged = 0;
    if (limit === 'maxChannelsPerSocket') logger.error(line);
    else logger.warn(line);
  }

  // ── ChannelConnection ────────────────────────────────────────────────────

  get maxMessagesPerSecond(): number {
    return this.mount.options.maxMessagesPerSecond;
  }

  messageQueued(): void {
    this.pendingReplies++;
  }

  messagesDequeued(count: number): void {
    this.pendingReplies -= count;
  }

  write(frame: OutFrame): void {
    if (!this.closing) this.transport.send(frame);
  }

  writeShared(frame: SharedFrame): void {
    if (!this.closing) this.transport.sendShared(frame);
  }

  channelEnded(channel: ChannelServer): void {
    if (this.channels.get(channel.topic) !== channel) return;
    this.channels.delete(channel.topic);
    const bucket = channel.messageBucket;
    if (bucket !== null && !this.closing && !bucket.isFull(Date.now())) this.keepSpentBucket(channel.topic, bucket);
  }

  /** The budget a channel on `topic` ended with, if it is not refilled yet. */
  private spentBucket(topic: string): TokenBucket | undefined {
    const spent = this.spentBuckets;
    if (spent === null) return undefined;
    const bucket = spent.get(topic);
    if (bucket === undefined) return undefined;
    spent.delete(topic);
    return bucket;
  }

  private keepSpentBucket(topic: string, bucket: TokenBucket): void {
    const spent = (this.spentBuckets ??= new Map());
    spent.delete(topic);
    spent.set(topic, bucket);
    if (spent.size <= this.mount.options.maxChannelsPerSocket) return;
    // Refilled ones are as good as new; past that, the oldest go first.
    const now = Date.now();
    for (const [key, kept] of spent) if (kept.isFull(now)) spent.delete(key);
    for (const key of spent.keys()) {
      if (spent.size <= this.mount.options.maxChannelsPerSocket) break;
      spent.delete(key);
    }
  }

  /** A mailbox is full (`maxQueuedMessages`): the client outpaces what serves it; close with 1008. */
  overflow(where: string): void {
    if (this.closing) return;
    publishLimit('maxQueuedMessages', this.mount.options.maxQueuedMessages, 'close', null, this.peer, this.transport.name);
    logger.warn(MESSAGES.queueFull(this.peer, where, this.mount.options.maxQueuedMessages));
    void this.endWith({ shutdown: 'closed' }, CLOSE_CODE.policyViolation, 'too many queued messages');
  }

  // ── Ending the connection ───────────────────────

  /**
   * Called by the mount's idle sweep: a connection that expects heartbeats
   * and has sent nothing for `heartbeatTimeout` closes with 1002 (P-58).
   */
  checkIdle(now: number): void {
    if (!this.watchesIdle || this.closing) return;
    const timeoutMs = this.mount.options.heartbeatTimeoutMs;
    const idleMs = now - this.lastFrameAt;
    if (idleMs < timeoutMs) return;
    logger.debug(`${this.peer} sent nothing for ${idleMs}ms (heartbeatTimeout ${timeoutMs}ms); closing with 1002`);
    void this.endWith({ shutdown: 'closed' }, CLOSE_CODE.protocolError, 'heartbeat timeout');
  }

  /** `disconnect` on the socket id: channels end `{ shutdown: 'disconnected' }`, close 1001 (P-54). */
  disconnect(): Promise<void> {
    return this.endWith({ shutdown: 'disconnected' }, CLOSE_CODE.goingAway, 'disconnected');
  }

  /** Application shutdown: channels end `{ shutdown: 'draining' }`, close 1012 (P-57). */
  drain(): Promise<void> {
    return this.endWith({ shutdown: 'draining' }, CLOSE_CODE.serviceRestart, 'server shutting down');
  }

  /** Closes the transport with `code`; channels end with `reason`. Resolves once every terminate has run. */
  endWith(reason: TerminateReason, code: number, text: string): Promise<void> {
    if (this.ended !== null) return this.ended;
    this.closeReason = reason;
    this.transport.close(code, text);
    return this.transportClosed();
  }

  /** The transport is gone: every channel terminates. Idempotent. */
  transportClosed(): Promise<void> {
    if (this.ended !== null) return this.ended;
    this.closing = true;
    this.mount.connections.delete(this);
    if (this.idSubscriber !== null && this.state.id !== null) {
      const unsubscribing = this.mount.pubsub.unsubscribe(this.state.id, this.idSubscriber);
      if (unsubscribing !== undefined) {
        unsubscribing.catch((error: unknown) => logger.debug(`unsubscribing socket id ${this.state.id} failed: ${describe(error)}`));
      }
    }
    const reason = this.closeReason;
    const terminating: Promise<void>[] = [];
    for (const channel of [...this.channels.values()]) terminating.push(channel.shutdown(reason));
    this.channels.clear();
    this.wakeReleaseWaiters();
    this.ended = Promise.all(terminating).then(() => undefined);
    return this.ended;
  }
}
