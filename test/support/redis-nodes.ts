/**
 * Several Nest apps in one process, each its own node with its own
 * `RedisPubSub` on one Redis (STYLE.md 7, multi-node), behind one handle
 * that closes them all.
 */
import { ChannelsEndpoint, type ChannelsModuleOptions } from '../../lib/index.js';
import { RedisPubSub, type RedisPubSubOptions } from '../../lib/redis/index.js';
import { Fixtures } from '../fixtures/fixtures.js';
import { Recorder } from '../fixtures/recorder.js';
import { REDIS_URL, uniquePrefix } from './redis-server.js';
import { startApp, type TestApp } from './test-app.js';

export interface RedisNode {
  readonly app: TestApp;
  readonly pubsub: RedisPubSub;
  readonly endpoint: ChannelsEndpoint;
  readonly recorder: Recorder;
}

export interface RedisNodes {
  readonly nodes: RedisNode[];
  readonly prefix: string;
  close(): Promise<void>;
}

/**
 * Starts `count` apps from `Fixtures.standard`, each with
 * `new RedisPubSub({ url, keyPrefix, node: 'node<i>', ...options })` and the
 * `mount` options. The key prefix is unique unless `options.keyPrefix` is given.
 */
export async function startNodes(count: number, options: RedisPubSubOptions = {}, mount: ChannelsModuleOptions = {}): Promise<RedisNodes> {
  const prefix = options.keyPrefix ?? uniquePrefix('nodes');
  const nodes: RedisNode[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.app.close()));
  };
  try {
    for (let i = 0; i < count; i++) {
      const connection: RedisPubSubOptions = options.client !== undefined || options.host !== undefined || options.port !== undefined ? {} : { url: REDIS_URL };
      const pubsub = new RedisPubSub({ ...connection, node: `node${i}`, ...options, keyPrefix: prefix });
      const app = await startApp(Fixtures.standard({ ...mount, pubsub }));
      nodes.push({ app, pubsub, endpoint: app.app.get(ChannelsEndpoint), recorder: app.app.get(Recorder) });
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { nodes, prefix, close };
}
