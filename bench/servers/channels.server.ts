/**
 * Our server: a Nest app written only with nestjs-channels' public API, doing
 * the same work as the baselines.
 *
 *   node --expose-gc dist/bench/servers/channels.server.js [options]   → prints READY <port>
 *
 * Options (argv `--name value`):
 *   --pubsub local|redis     LocalPubSub (default) or RedisPubSub (the cluster scenario)
 *   --redis-url URL          default redis://127.0.0.1:6379
 *   --key-prefix PREFIX      RedisPubSub keyPrefix, so runs never hear each other
 *   --max-buffered BYTES     ChannelsModule maxBufferedBytes (default: the library's)
 *   --enhancers none|guard-pipe
 *                            guard-pipe serves `bench:*` with a class guard that lets
 *                            everyone in and `ping` validated by ValidationPipe against a
 *                            DTO (`@MessageBody() dto: PingDto`): the cost of enhancers
 *
 * Channel `bench:*`: join ok; `ping` replies with its payload; `blast` {n, size}
 * broadcasts n × `msg` {i, body} to the topic, then replies ok.
 */
import 'reflect-metadata';
import { Injectable, Module, UseGuards, UsePipes, ValidationPipe, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessageBody } from '@nestjs/websockets';
import { IsOptional, IsString } from 'class-validator';
import {
  Channel,
  ChannelsAdapter,
  ChannelsModule,
  HandleIn,
  Join,
  reply,
  type ChannelSocket,
  type ChannelsModuleOptions,
  type PubSub,
} from '../../lib/index.js';
import { arg, exitOnSignals, serveNestBenchApp } from './bench-hooks.js';

@Channel('bench:*', { logJoin: false, logHandleIn: false })
class BenchChannel {
  @Join()
  join() {
    return undefined;
  }

  @HandleIn('ping')
  ping(payload: unknown) {
    return payload;
  }

  @HandleIn('blast')
  async blast(payload: { n?: number; size?: number }, socket: ChannelSocket) {
    const n = Math.min(Math.max(0, Number(payload?.n) | 0), 10_000_000);
    const size = Math.min(Math.max(0, Number(payload?.size) | 0), 16 * 1024 * 1024);
    const body = 'x'.repeat(size);
    for (let i = 0; i < n; i++) await socket.broadcast('msg', { i, body });
    return reply('ok', { n });
  }
}

/** Lets every join and request through, after looking at the socket as a real guard would. */
@Injectable()
class AllowGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToWs().getClient<ChannelSocket>().topic.startsWith('bench:');
  }
}

/** The load generator's ping payload: `{ body: 'xxx…' }`. */
class PingDto {
  @IsOptional()
  @IsString()
  body?: string;
}

/** `BenchChannel` behind a guard, with `ping` validated: the same work plus what enhancers cost. */
@Channel('bench:*', { logJoin: false, logHandleIn: false })
@UseGuards(AllowGuard)
class GuardedBenchChannel extends BenchChannel {
  @HandleIn('ping')
  @UsePipes(new ValidationPipe())
  override ping(@MessageBody() payload: PingDto) {
    return payload;
  }
}

async function makePubSub(): Promise<PubSub | undefined> {
  if (arg('pubsub', 'local') !== 'redis') return undefined;
  const { RedisPubSub } = await import('../../lib/redis/index.js');
  return new RedisPubSub({
    url: arg('redis-url', 'redis://127.0.0.1:6379'),
    keyPrefix: arg('key-prefix', `bench:${process.pid}:`),
  });
}

async function main(): Promise<void> {
  exitOnSignals();
  await serveNestBenchApp('channels.server', async () => {
    const pubsub = await makePubSub();
    const maxBuffered = Number(arg('max-buffered', '0'));
    const options: ChannelsModuleOptions = {
      path: '/socket',
      logger: false,
      ...(pubsub !== undefined ? { pubsub } : {}),
      ...(maxBuffered > 0 ? { maxBufferedBytes: maxBuffered } : {}),
    };

    const enhanced = arg('enhancers', 'none') === 'guard-pipe';
    @Module({
      imports: [ChannelsModule.forRoot(options)],
      providers: enhanced ? [GuardedBenchChannel, AllowGuard] : [BenchChannel],
    })
    class AppModule {}

    const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
    app.useWebSocketAdapter(new ChannelsAdapter(app));
    return app;
  });
}

void main();
