// What the README says about channel instances, pinned: one per join, dependencies resolved once per
// class, and Nest's lifecycle hooks only on the one instance Nest builds for the provider.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { Channel, HandleIn, Join, Terminate, type TerminateReason } from '../../lib/index.js';
import { ChannelTest } from '../../lib/testing/index.js';

@Injectable()
class Counter {
  static built = 0;
  constructor() {
    Counter.built++;
  }
}

type Hook = 'onModuleInit' | 'onApplicationBootstrap' | 'onModuleDestroy' | 'beforeApplicationShutdown' | 'onApplicationShutdown';

@Channel('life:*')
class LifeChannel implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown {
  static readonly built: LifeChannel[] = [];
  static readonly hooks: Array<{ hook: Hook; instance: LifeChannel }> = [];
  static readonly terminated: Array<{ instance: LifeChannel; reason: TerminateReason }> = [];

  constructor(readonly counter: Counter) {
    LifeChannel.built.push(this);
  }

  onModuleInit() {
    LifeChannel.hooks.push({ hook: 'onModuleInit', instance: this });
  }
  onApplicationBootstrap() {
    LifeChannel.hooks.push({ hook: 'onApplicationBootstrap', instance: this });
  }
  onModuleDestroy() {
    LifeChannel.hooks.push({ hook: 'onModuleDestroy', instance: this });
  }
  beforeApplicationShutdown() {
    LifeChannel.hooks.push({ hook: 'beforeApplicationShutdown', instance: this });
  }
  onApplicationShutdown() {
    LifeChannel.hooks.push({ hook: 'onApplicationShutdown', instance: this });
  }

  @Join()
  join() {
    return { instance: LifeChannel.built.indexOf(this) };
  }

  @HandleIn('which')
  which() {
    return { instance: LifeChannel.built.indexOf(this) };
  }

  @Terminate()
  terminate(reason: TerminateReason) {
    LifeChannel.terminated.push({ instance: this, reason });
  }
}

describe('channel instances', () => {
  it('are built once per join, share dependencies resolved once, and get none of Nest\'s lifecycle hooks', async () => {
    const kit = await ChannelTest.create({ providers: [Counter, LifeChannel] });
    let closed = false;
    try {
      assert.equal(LifeChannel.built.length, 1, 'Nest builds one instance for the provider entry');
      const providerInstance = LifeChannel.built[0]!;
      assert.deepEqual(
        LifeChannel.hooks.map((entry) => entry.hook),
        ['onModuleInit', 'onApplicationBootstrap'],
      );

      const alice = await kit.connect();
      const bob = await kit.connect();
      const aliceA = await alice.join('life:a');
      const aliceB = await alice.join('life:b');
      const bobA = await bob.join('life:a');
      assert.deepEqual([aliceA.joinReply, aliceB.joinReply, bobA.joinReply], [{ instance: 1 }, { instance: 2 }, { instance: 3 }]);
      // The same instance handles every later message of its channel.
      await aliceB.assertReply(aliceB.push('which'), 'ok', { instance: 2 });

      const joinInstances = LifeChannel.built.slice(1);
      assert.equal(new Set(joinInstances).size, 3);
      assert.equal(Counter.built, 1, 'the dependency is the app singleton');
      for (const instance of joinInstances) assert.equal(instance.counter, kit.get(Counter));

      await kit.close();
      closed = true;
      assert.deepEqual(
        LifeChannel.terminated.map((entry) => LifeChannel.built.indexOf(entry.instance)).sort(),
        [1, 2, 3],
        '@Terminate ran once on each join instance',
      );
      assert.deepEqual(
        LifeChannel.hooks.map((entry) => entry.hook),
        ['onModuleInit', 'onApplicationBootstrap', 'onModuleDestroy', 'beforeApplicationShutdown', 'onApplicationShutdown'],
      );
      assert.ok(
        LifeChannel.hooks.every((entry) => entry.instance === providerInstance),
        'a lifecycle hook ran on a per-join instance',
      );
    } finally {
      if (!closed) await kit.close();
    }
  });
});
