/**
 * The Presence bench server: a Nest app with nestjs-channels' `Presence`,
 * written only with the public API.
 *
 *   node --expose-gc dist/bench/servers/presence.server.js [options]   → prints READY <port>
 *
 * Options (argv `--name value`):
 *   --pubsub local|redis        LocalPubSub (default) or RedisPubSub
 *   --redis-url URL             default redis://127.0.0.1:6379
 *   --key-prefix PREFIX         RedisPubSub keyPrefix, so runs never hear each other
 *   --node NAME                 this node's name
 *   --presence-broadcast MS     Presence broadcastPeriod (default: the library's)
 *   --presence-heartbeat MS     Presence heartbeatPeriod
 *   --presence-down MS          Presence downPeriod
 *
 * Channel `bench:*`: a join with `{user}` tracks `user` (meta `{online_at}`)
 * and pushes `presence_state`, as docs/presence.md's example; `{track: false}` only
 * pushes the state (an observer). `track-many` `{topic, n, prefix}` tracks n
 * server-side entries on `topic` and replies `{size}` (the memory scenario).
 */
import 'reflect-metadata';
import {
  Channel,
  HandleIn,
  HandleInfo,
  Join,
  Presence,
  type ChannelSocket,
  type ChannelsModuleOptions,
} from '../../lib/index.js';
import { arg, exitOnSignals, serveNestBenchApp } from './bench-hooks.js';
import { benchPubSub, createChannelsApp } from './channels-app.js';

@Channel('bench:*', { logJoin: false, logHandleIn: false })
class PresenceBenchChannel {
  constructor(private readonly presence: Presence) {}

  @Join()
  join(_topic: string, params: { user?: string; track?: boolean }, socket: ChannelSocket) {
    socket.assign('user', String(params?.user ?? 'anon'));
    socket.send(params?.track !== false);
    return undefined;
  }

  @HandleInfo()
  async afterJoin(track: boolean, socket: ChannelSocket) {
    if (track) await this.presence.track(socket, socket.assigns.user, { online_at: Date.now() });
    socket.push('presence_state', await this.presence.list(socket.topic));
  }

  @HandleIn('track-many')
  async trackMany(payload: { topic: string; n: number; prefix?: string }) {
    const n = Math.min(Math.max(0, Number(payload?.n) | 0), 1_000_000);
    for (let i = 0; i < n; i++) {
      await this.presence.track(payload.topic, `${payload.prefix ?? 'user'}-${i}`, { online_at: Date.now(), device: 'web' });
    }
    return { size: Object.keys(await this.presence.list(payload.topic)).length };
  }

  @HandleIn('count')
  async count(payload: { topic: string }) {
    const list = await this.presence.list(payload.topic);
    let metas = 0;
    for (const key of Object.keys(list)) metas += list[key]!.metas.length;
    return { keys: Object.keys(list).length, metas };
  }
}

function period(name: string): number | undefined {
  const value = Number(arg(name, ''));
  return value > 0 ? value : undefined;
}

async function main(): Promise<void> {
  exitOnSignals();
  await serveNestBenchApp('presence.server', async () => {
    const pubsub = await benchPubSub();
    const options: ChannelsModuleOptions = {
      path: '/socket',
      logger: false,
      heartbeatTimeout: 0,
      presence: {
        broadcastPeriod: period('presence-broadcast'),
        heartbeatPeriod: period('presence-heartbeat'),
        downPeriod: period('presence-down'),
      },
      ...(pubsub !== undefined ? { pubsub } : {}),
    };
    return createChannelsApp(options, [PresenceBenchChannel]);
  });
}

void main();
