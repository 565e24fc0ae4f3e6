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
 *   --telemetry              a listener on every telemetry event (the channels-tel bench server), as a metrics
 *                            recipe has: it reads each event's duration and counts events by name
 *   --enhancers none|guard-pipe
 *                            guard-pipe serves `bench:*` with a class guard that lets
 *                            everyone in and `ping` validated by ValidationPipe against a
 *                            DTO (`@MessageBody() dto: PingDto`): the cost of enhancers
 *   --presence               every join is tracked in Presence and gets the topic's
 *                            `presence_state`, as docs/presence.md writes it (the
 *                            channels-presence bench server): what Presence costs a join
 *
 * Channel `bench:*`: join ok; `ping` replies with its payload; `blast` {n, size}
 * broadcasts n × `msg` {i, body} to the topic, then replies ok.
 */
import 'reflect-metadata';
import { Injectable, UseGuards, UsePipes, ValidationPipe, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { MessageBody } from '@nestjs/websockets';
import { IsOptional, IsString } from 'class-validator';
import { subscribe } from 'node:diagnostics_channel';
import {
  Channel,
  HandleIn,
  HandleInfo,
  Join,
  Presence,
  TELEMETRY,
  type ChannelSocket,
  type ChannelsModuleOptions,
} from '../../lib/index.js';
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

let joiners = 0;

/** `BenchChannel` whose joins are tracked in Presence, as docs/presence.md shows: track after the join, then push the list. */
@Channel('bench:*', { logJoin: false, logHandleIn: false })
class PresenceBenchChannel extends BenchChannel {
  constructor(private readonly presence: Presence) {
    super();
  }

  @Join()
  override join(_topic?: string, _payload?: unknown, socket?: ChannelSocket) {
    socket!.send('after_join');
    return undefined;
  }

  @HandleInfo()
  async afterJoin(_message: unknown, socket: ChannelSocket) {
    await this.presence.track(socket, `user-${++joiners}`, { online_at: Date.now() });
    socket.push('presence_state', await this.presence.list(socket));
  }
}

/** What the telemetry listeners saw: events by channel name, and the sum of their durations. */
const seen = { events: new Map<string | symbol, number>(), durationMs: 0 };

function listenToTelemetry(): void {
  for (const name of Object.values(TELEMETRY)) {
    seen.events.set(name, 0);
    subscribe(name, (message, channel) => {
      seen.events.set(channel, seen.events.get(channel)! + 1);
      seen.durationMs += (message as { durationMs?: number }).durationMs ?? 0;
    });
  }
}

async function main(): Promise<void> {
  exitOnSignals();
  if (process.argv.includes('--telemetry')) listenToTelemetry();
  await serveNestBenchApp('channels.server', async () => {
    const pubsub = await benchPubSub();
    const maxBuffered = Number(arg('max-buffered', '0'));
    const options: ChannelsModuleOptions = {
      path: '/socket',
      logger: false,
      // A bench client may send its channel more than the default 1000 requests per second (with
      // few clients, or on a faster machine): the rate limit would answer for the handler.
      maxMessagesPerSecond: Number.POSITIVE_INFINITY,
      ...(pubsub !== undefined ? { pubsub } : {}),
      ...(maxBuffered > 0 ? { maxBufferedBytes: maxBuffered } : {}),
      ...(process.argv.includes('--longpoll') ? { longpoll: true } : {}),
    };
    const enhanced = arg('enhancers', 'none') === 'guard-pipe';
    if (process.argv.includes('--presence')) return createChannelsApp(options, [PresenceBenchChannel]);
    return createChannelsApp(options, enhanced ? [GuardedBenchChannel, AllowGuard] : [BenchChannel]);
  });
}

void main();
