/**
 * The app the soaks run against, in a child process of its own (forked with
 * an IPC channel and `--expose-gc`), so that what it measures (memory after
 * a forced GC, timers and handles, unhandled rejections) is the app's alone
 * and not the test runner's or the load generator's.
 *
 *   fork('dist/test/soak/soak-app.js', [...flags], { execArgv: ['--expose-gc'] })
 *     --pubsub local|redis   LocalPubSub (default) or RedisPubSub
 *     --redis-url URL        with --pubsub redis
 *     --key-prefix PREFIX    with --pubsub redis
 *     --node NAME            the PubSub's node name
 *     --options JSON         merged into ChannelsModule.forRoot (e.g. to change a limit)
 *
 * It sends `{ event: 'ready', port }` once listening, then
 * `{ event: 'pubsub', connected, at }` on every change of the PubSub's
 * connection, and answers `{ id, cmd: 'stats', gc }` with `SoakStats` and
 * `{ id, cmd: 'close' }` by closing the app. It exits when its parent goes.
 *
 * Unhandled rejections and uncaught exceptions are counted, not fatal, so
 * that the soak can report them; the soak asserts there were none.
 */
import 'reflect-metadata';
import { ConsoleLogger, Module, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { getHeapSpaceStatistics } from 'node:v8';
import { ChannelsAdapter, ChannelsModule, LocalPubSub, type ChannelsModuleOptions, type PubSub } from '../../lib/index.js';
import { ChannelsHost } from '../../lib/channels.host.js';
import { RedisPubSub } from '../../lib/redis/index.js';
import { SOAK_CHANNELS, SoakSocket } from './soak.channels.js';
import { readInternals, rssByMapping, snapshotPrototypes, type PrototypeSnapshot, type SoakStats } from './soak-stats.js';
import { installTimerCensus } from './timer-census.js';

installTimerCensus();

const problems: string[] = [];
let problemCount = 0;
function noteProblem(kind: string, value: unknown): void {
  problemCount++;
  if (problems.length < 20) problems.push(`${kind}: ${value instanceof Error ? (value.stack ?? value.message) : String(value)}`);
}
process.on('unhandledRejection', (reason) => noteProblem('unhandledRejection', reason));
process.on('uncaughtException', (error) => noteProblem('uncaughtException', error));

const prototypes: PrototypeSnapshot = snapshotPrototypes();

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 || at + 1 >= process.argv.length ? fallback : process.argv[at + 1]!;
}

/** Counts every warn and error line; prints only the first few of each kind (a soak makes thousands). */
class CountingLogger extends ConsoleLogger {
  readonly counts: Record<string, number> = { warn: 0, error: 0 };
  private readonly shown = new Map<string, number>();

  override warn(message: unknown, ...rest: unknown[]): void {
    this.counts.warn!++;
    if (this.show('warn', message)) super.warn(message, ...rest);
  }

  override error(message: unknown, ...rest: unknown[]): void {
    this.counts.error!++;
    if (this.show('error', message)) super.error(message, ...rest);
  }

  private show(level: string, message: unknown): boolean {
    if (process.env.SOAK_APP_LOGS === 'all') return true;
    // The first two lines of each kind, the kind being the message's first two words.
    const kind = `${level} ${String(message).split(' ', 2).join(' ')}`;
    const seen = this.shown.get(kind) ?? 0;
    if (this.shown.size < 200) this.shown.set(kind, seen + 1);
    return process.env.SOAK_APP_LOGS === 'some' && seen < 2;
  }
}

async function main(): Promise<void> {
  if (typeof process.send !== 'function') throw new Error('soak-app: fork me with an IPC channel');
  process.on('disconnect', () => process.exit(0));
  const node = arg('node', `soak-${process.pid}`);
  const pubsub: PubSub =
    arg('pubsub', 'local') === 'redis'
      ? new RedisPubSub({
          url: arg('redis-url', 'redis://127.0.0.1:6379'),
          keyPrefix: arg('key-prefix', `nc-soak:${process.pid}:`),
          node,
          connectTimeoutMs: 3000,
          maxReconnectDelayMs: 500,
        })
      : new LocalPubSub({ node });
  pubsub.onConnectionChange((connected) => process.send?.({ event: 'pubsub', connected, at: performance.timeOrigin + performance.now() }));
  const extra = JSON.parse(arg('options', '{}')) as ChannelsModuleOptions;

  @Module({
    imports: [ChannelsModule.forRoot({ socket: SoakSocket, pubsub, logger: false, ...extra })],
    providers: [SoakSocket, ...SOAK_CHANNELS],
  })
  class SoakAppModule {}

  const logger = new CountingLogger('soak-app', { logLevels: ['error', 'warn'] as LogLevel[] });
  const app = await NestFactory.create(SoakAppModule, { logger, abortOnError: false });
  app.useWebSocketAdapter(new ChannelsAdapter(app));
  await app.listen(0, '127.0.0.1');
  const host = app.get(ChannelsHost);
  const server = app.getHttpServer();

  const stats = (gc: boolean): SoakStats => {
    if (gc) collectGarbage();
    const memory = process.memoryUsage();
    return {
      pid: process.pid,
      uptimeMs: Math.round(process.uptime() * 1000),
      problemCount,
      problems: [...problems],
      prototypes: snapshotPrototypes().diff(prototypes),
      memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external, arrayBuffers: memory.arrayBuffers },
      rssBy: rssByMapping(),
      heapSpaces: Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, space.space_used_size])),
      gc: gc && typeof (globalThis as { gc?: unknown }).gc === 'function',
      logs: { ...logger.counts },
      cpuUs: cpuUs(),
      ...readInternals(host, pubsub, server),
    };
  };

  process.on('message', (message: { id: number; cmd: string; gc?: boolean }) => {
    if (message.cmd === 'stats') {
      process.send!({ id: message.id, result: stats(message.gc !== false) });
    } else if (message.cmd === 'close') {
      app.close().then(
        () => process.send!({ id: message.id, result: { closed: true } }, undefined, {}, () => process.exit(0)),
        (error: unknown) => process.send!({ id: message.id, error: String(error) }),
      );
    }
  });
  process.send({ event: 'ready', port: (server.address() as AddressInfo).port, pid: process.pid });
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: (options?: { type: string; execution: string }) => void }).gc;
  if (typeof gc !== 'function') return;
  // Two full collections: the first can leave finalizers whose work the second frees. (Not the
  // 'major-snapshot' kind: on Node 22 it costs about a second each and leaves hundreds of MB in
  // malloc's arenas, the opposite of what a reading after GC is for.)
  gc();
  gc();
}

function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

main().catch((error: unknown) => {
  process.stderr.write(`soak-app failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
