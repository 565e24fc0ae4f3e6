/**
 * RedisPubSub: the PubSub contract across nodes, on one publisher and one
 * subscriber connection per node.
 *
 * How a broadcast travels: `broadcast` checks the publisher is ready (else it
 * rejects with PubSubUnavailableError and delivers nowhere), builds one
 * envelope (redis-envelope.ts), dispatches to this node's subscribers
 * synchronously through LocalSubscriptions (the fastlane: one encode per
 * serializer), then PUBLISHes the envelope. Every other node subscribed to
 * the channel gets it on its subscriber connection, drops it if it carries
 * its own origin, decodes it once and dispatches it the same way.
 *
 * Subscriptions ('per-topic', the default): one Redis channel per topic,
 * SUBSCRIBEd while the topic has subscribers on this node — the first local
 * subscriber sends SUBSCRIBE and waits for Redis to confirm it (so a join's
 * reply means cross-node broadcasts will arrive), the last one to leave
 * sends UNSUBSCRIBE. 'per-group' subscribes one channel for every node and
 * filters by topic on arrival. bench/redis-subscription-design.ts measured
 * both with three nodes: with topics spread over nodes (each topic on one
 * node), per-topic nodes take in a third of the messages and bytes, spend
 * ~35% less CPU receiving and Redis ~25% less; with every topic on every
 * node the two are equal. Per-group's cost grows with the node count (every
 * node receives the whole cluster's traffic); per-topic's only with what a
 * node delivers. Per-topic's price, one Redis round trip on the first join
 * of a topic on a node (~0.04 ms on localhost), is small, so it is the default.
 *
 * Delivery across nodes is at most once, as Redis pub/sub is: a broadcast
 * published while a node's subscriber connection is down is not replayed.
 * Other nodes see a JSON payload as JSON.parse(JSON.stringify(payload))
 * (what a client would see) and a binary payload as a Buffer.
 *
 * Topics whose channel asks for history go another way (redis-history.ts):
 * a script stores each broadcast in the topic's stream with its position and
 * publishes it in one step, and every node, the publisher too, delivers it
 * from its subscriber connection in position order, filling any hole from
 * the stream. Those broadcasts are not lost by a node's reconnect.
 *
 * Faults: the connections reconnect with backoff; when either is lost the
 * outage is logged once, broadcasts are refused, local delivery and joins go
 * on; when both are back and every topic with local subscribers is
 * re-subscribed, the recovery is logged once.
 */
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import { describe } from '../channels.messages.js';
import { ChannelsConfigurationError, PubSubUnavailableError, SerializationError } from '../errors/errors.js';
import { HISTORY_MESSAGES } from '../history/history.messages.js';
import type { HistoryPolicy, HistoryPosition, HistoryPubSub, HistoryRead } from '../history/history.types.js';
import { observe } from '../errors/observe.js';
import { LocalSubscriptions } from '../pubsub/local-subscriptions.js';
import { PubSub } from '../pubsub/pubsub.js';
import type { Subscriber } from '../pubsub/subscriber.interface.js';
import { isBinaryPayload, type Broadcast } from '../serializers/message.js';
import { channels as telemetry, type PublishLostEvent } from '../telemetry/telemetry.js';
import {
  REDIS_DEFAULTS as DEFAULTS,
  describeWhere,
  duplicate,
  hangTimeouts,
  ignore,
  isReplyError,
  OWN_CONNECTION_OPTIONS,
  quit,
  validate,
  type Connection,
} from './redis-connection.js';
import { decodeEnvelope, encodeEnvelope, isFromOrigin, KIND_HISTORY, newOrigin } from './redis-envelope.js';
import { RedisHistory } from './redis-history.js';
import type { RedisPubSubOptions, RedisSubscriptionMode } from './redis-pubsub-options.interface.js';
import { REDIS_MESSAGES } from './redis.messages.js';

/** Channels per SUBSCRIBE when re-subscribing after a reconnect. */
const RESUBSCRIBE_BATCH = 1000;

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Counters of one RedisPubSub since it was created (`RedisPubSub.stats`).
 *
 * @publicApi
 */
export interface RedisPubSubStats {
  /** PUBLISHes written to Redis (one per broadcast made while Redis was available). */
  readonly published: number;
  /**
   * PUBLISHes written that Redis never confirmed: the connection was lost,
   * or taken for hung, first. Other nodes may or may not have received them.
   * With `awaitPublish: true` the broadcast's caller also saw the rejection.
   */
  readonly publishesLost: number;
  /** Broadcasts refused at once because Redis was unavailable (they went nowhere). */
  readonly broadcastsRefused: number;
  /** Times Redis was found unavailable: lost, or not there at start-up (the outage log lines). */
  readonly outages: number;
  /** Health-check PINGs that failed (unanswered within `commandTimeoutMs`, or lost with their connection). */
  readonly healthChecksFailed: number;
}

/**
 * A PubSub whose broadcasts reach every node connected to the same Redis
 * under the same `keyPrefix`.
 *
 * @example
 * ChannelsModule.forRoot({ pubsub: new RedisPubSub({ url: process.env.REDIS_URL, keyPrefix: 'chat:' }) })
 * @publicApi
 */
export class RedisPubSub extends PubSub implements HistoryPubSub {
  readonly node: string;
  /** How this node subscribes (see `RedisSubscriptionMode`). */
  readonly subscriptionMode: RedisSubscriptionMode;
  /** Where Redis is, for logs (no password). */
  readonly where: string;

  private readonly logger = new Logger('RedisPubSub');
  private readonly subscriptions = new LocalSubscriptions();
  private readonly origin = newOrigin();
  private readonly keyPrefix: string;
  /** Topic history, once a channel asks for it. */
  private history: RedisHistory | null = null;
  private readonly options: RedisPubSubOptions;
  private readonly topicPrefix: string;
  private readonly groupChannel: string;
  private readonly connectTimeoutMs: number;
  private readonly failOnConnectTimeout: boolean;
  private readonly maxReconnectDelayMs: number;
  private readonly awaitPublish: boolean;
  private readonly commandTimeoutMs: number;
  private readonly healthCheckIntervalMs: number;
  private healthTimer: NodeJS.Timeout | null = null;
  /** Connections with a health-check PING in flight: never more than one each. */
  private readonly pinging = new Set<Connection>();
  private published = 0;
  private publishesLost = 0;
  private broadcastsRefused = 0;
  private outages = 0;
  private healthChecksFailed = 0;

  private publisher: Connection | null = null;
  private subscriber: Connection | null = null;
  private ownsPublisher = true;
  /** With a Cluster: the master this node publishes through. */
  private clusterPublisher: Connection | null = null;
  /** 'per-topic': topics whose SUBSCRIBE is in flight, with its confirmation (joins await it). */
  private readonly pending = new Map<string, Promise<void>>();
  /** Bumped on every subscriber ready/close, so a late re-subscribe reply of an old connection is ignored. */
  private subscriberEpoch = 0;
  private resubscribed = false;
  private resubscribedTopics = 0;
  private wasUp = false;
  private reportedDown = false;
  private downSince = 0;
  private lastError = '';
  private badEnvelopeLogged = false;
  private closed = false;
  private upWaiters: Array<() => void> = [];
  private readonly connectionListeners = new Set<(connected: boolean) => void>();

  constructor(options: RedisPubSubOptions = {}) {
    super();
    validate(options);
    this.options = options;
    this.node = options.node ?? `${hostname()}:${process.pid}`;
    this.subscriptionMode = options.subscriptionMode ?? DEFAULTS.subscriptionMode;
    const keyPrefix = options.keyPrefix ?? DEFAULTS.keyPrefix;
    this.keyPrefix = keyPrefix;
    // Distinct suffixes keep a topic channel from ever colliding with the group channel.
    this.topicPrefix = `${keyPrefix}t:`;
    this.groupChannel = `${keyPrefix}all`;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    this.failOnConnectTimeout = options.failOnConnectTimeout ?? DEFAULTS.failOnConnectTimeout;
    this.maxReconnectDelayMs = options.maxReconnectDelayMs ?? DEFAULTS.maxReconnectDelayMs;
    this.awaitPublish = options.awaitPublish ?? DEFAULTS.awaitPublish;
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs;
    this.healthCheckIntervalMs = options.healthCheckIntervalMs ?? DEFAULTS.healthCheckIntervalMs;
    this.where = describeWhere(options);
  }

  /** What this node has published, lost and refused so far (a snapshot). */
  get stats(): RedisPubSubStats {
    return {
      published: this.published,
      publishesLost: this.publishesLost,
      broadcastsRefused: this.broadcastsRefused,
      outages: this.outages,
      healthChecksFailed: this.healthChecksFailed,
    };
  }

  /** The Redis channel a broadcast on `topic` is published to. */
  channelFor(topic: string): string {
    return this.subscriptionMode === 'per-topic' ? this.topicPrefix + topic : this.groupChannel;
  }

  /** True while both connections are ready and every local topic is subscribed on Redis. */
  override get isConnected(): boolean {
    return this.isUp();
  }

  /** `listener` hears every change of `isConnected` (the same edges the outage and recovery log lines mark). */
  override onConnectionChange(listener: (connected: boolean) => void): () => void {
    this.connectionListeners.add(listener);
    return () => {
      this.connectionListeners.delete(listener);
    };
  }

  // ── Lifecycle ────────────────────────────────────────────────────────────

  /**
   * Connects both connections and waits up to `connectTimeoutMs` for Redis.
   * Without an answer by then it resolves anyway (the app starts, broadcasts
   * are refused, reconnection goes on) unless `failOnConnectTimeout` is set,
   * in which case it rejects with `PubSubUnavailableError`.
   */
  override async init(): Promise<void> {
    if (this.publisher !== null || this.closed) return;
    const startedAt = Date.now();
    this.connect();
    const up = await this.waitUp(this.connectTimeoutMs);
    if (up) {
      this.logger.log(REDIS_MESSAGES.connected(this.where, this.node, this.subscriptionMode));
      return;
    }
    if (this.closed) return;
    if (this.failOnConnectTimeout) {
      await this.close();
      throw new PubSubUnavailableError(REDIS_MESSAGES.startupTimeout(this.where, this.connectTimeoutMs));
    }
    this.reportedDown = true;
    this.outages++;
    this.downSince = startedAt;
    this.logger.error(REDIS_MESSAGES.startupOutage(this.where, this.node, this.connectTimeoutMs, this.lastError));
  }

  /** Quits the subscriber connection, and the publisher unless it is a `client` given in the options. */
  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.healthTimer !== null) clearInterval(this.healthTimer);
    this.wakeWaiters();
    this.history?.close();
    const publisher = this.publisher;
    const subscriber = this.subscriber;
    const quitting: Promise<void>[] = [];
    if (subscriber !== null) quitting.push(quit(subscriber));
    if (publisher !== null) {
      if (this.ownsPublisher) quitting.push(quit(publisher));
      else {
        publisher.off('ready', this.onPublisherReady);
        publisher.off('close', this.onPublisherClose);
        publisher.off('error', this.onPublisherError);
      }
    }
    await Promise.all(quitting);
  }

  // ── The PubSub contract ──────────────────────────────────────────────────

  subscribe(topic: string, subscriber: Subscriber): void | Promise<void> {
    const first = this.subscriptions.add(topic, subscriber);
    const kept = this.history?.policy(topic) ?? null;
    if (kept !== null) {
      const subscribing = first && this.subscriptionMode === 'per-topic' ? this.subscribeOnRedis(topic) : undefined;
      return this.history!.subscribed(topic, kept, subscribing);
    }
    if (this.subscriptionMode !== 'per-topic') return undefined;
    // A later subscriber of a topic whose SUBSCRIBE is in flight waits for the same confirmation.
    if (!first) return this.pending.get(topic);
    return this.subscribeOnRedis(topic);
  }

  unsubscribe(topic: string, subscriber: Subscriber): void | Promise<void> {
    const last = this.subscriptions.remove(topic, subscriber);
    if (last) this.history?.unsubscribed(topic);
    if (!last || this.subscriptionMode !== 'per-topic') return undefined;
    // The next first subscriber must send its own SUBSCRIBE, after this UNSUBSCRIBE.
    this.pending.delete(topic);
    const connection = this.subscriber;
    // Down: nothing to undo, the re-subscribe on reconnect only covers topics still subscribed locally.
    if (connection === null || connection.status !== 'ready') return undefined;
    return connection.unsubscribe(this.topicPrefix + topic).then(ignore, this.onUnsubscribeFailed);
  }

  /** Every promise it returns is observed: a rejection nobody awaits is logged, never an unhandled rejection. */
  broadcast(topic: string, event: string, payload: unknown, from: Subscriber | null = null): Promise<void> {
    if (this.publisher === null || this.closed) return this.refused(topic, new PubSubUnavailableError(REDIS_MESSAGES.closed()));
    if (this.history !== null) {
      const kept = this.history.policy(topic);
      if (kept !== null) return this.broadcastKept(topic, event, payload, from, kept);
    }
    const publisher = this.publisher.isCluster ? this.clusterNode() : this.publisher;
    // A state check, not the offline queue: while Redis is away a broadcast fails now rather than
    // waiting, and then goes nowhere, not even here (as Phoenix.PubSub.broadcast).
    if (publisher === null || publisher.status !== 'ready') {
      return this.refused(topic, new PubSubUnavailableError(REDIS_MESSAGES.unavailable(this.where)));
    }
    let envelope: string | Buffer;
    try {
      envelope = encodeEnvelope(this.origin, topic, event, payload);
    } catch (error) {
      return this.refused(topic, error);
    }
    this.subscriptions.dispatch({ topic, event, payload }, from);
    const publishing = publisher.publish(this.channelFor(topic), envelope);
    this.published++;
    if (this.awaitPublish) return observe(publishing.then(ignore, this.onPublishFailed), this.logger, 'RedisPubSub broadcast', topic);
    // Written on a ready connection, in order with this node's other broadcasts: the caller goes on
    // (see the awaitPublish option); a loss after this point is the outage, which is logged once.
    publishing.catch(this.onUnconfirmedPublishFailed);
    return RESOLVED;
  }

  localBroadcast(topic: string, event: string, payload: unknown, from: Subscriber | null = null): Promise<void> {
    this.subscriptions.dispatch({ topic, event, payload }, from);
    return RESOLVED;
  }

  // ── History (HistoryPubSub) ──────────────────────────────────────────────

  useHistory(policy: HistoryPolicy): void {
    this.history = new RedisHistory(policy, {
      subscriptions: this.subscriptions,
      logger: this.logger,
      origin: this.origin,
      where: this.where,
      keyPrefix: this.keyPrefix,
      scriptConnection: () => (this.closed || this.publisher?.status !== 'ready' ? null : this.publisher),
    });
  }

  readHistory(topic: string, since: HistoryPosition | null): Promise<HistoryRead> {
    const kept = this.history?.policy(topic) ?? null;
    if (kept === null) return Promise.reject(new Error(HISTORY_MESSAGES.notKept(topic)));
    return this.history!.read(topic, kept, since);
  }

  /**
   * A broadcast on a history topic: stored and published by one script;
   * delivered here, as on every node, when it comes back from Redis. With
   * `awaitPublish` the promise settles with the script; without, once it is
   * written (a failure then is only logged).
   */
  private broadcastKept(topic: string, event: string, payload: unknown, from: Subscriber | null, kept: { size: number; ttlMs: number }): Promise<void> {
    const publisher = this.publisher!;
    if (publisher.status !== 'ready') return this.refused(topic, new PubSubUnavailableError(REDIS_MESSAGES.unavailable(this.where)));
    if (isBinaryPayload(payload)) return this.refused(topic, new SerializationError(HISTORY_MESSAGES.binary(event, topic)));
    let appending: Promise<void>;
    try {
      appending = this.history!.append(publisher, topic, kept, event, payload, from, this.channelFor(topic));
    } catch (error) {
      return this.refused(topic, error);
    }
    if (this.awaitPublish) return observe(appending, this.logger, 'RedisPubSub broadcast', topic);
    appending.catch(this.onUnconfirmedAppendFailed);
    return RESOLVED;
  }

  private readonly onUnconfirmedAppendFailed = (error: unknown): void => {
    // Lost with the connection: the outage is logged once. Refused by Redis (e.g. out of memory): say so.
    const cause = (error as { cause?: unknown })?.cause;
    if (isReplyError(cause)) this.logger.warn(describe(error));
    else this.logger.debug(describe(error));
  };

  private refused(topic: string, error: unknown): Promise<void> {
    this.broadcastsRefused++;
    return observe(Promise.reject(error), this.logger, 'RedisPubSub broadcast', topic);
  }

  // ── Connections ──────────────────────────────────────────────────────────

  /**
   * A Cluster sends a keyless PUBLISH to a random node, and two nodes relay
   * over different bus links, so one publisher's broadcasts could overtake
   * each other. Publishing through one master, kept while it is ready, keeps
   * them in order.
   */
  private clusterNode(): Connection | null {
    const current = this.clusterPublisher;
    if (current !== null && current.status === 'ready') return current;
    const cluster = this.publisher as unknown as Cluster;
    if (cluster.status !== 'ready') return null;
    const next = (cluster.nodes('master') as unknown as Connection[]).find((node) => node.status === 'ready') ?? null;
    this.clusterPublisher = next;
    return next;
  }

  private connect(): void {
    const given = this.options.client as unknown as Connection | undefined;
    if (given !== undefined) {
      if (given.status === 'end') throw new ChannelsConfigurationError(REDIS_MESSAGES.clientEnded());
      this.ownsPublisher = false;
      this.publisher = given;
      this.subscriber = duplicate(given, this.commandTimeoutMs);
    } else {
      this.publisher = this.create();
      this.subscriber = this.create();
    }
    const publisher = this.publisher;
    const subscriber = this.subscriber;
    publisher.on('ready', this.onPublisherReady);
    publisher.on('close', this.onPublisherClose);
    publisher.on('error', this.onPublisherError);
    subscriber.on('ready', this.onSubscriberReady);
    subscriber.on('close', this.onSubscriberClose);
    subscriber.on('error', this.onSubscriberError);
    subscriber.on('messageBuffer', this.onMessage);
    // A given client may be connected already (its 'ready' fired before we listened: the
    // subscriber's 'ready' runs refresh()), or lazy, or reconnecting on its own.
    if (publisher.status === 'wait') publisher.connect().catch(this.onConnectFailed);
    subscriber.connect().catch(this.onConnectFailed);
    if (this.healthCheckIntervalMs > 0) {
      this.healthTimer = setInterval(this.checkHealth, this.healthCheckIntervalMs);
      this.healthTimer.unref();
    }
  }

  /**
   * PINGs each standalone connection of ours that is ready. The PING is a
   * command waiting for an answer, so a connection that receives nothing
   * for `commandTimeoutMs` after it is dropped (`socketTimeout`, see
   * `hangTimeouts`) and reconnected, and the outage logged: an idle
   * subscriber connection to a hung Redis or over a dead link is noticed too.
   */
  private readonly checkHealth = (): void => {
    if (this.closed) return;
    if (this.ownsPublisher) this.ping(this.publisher);
    this.ping(this.subscriber);
  };

  private ping(connection: Connection | null): void {
    if (connection === null || connection.isCluster || connection.status !== 'ready' || this.pinging.has(connection)) return;
    this.pinging.add(connection);
    connection.ping().then(
      () => this.pinging.delete(connection),
      (error: unknown) => {
        this.pinging.delete(connection);
        this.healthChecksFailed++;
        this.logger.debug(`health-check PING to Redis at ${this.where} failed: ${describe(error)}`);
      },
    );
  }

  private create(): Connection {
    const o = this.options;
    const options: RedisOptions = {
      ...o.redisOptions,
      ...(o.url === undefined ? { host: o.host ?? DEFAULTS.host, port: o.port ?? DEFAULTS.port } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.db !== undefined ? { db: o.db } : {}),
      ...(o.tls === true ? { tls: {} } : typeof o.tls === 'object' ? { tls: o.tls } : {}),
      ...OWN_CONNECTION_OPTIONS,
      ...hangTimeouts(this.commandTimeoutMs),
      retryStrategy: this.retryDelay,
    };
    if (o.url === undefined) return new Redis(options) as unknown as Connection;
    // ioredis merges its arguments in order, the first to set a key winning: options first, so
    // ours (and password/db/tls given beside the url) override the url and its query string.
    const WithArgs = Redis as unknown as new (options: RedisOptions, url: string) => Redis;
    return new WithArgs(options, o.url) as unknown as Connection;
  }

  private readonly retryDelay = (attempt: number): number =>
    Math.min(50 * 2 ** Math.min(attempt - 1, 16), this.maxReconnectDelayMs) + Math.floor(Math.random() * 100);

  private subscribeOnRedis(topic: string): Promise<void> | undefined {
    const connection = this.subscriber;
    // Down (or not started): the topic is local already, and the 'ready' handler subscribes it.
    if (connection === null || connection.status !== 'ready') return undefined;
    const confirmed: Promise<void> = connection.subscribe(this.topicPrefix + topic).then(
      () => {
        if (this.pending.get(topic) === confirmed) this.pending.delete(topic);
      },
      (error: unknown) => {
        if (this.pending.get(topic) === confirmed) this.pending.delete(topic);
        if (isReplyError(error)) {
          throw new PubSubUnavailableError(REDIS_MESSAGES.subscribeRefused(topic, this.where), { cause: error });
        }
        // The connection dropped before Redis confirmed: the topic stays local and the next 'ready'
        // re-subscribes it, so the join goes on as any join during an outage does.
        this.logger.debug(`SUBSCRIBE ${topic} lost with the connection (${describe(error)}); re-subscribed on reconnect`);
      },
    );
    this.pending.set(topic, confirmed);
    return observe(confirmed, this.logger, 'RedisPubSub subscribe', topic);
  }

  private readonly onSubscriberReady = (): void => {
    const connection = this.subscriber;
    if (connection === null || this.closed) return;
    const epoch = ++this.subscriberEpoch;
    this.resubscribed = false;
    const topics = Array.from(this.subscriptions.topics());
    const topicCount = topics.length;
    const channels =
      this.subscriptionMode === 'per-topic' ? topics.map((topic) => this.topicPrefix + topic) : [this.groupChannel];
    const batches: Promise<unknown>[] = [];
    for (let i = 0; i < channels.length; i += RESUBSCRIBE_BATCH) {
      batches.push(connection.subscribe(...channels.slice(i, i + RESUBSCRIBE_BATCH)));
    }
    Promise.all(batches).then(
      () => {
        if (epoch !== this.subscriberEpoch || this.closed) return;
        this.resubscribed = true;
        this.resubscribedTopics = topicCount;
        this.refresh();
        // What was published while this connection was away is in the streams.
        this.history?.resume();
      },
      (error: unknown) => {
        if (isReplyError(error)) this.logger.error(`re-subscribing on Redis at ${this.where} failed: ${describe(error)}`);
        // Otherwise the connection dropped again before Redis answered; its next 'ready' starts over.
        else this.logger.debug(`re-subscribing lost with the connection: ${describe(error)}`);
      },
    );
  };

  private readonly onSubscriberClose = (): void => {
    this.subscriberEpoch++;
    this.resubscribed = false;
    this.refresh();
  };

  private readonly onPublisherReady = (): void => this.refresh();
  private readonly onPublisherClose = (): void => this.refresh();

  // Every reconnection attempt emits 'error': kept for the outage line, logged at debug only.
  private readonly onPublisherError = (error: Error): void => this.noteError('publisher', error);
  private readonly onSubscriberError = (error: Error): void => this.noteError('subscriber', error);

  private noteError(which: string, error: Error): void {
    this.lastError = describe(error);
    this.logger.debug(`${which} connection to Redis at ${this.where}: ${this.lastError}`);
  }

  private readonly onConnectFailed = (error: unknown): void => {
    // The first connect failed: ioredis keeps retrying through retryStrategy and 'ready' tells us when it is back.
    this.lastError = describe(error);
  };

  private readonly onPublishFailed = (error: unknown): never => {
    this.publishLost(error);
    throw new PubSubUnavailableError(REDIS_MESSAGES.publishFailed(this.where), { cause: error });
  };

  private readonly onUnconfirmedPublishFailed = (error: unknown): void => {
    this.publishLost(error);
    this.logger.debug(`a PUBLISH written before the connection failed was lost: ${describe(error)}`);
  };

  /** Counts a PUBLISH lost after it was written (`stats.publishesLost`) and tells telemetry. */
  private publishLost(error: unknown): void {
    this.publishesLost++;
    if (!telemetry.publishLost.hasSubscribers) return;
    const event: PublishLostEvent = { node: this.node, lost: this.publishesLost, error };
    telemetry.publishLost.publish(event);
  }

  private readonly onUnsubscribeFailed = (error: unknown): void => {
    // Lost with the connection (the reconnect re-subscribes local topics only) or refused: either way
    // the worst outcome is broadcasts this node drops on arrival.
    this.logger.debug(`UNSUBSCRIBE failed: ${describe(error)}`);
  };

  // ── Incoming ─────────────────────────────────────────────────────────────

  private readonly wanted = (topic: string): boolean => this.subscriptions.has(topic);

  private readonly onMessage = (channel: Buffer, message: Buffer): void => {
    // History broadcasts are delivered from here on every node, their publisher's included.
    if (message[0] === KIND_HISTORY && this.history !== null) {
      this.history.receive(message, channel);
      return;
    }
    // Our own copy: broadcast() dispatched it locally already.
    if (isFromOrigin(message, this.origin)) return;
    let broadcast: Broadcast | null;
    try {
      broadcast = decodeEnvelope(message, this.wanted);
    } catch (error) {
      this.reportBadEnvelope(channel, error);
      return;
    }
    if (broadcast !== null) this.subscriptions.dispatch(broadcast, null);
  };

  private reportBadEnvelope(channel: Buffer, error: unknown): void {
    const text = REDIS_MESSAGES.badEnvelope(describe(channel.toString()), describe(error));
    if (this.badEnvelopeLogged) this.logger.debug(text);
    else {
      this.badEnvelopeLogged = true;
      this.logger.warn(text);
    }
  }

  // ── Up / down ────────────────────────────────────────────────────────────

  private isUp(): boolean {
    return (
      !this.closed &&
      this.resubscribed &&
      this.publisher?.status === 'ready' &&
      this.subscriber?.status === 'ready'
    );
  }

  /** Called on every connection event: logs the edges (down once, up once), never the steady state. */
  private refresh(): void {
    if (this.closed) return;
    if (this.isUp()) {
      if (this.reportedDown) {
        this.reportedDown = false;
        this.logger.log(REDIS_MESSAGES.recovered(this.where, Date.now() - this.downSince, this.resubscribedTopics));
      }
      const edge = !this.wasUp;
      this.wasUp = true;
      this.lastError = '';
      this.wakeWaiters();
      if (edge) this.notifyConnection(true);
    } else if (this.wasUp) {
      this.wasUp = false;
      this.reportedDown = true;
      this.outages++;
      this.downSince = Date.now();
      this.logger.error(REDIS_MESSAGES.outage(this.where, this.node, this.lastError));
      this.notifyConnection(false);
    }
  }

  private notifyConnection(connected: boolean): void {
    for (const listener of this.connectionListeners) {
      try {
        listener(connected);
      } catch (error) {
        // A listener's bug must not stop the others hearing of the change, nor the reconnection.
        this.logger.error(`an onConnectionChange listener threw: ${describe(error)}`);
      }
    }
  }

  private waitUp(timeoutMs: number): Promise<boolean> {
    if (this.isUp()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.upWaiters = this.upWaiters.filter((waiter) => waiter !== wake);
        resolve(false);
      }, timeoutMs);
      const wake = (): void => {
        clearTimeout(timer);
        resolve(this.isUp());
      };
      this.upWaiters.push(wake);
    });
  }

  private wakeWaiters(): void {
    const waiters = this.upWaiters;
    this.upWaiters = [];
    for (const wake of waiters) wake();
  }
}
