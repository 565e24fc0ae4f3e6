/**
 * Our server for the history bench (bench/history.ts): the bench channel's
 * work on `pbench:*` (no history) and `hbench:*` (history), side by side in
 * one process, plus `stream` for the drop scenario.
 *
 *   node --expose-gc dist/bench/servers/history.server.js [--pubsub local|redis --redis-url URL --key-prefix P]
 *   → prints READY <port>
 */
import 'reflect-metadata';
import { exitOnSignals, serveNestBenchApp } from './bench-hooks.js';
import { benchPubSub, createChannelsApp } from './channels-app.js';
import { KeptBenchChannel, PlainBenchChannel } from './history-bench.channels.js';

async function main(): Promise<void> {
  exitOnSignals();
  await serveNestBenchApp('history.server', async () => {
    const pubsub = await benchPubSub();
    return createChannelsApp({ path: '/socket', logger: false, ...(pubsub !== undefined ? { pubsub } : {}) }, [
      KeptBenchChannel,
      PlainBenchChannel,
    ]);
  });
}

void main();
