/**
 * Presence nodes in one process: each a Nest app with `PresenceChannel` on its
 * own `RedisPubSub` (one Redis, one key prefix), and clients that carry the
 * `phoenix` client's `Presence`.
 */
import { Presence, type PresenceOptions } from '../../lib/index.js';
import { RedisPubSub, type RedisPubSubOptions } from '../../lib/redis/index.js';
import { FAST_PRESENCE, PresenceFixtures, PresenceWatcher } from '../fixtures/presence/presence.fixtures.js';
import { eventually, joined } from './phoenix-helpers.js';
import { watchPresence, type WatchedPresence } from './presence-helpers.js';
import { startApp, type TestApp } from './test-app.js';
import type { Channel, Socket } from 'phoenix';

export interface PresenceNode {
  readonly name: string;
  readonly app: TestApp;
  readonly pubsub: RedisPubSub;
  readonly presence: Presence;
  readonly watcher: PresenceWatcher;
}

export interface NodeOptions {
  url: string;
  keyPrefix: string;
  presence?: PresenceOptions;
  redis?: RedisPubSubOptions;
}

export async function startPresenceNode(name: string, options: NodeOptions): Promise<PresenceNode> {
  const pubsub = new RedisPubSub({ url: options.url, keyPrefix: options.keyPrefix, node: name, ...options.redis });
  const app = await startApp(PresenceFixtures.app({ pubsub, presence: options.presence ?? FAST_PRESENCE }));
  return { name, app, pubsub, presence: app.app.get(Presence), watcher: app.app.get(PresenceWatcher) };
}

export async function startPresenceNodes(names: string[], options: NodeOptions): Promise<PresenceNode[]> {
  const started = await Promise.allSettled(names.map((name) => startPresenceNode(name, options)));
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(nodes.map((node) => node.app.close()));
    throw failed.reason;
  }
  return nodes;
}

export interface PresenceClient {
  readonly user: string;
  readonly socket: Socket;
  readonly channel: Channel;
  readonly presence: WatchedPresence;
}

/** A client of `node` joining `topic` as `user` (tracked unless `track: false`); resolves once it got presence_state. */
export async function presenceClient(
  node: { app: TestApp },
  topic: string,
  user: string,
  params: Record<string, unknown> = {},
): Promise<PresenceClient> {
  const socket = node.app.client({ params: { user } });
  const channel = socket.channel(topic, { user, ...params });
  const presence = watchPresence(channel);
  let stated = false;
  channel.on('presence_state', () => {
    stated = true;
  });
  await joined(channel, 5000);
  await eventually(() => stated, `presence_state for ${user} on ${topic}`, 5000);
  return { user, socket, channel, presence };
}
