// Compile-only checks of the public typings (`tsc` fails if these drift); nothing here runs.
import type { Channel as PhoenixChannel, Socket as PhoenixSocket } from 'phoenix';
import { withHistory } from '../../lib/client/index.js';
import {
  Channel,
  ChannelError,
  ChannelsEndpoint,
  ChannelsModule,
  LocalPubSub,
  Presence,
  PubSub,
  noreply,
  reply,
  stop,
  type Broadcast,
  type ChannelSocket,
  type ChannelsModuleOptions,
  type HistoryOptions,
  type HistoryPubSub,
  type LongPollOptions,
  type SocketHandler,
  type SocketRef,
  type TerminateReason,
  type PresenceChange,
  type PresenceDiff,
  type PresenceEntry,
  type PresenceMeta,
  type PresenceOptions,
  type Presences,
  TELEMETRY,
  TELEMETRY_TRACING,
  type HandleInEvent,
  type HandleInTrace,
  type LimitEvent,
} from '../../lib/index.js';
import { RedisPubSub, type RedisPubSubStats } from '../../lib/redis/index.js';
import { ChannelTest, type TestChannel } from '../../lib/testing/index.js';

declare const socket: ChannelSocket;
declare const endpoint: ChannelsEndpoint;

export async function typings(): Promise<void> {
  const options: ChannelsModuleOptions = { path: '/socket', maxChannelsPerSocket: 10, checkOrigin: ['//*.example.com'] };
  ChannelsModule.forRoot(options);
  ChannelsModule.forRootAsync({ useFactory: () => options });
  // @ts-expect-error an unknown option is a type error
  ChannelsModule.forRoot({ nope: true });
  const longpoll: LongPollOptions = { windowMs: 5000, maxSessions: 100, maxBufferedMessages: 500, maxBodySize: 1e6, pubsubTimeoutMs: 500 };
  ChannelsModule.forRoot({ longpoll, authToken: true, subprotocols: ['mqtt'] });
  ChannelsModule.forRoot({ longpoll: true });
  // @ts-expect-error long-poll settings are named
  ChannelsModule.forRoot({ longpoll: { window: 5000 } });
  const withToken: SocketHandler = {
    connect: (_params, _socket, info) => info.authToken === null || info.authToken.length > 0,
  };
  void withToken;

  const ref: SocketRef = socket.ref();
  ref.reply('ok', { done: true });
  socket.push('event', { a: 1 });
  const broadcasting: Promise<void> = socket.broadcast('event', Buffer.from([1]));
  await broadcasting;
  socket.assign('k', 1).assign({ k2: 2 });
  // @ts-expect-error reply's status is a string
  reply(200);
  stop('normal', reply('ok'));
  noreply();
  throw new ChannelError({ reason: 'x' });

  const unsubscribe: () => Promise<void> = await endpoint.subscribe('t', (b: Broadcast) => b.event);
  await unsubscribe();

  const pubsub: PubSub = new LocalPubSub();
  const redis: PubSub = new RedisPubSub({ url: 'redis://127.0.0.1:6379', keyPrefix: 'x:', awaitPublish: true });
  void pubsub;
  void redis;

  const handler: SocketHandler = { connect: () => true, id: () => null };
  void handler;
  const reason: TerminateReason = { shutdown: 'left' };
  void reason;

  const kit = await ChannelTest.create({ providers: [] });
  const channel: TestChannel = await (await kit.connect({ token: 't' })).join('room:1');
  const pushRef: string = channel.push('ping', {});
  await channel.assertReply(pushRef, 'ok', { any: 'pattern' });
}

declare const presence: Presence;

export async function presenceTypings(): Promise<void> {
  const ref: string = await presence.track(socket, 42, { online_at: 1 });
  await presence.track('room:1', 'server', {});
  await presence.update(socket, 42, (current: PresenceMeta) => ({ ...current, status: 'away', prev: current.phx_ref }));
  await presence.untrack('room:1', 'server');
  const list: Presences = await presence.list(socket);
  const entry: PresenceEntry | null = await presence.getByKey('room:1', '42');
  const stopWatching: () => void = presence.subscribe('room:*', (change: PresenceChange) => {
    const diff: PresenceDiff = change;
    void diff.joins;
  });
  stopWatching();
  // @ts-expect-error a key is a string or a number
  await presence.track(socket, { id: 1 }, {});
  // @ts-expect-error the meta is an object
  await presence.track(socket, 'k', 'online');
  const options: PresenceOptions = { fetch: async (_topic, presences) => presences, heartbeatPeriod: 1000, downPeriod: 5000 };
  ChannelsModule.forRoot({ presence: options });
  void ref;
  void list;
  void entry;
}

export function hardeningTypings(): void {
  ChannelsModule.forRoot({
    maxTopicLength: 100,
    maxJoinPayloadSize: 4096,
    maxJoinsPerSecond: Number.POSITIVE_INFINITY,
    maxMessagesPerSecond: 50,
    messageRateExceeded: 'close',
    maxPendingReplies: 10,
  });
  // @ts-expect-error a message past the rate is answered or the connection closed, nothing else
  ChannelsModule.forRoot({ messageRateExceeded: 'drop' });
  const cookieReader: SocketHandler = { connect: (_params, _socket, info) => info.cookies.sid !== undefined };
  void cookieReader;
  const name: 'nestjs-channels:handle_in' = TELEMETRY.handleIn;
  const traced: 'nestjs-channels:join' = TELEMETRY_TRACING.join;
  const onHandled = (event: HandleInEvent): number => event.durationMs;
  const onLimit = (event: LimitEvent): string => `${event.limit} ${event.action} ${event.max}`;
  const onTrace = (trace: HandleInTrace): unknown => trace.result ?? trace.error;
  const stats: RedisPubSubStats = new RedisPubSub({ healthCheckIntervalMs: 0 }).stats;
  void [name, traced, onHandled, onLimit, onTrace, stats.publishesLost];
}

declare const phoenixSocket: PhoenixSocket;

export function historyTypings(): void {
  const history: HistoryOptions = { size: 1000, ttlMs: 120_000 };
  @Channel('kept:*', { history })
  class KeptChannel {}
  void KeptChannel;
  // @ts-expect-error history needs both size and ttlMs
  const partial: HistoryOptions = { size: 10 };
  void partial;
  const local: HistoryPubSub = new LocalPubSub();
  const redis: HistoryPubSub = new RedisPubSub();
  void [local, redis];
  // The browser helper takes the stock client's Socket and returns its Channel type.
  const channel: PhoenixChannel = withHistory(phoenixSocket, 'room:lobby', () => ({ token: 't' }));
  channel.on('history_gap', (payload: { since: string | null; epoch: string }) => void payload);
  withHistory(phoenixSocket, 'room:lobby', { token: 't' }).join();
  // @ts-expect-error the topic is a string
  withHistory(phoenixSocket, 42);
}
