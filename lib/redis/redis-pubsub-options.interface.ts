import type { ConnectionOptions } from 'node:tls';
import type { Cluster, Redis, RedisOptions } from 'ioredis';

/**
 * How a node subscribes on Redis.
 *
 * - `'per-topic'`: one Redis channel per topic, SUBSCRIBEd only while the
 *   topic has subscribers on this node (reference-counted). A node receives
 *   only the broadcasts it delivers.
 * - `'per-group'`: one Redis channel for the whole node group; every node
 *   receives every broadcast and drops those for topics it has no subscriber
 *   of (before decoding the payload).
 *
 * Every node of a group must use the same mode.
 */
export type RedisSubscriptionMode = 'per-topic' | 'per-group';

/**
 * Options of `RedisPubSub`. Say where Redis is once: `url` or `host`/`port`
 * (either with `password`/`username`/`db`/`tls`), or an existing `client`
 * alone. With none of them: 127.0.0.1:6379.
 *
 * @publicApi
 */
export interface RedisPubSubOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db]`, or `rediss://…` for TLS.
   * Not together with `host`/`port` or `client`; `password`, `username`,
   * `db` and `tls` given beside it override what it says.
   */
  url?: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 6379 */
  port?: number;
  /** Sent with AUTH (HELLO) on every connection. */
  password?: string;
  /** ACL user name (Redis 6+), with `password`. */
  username?: string;
  /**
   * Database index. Redis pub/sub ignores databases (a channel is
   * server-wide): apps sharing a server are kept apart by `keyPrefix`, not `db`.
   * @default 0
   */
  db?: number;
  /** `true` for TLS with Node's defaults, or `tls.connect` options. */
  tls?: boolean | ConnectionOptions;
  /**
   * An existing ioredis `Redis` or `Cluster`. It publishes; `client.duplicate()`
   * makes the subscriber connection. `close()` quits the duplicate but leaves
   * the client you gave open (you created it, you close it). Its own options
   * apply: with its offline queue on, a broadcast is still refused while it is
   * not ready (state check), never queued.
   */
  client?: Redis | Cluster;
  /**
   * Prefixes every pub/sub channel name this PubSub publishes and subscribes,
   * so several apps (or test runs) share one Redis without hearing each
   * other. ioredis's own `keyPrefix` does not apply to pub/sub.
   * @default 'channels:'
   */
  keyPrefix?: string;
  /** This node's name (logs, diagnostics). @default `${os.hostname()}:${process.pid}` */
  node?: string;
  /**
   * How nodes subscribe; see `RedisSubscriptionMode`. The default is what
   * `bench/redis-subscription-design.ts` measured best.
   * @default 'per-topic'
   */
  subscriptionMode?: RedisSubscriptionMode;
  /**
   * How long `init()` (application start) waits for Redis, in ms. When Redis
   * has not answered by then the app starts anyway, logs the outage and keeps
   * reconnecting (as phoenix_pubsub_redis does): local traffic is served,
   * `broadcast` rejects until Redis is back. See `failOnConnectTimeout`.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * When true, `init()` rejects with `PubSubUnavailableError` (and the app
   * does not start) if Redis has not answered within `connectTimeoutMs`.
   * @default false
   */
  failOnConnectTimeout?: boolean;
  /**
   * Upper bound of the reconnection backoff, in ms: attempts wait 50, 100,
   * 200… ms (plus up to 100 ms of jitter), capped here. Applies to the
   * connections RedisPubSub creates, not to a given `client` (its own
   * `retryStrategy` applies, also to its duplicate).
   * @default 2000
   */
  maxReconnectDelayMs?: number;
  /**
   * When true, `broadcast` resolves only once Redis has answered the
   * PUBLISH, and rejects if that fails. When false, it resolves as soon as
   * the PUBLISH is written on a ready connection: a handler that awaits each
   * of many broadcasts then sends them in one burst (pipelined, and batched
   * into one write per subscriber) instead of one Redis round trip apiece.
   * Either way a broadcast made while Redis is down rejects at once with
   * `PubSubUnavailableError` and goes nowhere; with false, a PUBLISH lost
   * with its connection after it was written is only logged (the outage
   * itself is logged once) and counted (`RedisPubSub.stats.publishesLost`,
   * the `nestjs-channels:publish_lost` telemetry event).
   * @default false
   */
  awaitPublish?: boolean;
  /**
   * How long, in ms, a connection may wait for Redis to answer before it
   * is taken for hung: when nothing at all has arrived for this long while
   * a command waits, the connection is dropped and re-established, the
   * outage logged once, and the waiting commands fail (a join waiting for
   * its SUBSCRIBE goes on without it, as during an outage). A hung Redis (a paused process, a dead link) thus
   * holds a new connection's frames and joins for at most this long, and
   * heartbeats are answered meanwhile. Applies to the connections
   * RedisPubSub creates and to the subscriber duplicate of a given `client`
   * (the given client itself keeps its own options).
   * @default 2000
   */
  commandTimeoutMs?: number;
  /**
   * How often, in ms, each connection RedisPubSub created (and the
   * subscriber duplicate of a given `client`) sends PING while it is ready.
   * A connection nobody has asked anything (an idle subscriber) would not
   * notice a Redis that stopped answering, or a link that died without a
   * reset; a PING left unanswered for `commandTimeoutMs` drops it like any
   * hung connection. So a half-open connection is noticed within
   * `healthCheckIntervalMs + commandTimeoutMs` (7 s at the defaults): the
   * outage is logged, `isConnected` turns false and reconnection starts.
   * Not applied to a `Cluster` (its nodes keep their own options). `0` turns
   * the check off (then only TCP keepalive notices a dead link, after minutes).
   * @default 5000
   */
  healthCheckIntervalMs?: number;
  /**
   * Extra ioredis options for the connections RedisPubSub creates (e.g.
   * `sentinels`, `connectionName`, `connectTimeout`). The ones that make
   * broadcasts fail fast, never replay a PUBLISH, detect a hung Redis, and
   * let RedisPubSub re-subscribe and back off itself (`enableOfflineQueue`,
   * `maxRetriesPerRequest`, `autoResendUnfulfilledCommands`,
   * `autoResubscribe`, `lazyConnect`, `socketTimeout`, `retryStrategy`) are
   * ours and override these.
   */
  redisOptions?: RedisOptions;
}
