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
 *   --longpoll               also serve long-poll at /socket/longpoll (the channels-lp bench server)
 *   --enhancers none|guard-pipe
 *                            guard-pipe serves `bench:*` with a class guard that lets
 *                            everyone in and `ping` validated by ValidationPipe against a
 *                            DTO (`@MessageBody() dto: PingDto`): the cost of enhancers
 *
 * Channel `bench:*`: join ok; `ping` replies with its payload; `blast` {n, size}
 * broadcasts n × `msg` {i, body} to the topic, then replies ok.
 */
import 'reflect-metadata';
import { Injectable, UseGuards, UsePipes, ValidationPipe, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { MessageBody } from '@nestjs/websockets';
import { IsOptional, IsString } from 'class-validator';
import { Channel, HandleIn, type ChannelSocket, type ChannelsModuleOptions } from '../../lib/index.js';
import { BenchChannel } from './bench.channel.js';
import { arg, exitOnSignals, serveNestBenchApp } from './bench-hooks.js';
import { benchPubSub, createChannelsApp } from './channels-app.js';

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

async function main(): Promise<void> {
  exitOnSignals();
  await serveNestBenchApp('channels.server', async () => {
    const pubsub = await benchPubSub();
    const maxBuffered = Number(arg('max-buffered', '0'));
    const options: ChannelsModuleOptions = {
      path: '/socket',
      logger: false,
      ...(pubsub !== undefined ? { pubsub } : {}),
      ...(maxBuffered > 0 ? { maxBufferedBytes: maxBuffered } : {}),
      ...(process.argv.includes('--longpoll') ? { longpoll: true } : {}),
    };
    const enhanced = arg('enhancers', 'none') === 'guard-pipe';
    return createChannelsApp(options, enhanced ? [GuardedBenchChannel, AllowGuard] : [BenchChannel]);
  });
}

void main();
