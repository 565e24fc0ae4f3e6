/**
 * What routing a long-poll request to the node holding its session costs
 * (issue 14, several nodes): two Nest apps in this process on RedisPubSub
 * (one Redis, a unique keyPrefix), long-poll clients doing sequential
 * `ping` → reply round trips (a POST, and the poll that brings the reply
 * back). Three runs over the same sessions, all made on node A:
 *
 *   direct   every request to node A, which holds the sessions (a sticky balancer)
 *   routed   every request to node B, which routes it to A through the PubSub
 *   mixed    requests alternate between A and B (a round-robin balancer)
 *
 * Reported per run: round trips per second, p50 / p99 latency, and the CPU
 * time of this process (both apps, Redis client work and the load clients,
 * the same in every run but for the routing) per round trip. The routed
 * run's extra CPU per round trip is the price of two routed requests.
 *
 * Run (after `npx tsc -p tsconfig.json`; a Redis must answer):
 *   node dist/bench/longpoll-routing.js [--redis-url redis://127.0.0.1:6379] [--clients 20] [--seconds 5] [--rounds 2]
 */
import 'reflect-metadata';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { ChannelsAdapter, ChannelsModule } from '../lib/index.js';
import { RedisPubSub } from '../lib/redis/index.js';
import { Histogram } from './common/histogram.js';
import { openLongPoll, type LongPollConn } from './common/longpoll-wire.js';
import { BenchChannel } from './servers/bench.channel.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1]! : fallback;
}

const REDIS_URL = arg('redis-url', 'redis://127.0.0.1:6379');
const CLIENTS = Number(arg('clients', '20'));
const SECONDS = Number(arg('seconds', '5'));
const ROUNDS = Number(arg('rounds', '2'));
const PREFIX = `lp-routing-bench:${process.pid}:${Date.now()}:`;

async function startNode(node: string): Promise<{ app: INestApplication; port: number }> {
  const pubsub = new RedisPubSub({ url: REDIS_URL, keyPrefix: PREFIX, node });
  @Module({ imports: [ChannelsModule.forRoot({ pubsub, longpoll: true, logger: false })], providers: [BenchChannel] })
  class NodeModule {}
  const app = await NestFactory.create(NodeModule, { logger: ['error', 'warn'] });
  app.useWebSocketAdapter(new ChannelsAdapter(app));
  await app.listen(0, '127.0.0.1');
  return { app, port: (app.getHttpServer().address() as AddressInfo).port };
}

interface RunResult {
  mode: string;
  roundTrips: number;
  perSecond: number;
  p50: number | null;
  p99: number | null;
  cpuUsPerRoundTrip: number;
}

/** Sequential pings on every client for SECONDS; `pick(i)` is the port of the i-th request of a client. */
function run(mode: string, clients: LongPollConn[], pick: (i: number) => number): Promise<RunResult> {
  return new Promise((resolve) => {
    const hist = new Histogram();
    const payload = JSON.stringify({ body: 'x'.repeat(32) });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const tEnd = t0 + SECONDS * 1000;
    let roundTrips = 0;
    let active = clients.length;
    const finish = (): void => {
      const cpu = process.cpuUsage(cpu0);
      const seconds = (performance.now() - t0) / 1000;
      resolve({
        mode,
        roundTrips,
        perSecond: roundTrips / seconds,
        p50: hist.quantileMs(0.5),
        p99: hist.quantileMs(0.99),
        cpuUsPerRoundTrip: (cpu.user + cpu.system) / roundTrips,
      });
    };
    clients.forEach((conn) => {
      let n = 0;
      const next = (): void => {
        if (performance.now() > tEnd) {
          if (--active === 0) finish();
          return;
        }
        // Both the POST and the poll that follows it go to the port this round trip picked.
        conn.target = { ...conn.target, port: pick(n++) };
        const sent = performance.now();
        conn.request('ping', payload, () => {
          roundTrips++;
          hist.recordMs(performance.now() - sent);
          next();
        });
      };
      next();
    });
  });
}

async function main(): Promise<void> {
  const a = await startNode('node-a');
  const b = await startNode('node-b');
  try {
    const clients: LongPollConn[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const conn = await openLongPoll({ host: '127.0.0.1', port: a.port, dialect: 'lp' }, 5000);
      if (!(await conn.join(`bench:routing:${i}`, 5000))) throw new Error('join refused');
      clients.push(conn);
    }
    process.stdout.write(`long-poll routing · ${CLIENTS} clients · ${SECONDS} s per run · ${ROUNDS} rounds · Redis ${REDIS_URL}\n`);
    const results: RunResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      results.push(await run('direct', clients, () => a.port));
      results.push(await run('routed', clients, () => b.port));
      results.push(await run('mixed', clients, (i) => (i % 2 === 0 ? a.port : b.port)));
    }
    process.stdout.write('mode     round trips/s   p50 ms   p99 ms   CPU µs per round trip\n');
    for (const r of results) {
      process.stdout.write(
        `${r.mode.padEnd(8)} ${r.perSecond.toFixed(0).padStart(13)} ${(r.p50 ?? NaN).toFixed(2).padStart(8)} ${(r.p99 ?? NaN).toFixed(2).padStart(8)} ${r.cpuUsPerRoundTrip.toFixed(0).padStart(23)}\n`,
      );
    }
    for (const c of clients) c.reset();
  } finally {
    await a.app.close();
    await b.app.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`longpoll-routing: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
