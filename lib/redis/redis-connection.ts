/**
 * The connection side of RedisPubSub: defaults, option checks, the subscriber
 * duplicate of a given client, and a bounded QUIT. Only lib/redis imports ioredis.
 */
import type { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { ChannelsConfigurationError } from '../errors/errors.js';
import type { RedisPubSubOptions, RedisSubscriptionMode } from './redis-pubsub-options.interface.js';
import { REDIS_MESSAGES } from './redis.messages.js';

/** What RedisPubSub uses of an ioredis `Redis` or `Cluster` (their overloads do not unify). */
export interface Connection extends EventEmitter {
  readonly status: string;
  readonly isCluster?: boolean;
  readonly options: { host?: string; port?: number };
  publish(channel: string, message: string | Buffer): Promise<number>;
  /** Any command (history's scripts); `callBuffer` answers with Buffers. */
  call(command: string, ...args: Array<string | number | Buffer>): Promise<unknown>;
  callBuffer(command: string, ...args: Array<string | number | Buffer>): Promise<unknown>;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  connect(): Promise<void>;
  ping(): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

export const REDIS_DEFAULTS = {
  host: '127.0.0.1',
  port: 6379,
  keyPrefix: 'channels:',
  subscriptionMode: 'per-topic' as RedisSubscriptionMode,
  connectTimeoutMs: 5000,
  failOnConnectTimeout: false,
  maxReconnectDelayMs: 2000,
  awaitPublish: false,
  commandTimeoutMs: 2000,
  healthCheckIntervalMs: 5000,
};

/**
 * What every connection we create or duplicate sets, so the two places cannot drift apart.
 * Fail fast and never replay: a PUBLISH that cannot be written now is rejected (the caller
 * hears of it), not queued or resent after a reconnect (a late duplicate). We re-subscribe
 * ourselves on 'ready', from the local topics of that moment.
 */
export const OWN_CONNECTION_OPTIONS = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  autoResubscribe: false,
} as const;

/**
 * A hung Redis (a stopped process, a dead link that TCP has not noticed) answers nothing but keeps
 * the connection open. ioredis's `socketTimeout` drops a connection that receives nothing for this
 * long while a command waits: the waiting commands fail and the connection is re-established like
 * a lost one (the outage is logged once; joins stop waiting on it). Unlike `commandTimeout`, it
 * needs no timer per command, so a burst of PUBLISHes costs nothing more.
 */
export function hangTimeouts(commandTimeoutMs: number): { socketTimeout: number } {
  return { socketTimeout: commandTimeoutMs };
}

/** How long `close()` waits for QUIT before dropping the socket. */
const QUIT_TIMEOUT_MS = 1000;

const CONNECTION_KEYS = ['url', 'host', 'port', 'password', 'username', 'db', 'tls'] as const;

/** A settled promise's value nobody needs. */
export function ignore(): void {}

/** Throws `ChannelsConfigurationError` on contradictory or malformed options (STYLE.md 5). */
export function validate(options: RedisPubSubOptions): void {
  const given = CONNECTION_KEYS.filter((key) => options[key] !== undefined);
  if (options.client !== undefined && given.length > 0) {
    throw new ChannelsConfigurationError(REDIS_MESSAGES.conflictingOptions(['client', ...given]));
  }
  if (options.url !== undefined && (options.host !== undefined || options.port !== undefined)) {
    throw new ChannelsConfigurationError(
      REDIS_MESSAGES.conflictingOptions(['url', ...given.filter((key) => key === 'host' || key === 'port')]),
    );
  }
  if (options.subscriptionMode !== undefined && options.subscriptionMode !== 'per-topic' && options.subscriptionMode !== 'per-group') {
    throw new ChannelsConfigurationError(REDIS_MESSAGES.badOption('subscriptionMode', "'per-topic' or 'per-group'", options.subscriptionMode));
  }
  for (const key of ['connectTimeoutMs', 'maxReconnectDelayMs'] as const) {
    const value = options[key];
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new ChannelsConfigurationError(REDIS_MESSAGES.badOption(key, 'a number of ms >= 0', value));
    }
  }
  const healthCheckIntervalMs = options.healthCheckIntervalMs;
  if (healthCheckIntervalMs !== undefined && !(Number.isFinite(healthCheckIntervalMs) && healthCheckIntervalMs >= 0)) {
    throw new ChannelsConfigurationError(
      REDIS_MESSAGES.badOption('healthCheckIntervalMs', 'a number of ms >= 0 (0 turns the check off)', healthCheckIntervalMs),
    );
  }
  const commandTimeoutMs = options.commandTimeoutMs;
  if (commandTimeoutMs !== undefined && !(Number.isFinite(commandTimeoutMs) && commandTimeoutMs > 0)) {
    throw new ChannelsConfigurationError(REDIS_MESSAGES.badOption('commandTimeoutMs', 'a number of ms > 0', commandTimeoutMs));
  }
  if (options.keyPrefix !== undefined && typeof options.keyPrefix !== 'string') {
    throw new ChannelsConfigurationError(REDIS_MESSAGES.badOption('keyPrefix', 'a string', options.keyPrefix));
  }
}

/** host:port for logs, never the password. */
export function describeWhere(options: RedisPubSubOptions): string {
  if (options.url !== undefined) {
    try {
      const url = new URL(options.url);
      return `${url.hostname}:${url.port || REDIS_DEFAULTS.port}`;
    } catch {
      // Not a WHATWG URL (ioredis also takes a bare path); it only names the server in logs.
      return 'the configured url';
    }
  }
  const client = options.client as unknown as Connection | undefined;
  if (client !== undefined) {
    if (client.isCluster) return 'the given cluster';
    return `${client.options.host ?? REDIS_DEFAULTS.host}:${client.options.port ?? REDIS_DEFAULTS.port}`;
  }
  return `${options.host ?? REDIS_DEFAULTS.host}:${options.port ?? REDIS_DEFAULTS.port}`;
}

/** The subscriber connection for a given client: its options, plus ours for subscribing. */
export function duplicate(client: Connection, commandTimeoutMs: number): Connection {
  if (client.isCluster) {
    const cluster = client as unknown as Cluster;
    return cluster.duplicate([], {
      lazyConnect: true,
      enableOfflineQueue: false,
      redisOptions: { ...cluster.options.redisOptions, ...hangTimeouts(commandTimeoutMs) },
    }) as unknown as Connection;
  }
  return (client as unknown as Redis).duplicate({ ...OWN_CONNECTION_OPTIONS, ...hangTimeouts(commandTimeoutMs) }) as unknown as Connection;
}

/** QUIT, bounded by QUIT_TIMEOUT_MS, then disconnect (which also cancels a pending reconnection). */
export async function quit(connection: Connection): Promise<void> {
  if (connection.status === 'end') return;
  if (connection.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, QUIT_TIMEOUT_MS);
    });
    // QUIT fails when the connection drops meanwhile: disconnect() below ends it either way.
    await Promise.race([connection.quit().then(ignore, ignore), timedOut]);
    clearTimeout(timer);
  }
  // Stops a pending reconnection too; a no-op on a connection QUIT has ended.
  connection.disconnect();
}

/** True for an error Redis answered with (it refused the command), as opposed to a lost connection. */
export function isReplyError(error: unknown): boolean {
  return (error as Error)?.name === 'ReplyError';
}
