import type { Ref } from '../serializers/message.js';
import type { ChannelServer } from './channel-server.js';
import type { SocketRef } from './socket-ref.js';

/**
 * What channel handlers receive: this channel's topic, assigns and the verbs
 * to talk to its client and its topic. One per channel instance.
 *
 * @publicApi
 */
export class ChannelSocket {
  /** This channel's own assigns: the connection's, copied at join, then its own changes. */
  readonly assigns: Record<string, any>;

  /** @internal */
  constructor(
    private readonly server: ChannelServer,
    assigns: Readonly<Record<string, any>>,
  ) {
    this.assigns = { ...assigns };
  }

  /** The topic this channel joined, e.g. `'room:lobby'`. */
  get topic(): string {
    return this.server.topic;
  }

  /** The join_ref this channel puts on its pushes and replies. */
  get joinRef(): Ref {
    return this.server.joinRef;
  }

  /** The socket handler's id for this connection, or null. */
  get id(): string | null {
    return this.server.connection.id;
  }

  /** Sets one assign, or merges a record of them. */
  assign(key: string, value: unknown): this;
  assign(values: Record<string, unknown>): this;
  assign(keyOrValues: string | Record<string, unknown>, value?: unknown): this {
    if (typeof keyOrValues === 'string') this.assigns[keyOrValues] = value;
    else Object.assign(this.assigns, keyOrValues);
    return this;
  }

  /** Sends `event` to this client only (PROTOCOL.md 5.4). Valid once joined. */
  push(event: string, payload: unknown): void {
    this.server.push(event, payload);
  }

  /** Broadcasts on this channel's topic to every subscriber, this client included, on every node. */
  broadcast(event: string, payload: unknown): Promise<void> {
    return this.server.broadcast(event, payload, false);
  }

  /** Broadcasts on this channel's topic to every subscriber but this channel. */
  broadcastFrom(event: string, payload: unknown): Promise<void> {
    return this.server.broadcast(event, payload, true);
  }

  /** A handle to reply later to the client message being handled. Only inside `@HandleIn`. */
  ref(): SocketRef {
    return this.server.ref();
  }

  /** Queues `message` for this channel's own `@HandleInfo`, after whatever is running now. */
  send(message: unknown): void {
    this.server.sendInfo(message);
  }

  /** Subscribes this channel to an external topic; its broadcasts reach `@HandleInfo` as `Broadcast`. */
  subscribe(topic: string): Promise<void> {
    return this.server.subscribeExternal(topic);
  }

  /** Undoes `subscribe(topic)`. */
  unsubscribe(topic: string): Promise<void> {
    return this.server.unsubscribeExternal(topic);
  }
}
