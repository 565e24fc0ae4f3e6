/**
 * What the Nest bench servers of nestjs-channels share: the PubSub the
 * command line asks for, and the app around their channels. Kept apart from
 * bench-hooks.ts, which the baselines load too, so that their memory
 * figures never include this library.
 */
import { Module, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ChannelsAdapter, ChannelsModule, type ChannelsModuleOptions, type PubSub } from '../../lib/index.js';
import { arg } from './bench-hooks.js';

/** `--pubsub redis` → a RedisPubSub from `--redis-url`, `--key-prefix` (and `--node` when given); otherwise undefined (LocalPubSub). */
export async function benchPubSub(): Promise<PubSub | undefined> {
  if (arg('pubsub', 'local') !== 'redis') return undefined;
  const { RedisPubSub } = await import('../../lib/redis/index.js');
  const node = arg('node', '');
  return new RedisPubSub({
    url: arg('redis-url', 'redis://127.0.0.1:6379'),
    keyPrefix: arg('key-prefix', `bench:${process.pid}:`),
    ...(node !== '' ? { node } : {}),
  });
}

/** A Nest app serving `channels` with `ChannelsModule.forRoot(options)` behind `ChannelsAdapter`. */
export async function createChannelsApp(options: ChannelsModuleOptions, channels: Type<unknown>[]): Promise<INestApplication> {
  @Module({ imports: [ChannelsModule.forRoot(options)], providers: channels })
  class AppModule {}

  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.useWebSocketAdapter(new ChannelsAdapter(app));
  return app;
}
