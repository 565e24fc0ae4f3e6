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
 *
 * Channel `bench:*`: join ok; `ping` replies with its payload; `blast` {n, size}
 * broadcasts n × `msg` {i, body} to the topic, then replies ok.
 */
import 'reflect-metadata';
import {
  Channel,
  HandleIn,
  Join,
  reply,
  type ChannelSocket,
  type ChannelsModuleOptions,
} from '../../lib/index.js';
import { arg, exitOnSignals, serveNestBenchApp } from './bench-hooks.js';
import { benchPubSub, createChannelsApp } from './channels-app.js';

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
    };
    return createChannelsApp(options, [BenchChannel]);
  });
}

void main();
