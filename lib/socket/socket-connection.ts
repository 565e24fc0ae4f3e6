/**
 * The per-connection multiplexer (PROTOCOL.md section 4): it owns the
 * channel table, decodes each frame once, answers heartbeats itself, and
 * routes everything else by topic, in Phoenix's clause order (4.2).
 *
 * A transport calls `receive` for each frame and `transportClosed` once; the
 * connection writes through `Transport.send` / `sendShared` and closes with
 * `Transport.close`.
 */
import { Logger } from '@nestjs/common';
import { CLOSE_CODE, REASON, WIRE } from '../channels.constants.js';
import { MESSAGES, describe, stackOf } from '../channels.messages.js';
import type { ChannelConnection } from '../channel/channel-connection.interface.js';
import { ChannelServer, type TerminateReason } from '../channel/channel-server.js';
import type { ResolvedChannelsOptions } from '../interfaces/channels-module-options.interface.js';
import type { FastlaneCache, SharedFrame } from '../pubsub/fastlane.js';
import type { PubSub } from '../pubsub/pubsub.js';
import type { Subscriber } from '../pubsub/subscriber.interface.js';
import type { ChannelRegistry } from '../registry/channel.registry.js';
import type { Broadcast, Message } from '../serializers/message.js';
import type { OutFrame, Serializer } from '../serializers/serializer.interface.js';
import type { SocketState } from './socket-state.js';
import type { Transport } from './transport.interface.js';

/** What a connection needs from its mount. */
export interface MountContext {
  readonly name: string;
  readonly registry: ChannelRegistry;
  readonly options: ResolvedChannelsOptions;
  readonly pubsub: PubSub;
  /** Live connections of the mount, for drain. */
  readonly connections: Set<SocketConnection>;
  /** Logs a join that no channel pattern matches. */
  unmatchedJoin(topic: string): void;
}

const logger = new Logger('ChannelsSocket');

function isHeartbeat(message: Message): boolean {
  return message.event === WIRE.heartbeat && message.topic === WIRE.phoenixTopic;
}

/** Listens on the socket-id topic for `disconnect` (PROTOCOL.md 4.7); other events are ignored (P-55). */
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
  private idleTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private closeReason: TerminateReason = { shutdown: 'closed' };
  private ended: Promise<void> | null = null;
  /** Frames received while the socket-id subscription is being confirmed (heartbeats are answered at once). */
  private held: Message[] | null = null;
  /** Called once `held` is released (or the connection ends). */
  private releaseWaiters: Array<() => void> | null = null;

  constructor(
    readonly mount: MountContext,
    readonly serializer: Serializer,
    private readonly state: SocketState,
    readonly transport: Transport,
  ) {}

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

  /** Joined (or joining) topics, for tests and diagnostics. */
  get topics(): string[] {
    return [...this.channels.keys()];
  }

  /** The channel registered for `topic`, if any (the test kit reaches channels through this). */
  channel(topic: string): ChannelServer | undefined {
    return this.channels.get(topic);
  }

  /**
   * Starts the idle timer and the socket-id subscription; call once the
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
      this.idleTimer = setTimeout(this.checkIdle, timeoutMs);
      this.idleTimer.unref();
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

  // ── Incoming frames (PROTOCOL.md 4.1, 4.2) ───────────────────────────────

  receive(data: Buffer | string, isBinary: boolean): void {
    if (this.closing) return;
    this.lastFrameAt = Date.now();
    let message: Message;
    try {
      message = this.serializer.decode(data, isBinary, this.mount.options.maxPayloadDepth);
    } catch (error) {
      // Malformed: no reply, close with 1011, as the Phoenix connection process crashing would (4.1).
      // The connection ends here and now, so frames already read behind this one are not handled.
      logger.warn(MESSAGES.malformed(this.peer, describe(error)));
      void this.endWith({ shutdown: 'closed' }, CLOSE_CODE.internalError, 'malformed message');
      return;
    }
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
      else channel.handleIn(event, message.payload, ref);
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

  /** PROTOCOL.md 4.3 (join) and 4.4 (duplicate join). */
  private join(message: Message, previous: ChannelServer | null): void {
    const { topic, joinRef, ref } = message;
    const definition = this.mount.registry.match(topic);
    if (definition === undefined) {
      this.mount.unmatchedJoin(topic);
      this.write(this.serializer.encodeReply(null, ref, topic, 'error', { reason: REASON.unmatchedTopic }));
      return;
    }
    if (previous === null && this.channels.size >= this.mount.options.maxChannelsPerSocket) {
      logger.error(
        `${this.peer} has joined ${this.channels.size} channels, the limit (maxChannelsPerSocket); refusing ${topic}`,
      );
      this.write(this.serializer.encodeReply(joinRef, ref, topic, 'error', { reason: REASON.tooManyChannels }));
      return;
    }
    if (previous !== null) logger.debug(`duplicate join of ${topic} on ${this.peer}: closing the existing channel`);
    const server = new ChannelServer(this, definition, topic, joinRef, ref);
    this.channels.set(topic, server);
    server.join(message.payload, ref, previous);
  }

  // ── ChannelConnection ────────────────────────────────────────────────────

  write(frame: OutFrame): void {
    if (!this.closing) this.transport.send(frame);
  }

  writeShared(frame: SharedFrame): void {
    if (!this.closing) this.transport.sendShared(frame);
  }

  channelEnded(channel: ChannelServer): void {
    if (this.channels.get(channel.topic) === channel) this.channels.delete(channel.topic);
  }

  /** A mailbox is full (`maxQueuedMessages`): the client outpaces what serves it; close with 1008. */
  overflow(where: string): void {
    if (this.closing) return;
    logger.warn(MESSAGES.queueFull(this.peer, where, this.mount.options.maxQueuedMessages));
    void this.endWith({ shutdown: 'closed' }, CLOSE_CODE.policyViolation, 'too many queued messages');
  }

  // ── Ending the connection (PROTOCOL.md 4.7 to 4.9) ───────────────────────

  private readonly checkIdle = (): void => {
    if (this.closing) return;
    const timeoutMs = this.mount.options.heartbeatTimeoutMs;
    const idleMs = Date.now() - this.lastFrameAt;
    if (idleMs >= timeoutMs) {
      logger.debug(`${this.peer} sent nothing for ${idleMs}ms (heartbeatTimeout ${timeoutMs}ms); closing with 1002`);
      void this.endWith({ shutdown: 'closed' }, CLOSE_CODE.protocolError, 'heartbeat timeout');
      return;
    }
    this.idleTimer = setTimeout(this.checkIdle, timeoutMs - idleMs);
    this.idleTimer.unref();
  };

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

  /** The transport is gone: every channel terminates (PROTOCOL.md 4.9). Idempotent. */
  transportClosed(): Promise<void> {
    if (this.ended !== null) return this.ended;
    this.closing = true;
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
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
