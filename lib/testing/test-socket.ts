import { WIRE } from '../channels.constants.js';
import { describe } from '../channels.messages.js';
import type { ChannelSocket } from '../channel/channel-socket.js';
import type { FastlaneCache } from '../pubsub/fastlane.js';
import type { Subscriber } from '../pubsub/subscriber.interface.js';
import type { Broadcast, Ref } from '../serializers/message.js';
import type { SocketConnection } from '../socket/socket-connection.js';
import type { ResolvedTimeouts } from './channel-test.js';
import type { Inbox } from './inbox.js';
import { matches, type Pattern } from './match.js';
import type { ReceivedFrame } from './pass-through.serializer.js';
import type { TestTransport } from './test.transport.js';

/** Thrown by `join` when the join is refused (or crashes: `{ reason: 'join crashed' }`). */
export class JoinRefusedError extends Error {
  override name = 'JoinRefusedError';
  readonly code = 'ERR_CHANNELS_TEST_JOIN_REFUSED';
  constructor(
    readonly topic: string,
    readonly reply: unknown,
  ) {
    super(`join of ${topic} refused: ${describe(reply)}`);
  }
}

/** The test's subscription to topics it joined with `subscribeAndJoin` (for `assertBroadcast`). */
class BroadcastCollector implements Subscriber {
  constructor(private readonly inbox: Inbox<Broadcast>) {}
  deliver(broadcast: Broadcast, _fastlane: FastlaneCache): void {
    this.inbox.push(broadcast);
  }
}

/**
 * One connection, driven by the test: join channels, and assert what the
 * server sent on any of them. `TestChannel` offers the same assertions
 * scoped to its topic.
 */
export class TestSocket {
  private nextRef = 0;
  /** @internal The test's own PubSub subscriber: excluded by `TestChannel.broadcastFrom`. */
  readonly collector: Subscriber;
  private readonly subscriptions = new Set<string>();

  /** @internal */
  constructor(
    readonly connection: SocketConnection,
    private readonly transport: TestTransport,
    readonly inbox: Inbox<ReceivedFrame>,
    readonly broadcasts: Inbox<Broadcast>,
    readonly timeouts: ResolvedTimeouts,
    private readonly onClose: (socket: TestSocket) => void,
  ) {
    this.collector = new BroadcastCollector(broadcasts);
  }

  /** The connection's assigns, as `connect` left them. */
  get assigns(): Readonly<Record<string, any>> {
    return this.connection.assigns;
  }

  get id(): string | null {
    return this.connection.id;
  }

  /** The close code once the server closed the connection (e.g. 1001 on disconnect), else null. */
  get closeCode(): number | null {
    return this.transport.closeCode;
  }

  /** Joins `topic`; resolves with the channel (its `joinReply` holds the reply), rejects with `JoinRefusedError`. */
  async join(topic: string, payload: unknown = {}): Promise<TestChannel> {
    const ref = this.send(null, topic, WIRE.join, payload, true);
    const frame = await this.inbox.take(
      (f) => f.kind === 'reply' && f.ref === ref && f.topic === topic,
      this.timeouts.joinMs,
      `the reply to joining ${topic}`,
    );
    const reply = frame as Extract<ReceivedFrame, { kind: 'reply' }>;
    if (reply.status !== 'ok') throw new JoinRefusedError(topic, reply.response);
    return new TestChannel(this, topic, ref, reply.response);
  }

  /** Subscribes the test to `topic` (for `assertBroadcast`), then joins it. */
  async subscribeAndJoin(topic: string, payload: unknown = {}): Promise<TestChannel> {
    await this.subscribe(topic);
    return this.join(topic, payload);
  }

  /** Subscribes the test itself to `topic`: its broadcasts become visible to `assertBroadcast`. */
  async subscribe(topic: string): Promise<void> {
    if (this.subscriptions.has(topic)) return;
    this.subscriptions.add(topic);
    await this.connection.pubsub.subscribe(topic, this.collector);
  }

  // ── Assertions on everything this socket received ────────────────────────

  /** A push (or a fastlaned broadcast) with this event whose payload matches; resolves with the payload. */
  async assertPush(event: string, pattern: Pattern = {}, timeoutMs = this.timeouts.assertMs, topic?: string): Promise<any> {
    const frame = await this.inbox.take(
      (f) => isPush(f) && f.event === event && (topic === undefined || f.topic === topic) && matches(pattern, f.payload),
      timeoutMs,
      `a push '${event}'${topic ? ` on ${topic}` : ''} matching ${describe(pattern)}`,
    );
    return (frame as { payload: unknown }).payload;
  }

  async refutePush(event: string, pattern: Pattern = {}, timeoutMs = this.timeouts.refuteMs, topic?: string): Promise<void> {
    await this.inbox.refute(
      (f) => isPush(f) && f.event === event && (topic === undefined || f.topic === topic) && matches(pattern, f.payload),
      timeoutMs,
      `push '${event}' matching ${describe(pattern)}`,
    );
  }

  /** The reply to `ref` with this status whose response matches (default: any); resolves with the response. */
  async assertReply(ref: string, status: string, pattern?: Pattern, timeoutMs = this.timeouts.assertMs): Promise<any> {
    const frame = await this.inbox.take(
      (f) => f.kind === 'reply' && f.ref === ref && f.status === status && matchesResponse(pattern, f.response),
      timeoutMs,
      `a reply to ref ${ref} with status '${status}'${pattern === undefined ? '' : ` matching ${describe(pattern)}`}`,
    );
    return (frame as { response: unknown }).response;
  }

  async refuteReply(ref: string, status?: string, pattern?: Pattern, timeoutMs = this.timeouts.refuteMs): Promise<void> {
    await this.inbox.refute(
      (f) => f.kind === 'reply' && f.ref === ref && (status === undefined || f.status === status) && matchesResponse(pattern, f.response),
      timeoutMs,
      `reply to ref ${ref}${status ? ` with status '${status}'` : ''}`,
    );
  }

  /** A broadcast on a topic the test subscribed to. */
  async assertBroadcast(event: string, pattern: Pattern = {}, timeoutMs = this.timeouts.assertMs, topic?: string): Promise<any> {
    const broadcast = await this.broadcasts.take(
      (b) => b.event === event && (topic === undefined || b.topic === topic) && matches(pattern, b.payload),
      timeoutMs,
      `a broadcast '${event}' matching ${describe(pattern)}`,
    );
    return broadcast.payload;
  }

  async refuteBroadcast(event: string, pattern: Pattern = {}, timeoutMs = this.timeouts.refuteMs, topic?: string): Promise<void> {
    await this.broadcasts.refute(
      (b) => b.event === event && (topic === undefined || b.topic === topic) && matches(pattern, b.payload),
      timeoutMs,
      `broadcast '${event}' matching ${describe(pattern)}`,
    );
  }

  /** The channel on `topic` closed gracefully (`phx_close`). */
  async assertClose(topic: string, timeoutMs = this.timeouts.assertMs): Promise<void> {
    await this.inbox.take((f) => f.kind === 'close' && f.topic === topic, timeoutMs, `phx_close on ${topic}`);
  }

  /** The channel on `topic` crashed (`phx_error`). */
  async assertError(topic: string, timeoutMs = this.timeouts.assertMs): Promise<void> {
    await this.inbox.take((f) => f.kind === 'error' && f.topic === topic, timeoutMs, `phx_error on ${topic}`);
  }

  /** Closes the connection: every channel terminates `{ shutdown: 'closed' }`; resolves once they have. */
  async close(): Promise<void> {
    this.onClose(this);
    for (const topic of this.subscriptions) await this.connection.pubsub.unsubscribe(topic, this.collector);
    this.subscriptions.clear();
    await this.connection.transportClosed();
  }

  /** @internal Sends a client message; returns its ref. */
  send(joinRef: Ref, topic: string, event: string, payload: unknown, isJoin = false): string {
    const ref = String(++this.nextRef);
    const message = { joinRef: isJoin ? ref : joinRef, ref, topic, event, payload };
    // The pass-through serializer takes the message object where a transport would pass bytes.
    this.connection.receive(message as unknown as Buffer, false);
    return ref;
  }
}

/**
 * One joined channel. `push` and `leave` return the ref to pass to
 * `assertReply`; assertions are scoped to this topic.
 */
export class TestChannel {
  /** @internal */
  constructor(
    readonly socket: TestSocket,
    readonly topic: string,
    readonly joinRef: string,
    /** The join reply's response. */
    readonly joinReply: any,
  ) {}

  /** The channel's own assigns on the server (live), or undefined once it ended. */
  get assigns(): Readonly<Record<string, any>> | undefined {
    return this.server()?.socket.assigns;
  }

  /** The server side's `ChannelSocket`, for inspection; undefined once the channel ended. */
  get channelSocket(): ChannelSocket | undefined {
    return this.server()?.socket;
  }

  /** True while the channel is joined on the server. */
  get isJoined(): boolean {
    return this.server()?.isJoined ?? false;
  }

  push(event: string, payload: unknown = {}): string {
    return this.socket.send(this.joinRef, this.topic, event, payload);
  }

  /** Sends `phx_leave`; the reply is `ok` and the channel terminates `{ shutdown: 'left' }`. */
  leave(): string {
    return this.socket.send(this.joinRef, this.topic, WIRE.leave, {});
  }

  /** Stops this channel as a closed connection would (`{ shutdown: 'closed' }`); resolves once terminate ran. */
  async close(): Promise<void> {
    await this.server()?.shutdown({ shutdown: 'closed' });
  }

  /** Broadcasts on this topic as if from another client: everyone but the test's own subscription gets it. */
  broadcastFrom(event: string, payload: unknown): Promise<void> {
    return this.socket.connection.pubsub.broadcast(this.topic, event, payload, this.socket.collector);
  }

  assertPush(event: string, pattern: Pattern = {}, timeoutMs?: number): Promise<any> {
    return this.socket.assertPush(event, pattern, timeoutMs, this.topic);
  }

  refutePush(event: string, pattern: Pattern = {}, timeoutMs?: number): Promise<void> {
    return this.socket.refutePush(event, pattern, timeoutMs, this.topic);
  }

  assertReply(ref: string, status: string, pattern?: Pattern, timeoutMs?: number): Promise<any> {
    return this.socket.assertReply(ref, status, pattern, timeoutMs);
  }

  refuteReply(ref: string, status?: string, pattern?: Pattern, timeoutMs?: number): Promise<void> {
    return this.socket.refuteReply(ref, status, pattern, timeoutMs);
  }

  assertBroadcast(event: string, pattern: Pattern = {}, timeoutMs?: number): Promise<any> {
    return this.socket.assertBroadcast(event, pattern, timeoutMs, this.topic);
  }

  refuteBroadcast(event: string, pattern: Pattern = {}, timeoutMs?: number): Promise<void> {
    return this.socket.refuteBroadcast(event, pattern, timeoutMs, this.topic);
  }

  assertClose(timeoutMs?: number): Promise<void> {
    return this.socket.assertClose(this.topic, timeoutMs);
  }

  assertError(timeoutMs?: number): Promise<void> {
    return this.socket.assertError(this.topic, timeoutMs);
  }

  private server() {
    const server = this.socket.connection.channel(this.topic);
    return server !== undefined && server.storedJoinRef === this.joinRef ? server : undefined;
  }
}

function isPush(frame: ReceivedFrame): frame is Extract<ReceivedFrame, { kind: 'push' | 'broadcast' }> {
  return frame.kind === 'push' || frame.kind === 'broadcast';
}

/** Without a pattern any response matches, as `assert_reply(ref, :ok)` does (P-83); otherwise partially. */
function matchesResponse(pattern: Pattern | undefined, response: unknown): boolean {
  return pattern === undefined || matches(pattern, response);
}
