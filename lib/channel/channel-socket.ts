import type { Ref } from '../serializers/message.js';
import type { ChannelServer } from './channel-server.js';
import type { SocketRef } from './socket-ref.js';

/**
 * What a push or broadcast may carry: an object that is not an array, or
 * bytes (`Buffer`/`Uint8Array`, sent as a binary frame). `P` is the payload's
 * own type, so DTO classes and interfaces fit as they are.
 *
 * @publicApi
 */
export type PushPayload<P> = P extends readonly unknown[] ? never : P;

/**
 * What channel handlers receive: this channel's topic, assigns and the verbs
 * to talk to its client and its topic. One per channel instance.
 *
 * `Assigns` types `assigns` and `assign`:
 *
 * @example
 * interface RoomAssigns { userId: string; joinedAt?: number }
 * join(topic: string, payload: unknown, socket: ChannelSocket<RoomAssigns>) {
 *   socket.assign('joinedAt', Date.now());
 * }
 * @publicApi
 */
export interface ChannelSocket<Assigns extends Record<string, any> = Record<string, any>> {
  /** The topic this channel joined, e.g. `'room:lobby'`. */
  readonly topic: string;
  /** The join_ref this channel puts on its pushes and replies. */
  readonly joinRef: Ref;
  /** The socket handler's id for this connection, or null. */
  readonly id: string | null;
  /** This channel's own assigns: the connection's, copied at join, then its own changes. */
  readonly assigns: Assigns;
  /** Sets one assign. */
  assign<K extends keyof Assigns & string>(key: K, value: Assigns[K]): this;
  /** Merges a record of assigns. */
  assign(values: Partial<Assigns>): this;
  /** Sends `event` to this client only. Valid once joined. */
  push<P extends object>(event: string, payload: PushPayload<P>): void;
  /** Broadcasts on this channel's topic to every subscriber, this client included, on every node. */
  broadcast<P extends object>(event: string, payload: PushPayload<P>): Promise<void>;
  /** Broadcasts on this channel's topic to every subscriber but this channel. */
  broadcastFrom<P extends object>(event: string, payload: PushPayload<P>): Promise<void>;
  /** A handle to reply later to the client message being handled. Only inside `@HandleIn`. */
  ref(): SocketRef;
  /** Queues `message` for this channel's own `@HandleInfo`, after whatever is running now. */
  send(message: unknown): void;
  /** Subscribes this channel to an external topic; its broadcasts reach `@HandleInfo` as `Broadcast`. */
  subscribe(topic: string): Promise<void>;
  /** Undoes `subscribe(topic)`. */
  unsubscribe(topic: string): Promise<void>;
}

/**
 * The `ChannelSocket` of one channel server. Handlers see it through the
 * interface only, so a pipe given its type (`@ConnectedSocket() socket:
 * ChannelSocket`) sees `Object` and leaves it alone; the server is held in a
 * private field, out of reach of anything that copies the socket's keys.
 */
export class ChannelSocketImpl implements ChannelSocket {
  readonly assigns: Record<string, any>;
  readonly #server: ChannelServer;

  constructor(server: ChannelServer, assigns: Readonly<Record<string, any>>) {
    this.#server = server;
    this.assigns = { ...assigns };
  }

  /**
   * @internal The channel server behind a socket this library made, or null
   * for anything else (a plain object shaped like a socket included). For
   * Presence, which binds an entry to its channel's life.
   */
  static serverOf(socket: unknown): ChannelServer | null {
    return typeof socket === 'object' && socket !== null && #server in socket ? socket.#server : null;
  }

  get topic(): string {
    return this.#server.topic;
  }

  get joinRef(): Ref {
    return this.#server.joinRef;
  }

  get id(): string | null {
    return this.#server.connection.id;
  }

  /** What the `*` of the channel's pattern matched (`'lobby'` for `'room:lobby'` on `'room:*'`); the topic for an exact pattern. */
  get topicParam(): string {
    const pattern = this.#server.definition.topic;
    return pattern.isPrefix ? this.#server.topic.slice(pattern.text.length) : this.#server.topic;
  }

  assign(key: string, value: unknown): this;
  assign(values: Record<string, unknown>): this;
  assign(keyOrValues: string | Record<string, unknown>, value?: unknown): this {
    if (typeof keyOrValues === 'string') this.assigns[keyOrValues] = value;
    else Object.assign(this.assigns, keyOrValues);
    return this;
  }

  push(event: string, payload: unknown): void {
    this.#server.push(event, payload);
  }

  broadcast(event: string, payload: unknown): Promise<void> {
    return this.#server.broadcast(event, payload, false);
  }

  broadcastFrom(event: string, payload: unknown): Promise<void> {
    return this.#server.broadcast(event, payload, true);
  }

  ref(): SocketRef {
    return this.#server.ref();
  }

  send(message: unknown): void {
    this.#server.sendInfo(message);
  }

  subscribe(topic: string): Promise<void> {
    return this.#server.subscribeExternal(topic);
  }

  unsubscribe(topic: string): Promise<void> {
    return this.#server.unsubscribeExternal(topic);
  }
}
