import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Broadcast, FastlaneCache, Subscriber } from '../../lib/index.js';
import { RedisPubSub } from '../../lib/redis/index.js';
import { eventually } from '../support/phoenix-helpers.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

class Collect implements Subscriber {
  readonly seen: Broadcast[] = [];
  deliver(broadcast: Broadcast, _fastlane: FastlaneCache): void {
    this.seen.push(broadcast);
  }
}

describe('RedisPubSub awaitPublish', () => {
  for (const awaitPublish of [false, true]) {
    it(`with awaitPublish ${awaitPublish}, 300 awaited broadcasts reach the other node once each, in order`, async () => {
      const keyPrefix = `await-publish:${process.pid}:${Date.now()}:${awaitPublish}:`;
      const a = new RedisPubSub({ url, keyPrefix, awaitPublish });
      const b = new RedisPubSub({ url, keyPrefix });
      await Promise.all([a.init(), b.init()]);
      try {
        const remote = new Collect();
        const local = new Collect();
        await b.subscribe('t', remote);
        await a.subscribe('t', local);
        for (let i = 0; i < 300; i++) await a.broadcast('t', 'n', { i });
        // Local delivery is synchronous, inside broadcast.
        assert.equal(local.seen.length, 300);
        await eventually(() => remote.seen.length >= 300, 'the other node got all 300', 5000);
        assert.deepEqual(
          remote.seen.map((m) => (m.payload as { i: number }).i),
          Array.from({ length: 300 }, (_, i) => i),
        );
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  }

  it('rejects at once with ERR_CHANNELS_PUBSUB_UNAVAILABLE after close, whatever awaitPublish says', async () => {
    const pubsub = new RedisPubSub({ url, keyPrefix: `await-publish-closed:${process.pid}:` });
    await pubsub.init();
    await pubsub.close();
    await assert.rejects(pubsub.broadcast('t', 'e', {}), { code: 'ERR_CHANNELS_PUBSUB_UNAVAILABLE' });
  });
});
