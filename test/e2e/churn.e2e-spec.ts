/**
 * Churn without leaks, bounded for `npm test` (issue 15, item 4): join/leave
 * and connect/disconnect cycles, each ending a different way, against the
 * soak app in its own process, on LocalPubSub and on RedisPubSub; afterwards
 * no connection, subscriber, Presence entry, timer, handle, listener or Redis
 * channel is left and the heap is within 10% of its baseline.
 * `npm run soak` runs the full 50,000 and 20,000 cycles.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { SoakApp } from '../soak/app-process.js';
import { CHURN_MODULE_OPTIONS, checkChurnReport, describeChurnReport, runChurn, type ChurnOptions } from '../soak/churn.js';
import { REDIS_URL, uniquePrefix } from '../support/redis-server.js';

describe('churn', () => {
  it('20,000 join/leave and 5,000 connect/disconnect cycles on LocalPubSub leave no subscriber, Presence entry, timer, handle or listener behind, and the heap within 10% of its baseline', async (t) => {
    const app = await SoakApp.start('churn-app', { moduleOptions: CHURN_MODULE_OPTIONS });
    try {
      const options: ChurnOptions = { joinLeaveCycles: 20_000, connectCycles: 5_000, lanes: 20 };
      const report = await runChurn(app, options);
      for (const line of describeChurnReport(report)) t.diagnostic(line);
      assert.deepEqual(checkChurnReport(report, options), []);
      assert.ok(report.baseline.timers > 0, 'the timer census sees the library timers (Presence heartbeat)');
    } finally {
      await app.close();
    }
  });

  describe('on RedisPubSub', () => {
    const prefix = uniquePrefix('churn');
    let redis: Redis;
    before(() => {
      redis = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
    });
    after(() => redis?.quit());

    it('5,000 join/leave and 2,000 connect/disconnect cycles leave no Redis channel subscribed beyond the baseline, and nothing else behind', async (t) => {
      const app = await SoakApp.start('churn-redis-app', { pubsub: 'redis', redisUrl: REDIS_URL, keyPrefix: prefix, moduleOptions: CHURN_MODULE_OPTIONS });
      try {
        const options: ChurnOptions = {
          joinLeaveCycles: 5_000,
          connectCycles: 2_000,
          lanes: 20,
          redisChannels: () => redis.pubsub('CHANNELS', `${prefix}*`) as Promise<string[]>,
        };
        const report = await runChurn(app, options);
        for (const line of describeChurnReport(report)) t.diagnostic(line);
        assert.deepEqual(checkChurnReport(report, options), []);
        assert.ok(report.redisChannels !== null && report.redisChannels.before.length > 0, 'the baseline sees the app\'s own Redis channels');
        assert.deepEqual(report.redisChannels.after, report.redisChannels.before);
      } finally {
        await app.close();
      }
    });
  });
});
