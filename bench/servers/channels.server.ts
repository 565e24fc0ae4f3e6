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
 *
 * Channel `bench:*`: join ok; `ping` replies with its payload; `blast` {n, size}
 * broadcasts n × `msg` {i, body} to the topic, then replies ok.
 */
import 'reflect-metadata';
import { subscribe } from 'node:diagnostics_channel';
import { TELEMETRY, type ChannelsModuleOptions } from '../../lib/index.js';
import { BenchChannel } from './bench.channel.js';
import { arg, exitOnSignals, serveNestBenchApp } from './bench-hooks.js';
import { benchPubSub, createChannelsApp } from './channels-app.js';

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
    return createChannelsApp(options, [BenchChannel]);
  });
}

void main();
