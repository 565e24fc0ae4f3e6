/**
 * What listening to telemetry costs per request, measured in one process
 * without a network: frames go straight into one connection of a real app
 * (the bench channel, V2 JSON, the default limits with the message rate set
 * where no loop here reaches it), so every microsecond counted is the
 * library's path of a request (decode, limits, dispatch, the handler,
 * encoding the reply) and nothing else.
 *
 *   npx tsc -p tsconfig.json && node --expose-gc dist/bench/telemetry-cost.js [rounds] [frames] [variants]
 *
 * Two variants take turns on the same connection, round after round, so
 * that whatever else the machine does falls on both alike: `off` (nothing
 * listens) and `on` (a listener on every telemetry event that counts it and
 * reads its duration, as a metrics recipe does). Each round sends `frames`
 * pings per variant and takes the process's CPU time (user + system); the
 * medians over rounds are printed, with their ratio. `variants` `off` runs
 * only the first, for comparing builds (switching listeners on and off
 * makes V8 compile both paths, which costs the `off` rounds a little too).
 */
import 'reflect-metadata';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ChannelsHost } from '../lib/channels.host.js';
import { ChannelsModule, TELEMETRY } from '../lib/index.js';
import type { SharedFrame } from '../lib/pubsub/fastlane.js';
import type { OutFrame } from '../lib/serializers/serializer.interface.js';
import type { SocketConnection } from '../lib/socket/socket-connection.js';
import type { Transport } from '../lib/socket/transport.interface.js';
import { BenchChannel } from './servers/bench.channel.js';

class CountingTransport implements Transport {
  readonly name = 'bench';
  readonly peer = 'bench';
  readonly expectsHeartbeats = false;
  frames = 0;
  send(_frame: OutFrame): void {
    this.frames++;
  }
  sendShared(_frame: SharedFrame): void {
    this.frames++;
  }
  close(): void {}
}

type Variant = 'off' | 'on';

async function connectionWith(maxMessagesPerSecond: number): Promise<{ connection: SocketConnection; transport: CountingTransport; close(): Promise<void> }> {
  @Module({ imports: [ChannelsModule.forRoot({ logger: false, maxMessagesPerSecond })], providers: [BenchChannel] })
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error'] });
  const mount = app.get(ChannelsHost).mounts[0]!;
  const outcome = await mount.accept({ vsn: '2.0.0' }, {
    peerData: { address: '127.0.0.1', port: 0 },
    uri: new URL('ws://localhost/socket/websocket?vsn=2.0.0'),
    headers: {},
    cookies: {},
    transport: 'bench',
    authToken: null,
  });
  if (!outcome.accepted) throw new Error(`connect refused: ${outcome.reason}`);
  const transport = new CountingTransport();
  const connection = mount.open(outcome.serializer, outcome.state, transport);
  connection.receive('["1","1","bench:cost","phx_join",{}]', false);
  if (transport.frames !== 1) throw new Error('the join was not answered at once');
  return { connection, transport, close: () => app.close() };
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 30);
  const frames = Number(process.argv[3] ?? 20_000);
  const ping = '["1","2","bench:cost","ping",{"body":"0123456789abcdef0123456789abcdef"}]';
  // A rate no loop here reaches: every push takes a token from the bucket, none is refused.
  const { connection, transport, close } = await connectionWith(1e12);
  let events = 0;
  let durations = 0;
  const listener = (message: unknown): void => {
    events++;
    durations += (message as { durationMs?: number }).durationMs ?? 0;
  };
  const names = Object.values(TELEMETRY);
  const results: Record<Variant, number[]> = { off: [], on: [] };
  const run = (variant: Variant): void => {
    if (variant === 'on') for (const name of names) subscribe(name, listener);
    const before = transport.frames;
    globalThis.gc?.();
    const startedAt = cpuMicros();
    for (let i = 0; i < frames; i++) connection.receive(ping, false);
    const spent = cpuMicros() - startedAt;
    if (variant === 'on') for (const name of names) unsubscribe(name, listener);
    if (transport.frames - before !== frames) throw new Error(`${variant}: ${transport.frames - before} replies to ${frames} pings`);
    results[variant].push(spent / frames);
  };
  // Warm-up, then the measured rounds, each variant in turn (the order alternates).
  const order: Variant[] = (process.argv[4] ?? 'off,on').split(',') as Variant[];
  for (const variant of order) run(variant);
  for (const variant of order) results[variant].length = 0;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < order.length; i++) run(order[(round + i) % order.length]!);
  }
  await close();
  if (order.includes('on') && events < rounds * frames) throw new Error(`the listener saw ${events} events for ${rounds * frames} pings`);
  const off = median(results.off);
  const line = (variant: Variant): string => {
    const value = median(results[variant]);
    return `${variant.padEnd(5)} ${value.toFixed(3)} µs CPU per request (median of ${rounds} rounds × ${frames}), ${(value / off).toFixed(3)}× off, ${((value - off) * 1000).toFixed(0)} ns more`;
  };
  process.stdout.write(`${order.map(line).join('\n')}\n`);
  process.stdout.write(`(listener saw ${events} events, ${durations.toFixed(0)} ms of handler time in all)\n`);
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
