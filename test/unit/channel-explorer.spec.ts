import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Injectable, Module, UseGuards } from '@nestjs/common';
import { MessageBody } from '@nestjs/websockets';
import { Test } from '@nestjs/testing';
import { Channel } from '../../lib/decorators/channel.decorator.js';
import { Intercept } from '../../lib/decorators/intercept.decorator.js';
import { HandleIn, HandleOut, Join } from '../../lib/decorators/method-decorators.js';
import { ChannelsModule } from '../../lib/channels.module.js';
import type { ChannelsOptionsFactory } from '../../lib/interfaces/channels-module-options.interface.js';
import { ChannelsConfigurationError } from '../../lib/errors/errors.js';
import { ChannelsHost } from '../../lib/channels.host.js';
import { LogCapture } from '../support/log-capture.js';

/** Compiles and initialises a module holding `providers` and one mount; resolves to the init error, if any. */
async function bootError(providers: Function[], logger?: LogCapture): Promise<unknown> {
  const builder = Test.createTestingModule({
    imports: [ChannelsModule.forRoot()],
    providers: providers as never[],
  });
  // The testing module installs its own logger at compile time; a capture must be handed to it.
  if (logger !== undefined) builder.setLogger(logger);
  const module = await builder.compile();
  try {
    await module.init();
    return null;
  } catch (error) {
    return error;
  } finally {
    await module.close().catch(() => undefined);
  }
}

@Channel('room:*')
class RoomA {
  @Join() join() {}
}

@Channel('room:*')
class RoomB {
  @Join() join() {}
}

@Channel('bad*pattern')
class BadPattern {
  @Join() join() {}
}

@Channel('nojoin')
class NoJoin {
  @HandleIn('ping') ping() {}
}

@Channel('twice')
class TwoHandlers {
  @Join() join() {}
  @HandleIn('ping') one() {}
  @HandleIn('ping') two() {}
}

@Channel('stacked')
class Stacked {
  @Join() join() {}
  @HandleIn('a')
  @HandleIn('b')
  both(_payload: unknown, _socket: unknown, event: string) {
    return { event };
  }
}

@Channel('outwarn:*')
@Intercept(['shown'])
class OutWithoutIntercept {
  @Join() join() {}
  @HandleOut('shown') shown() {}
  @HandleOut('never') never() {}
}

describe('ChannelExplorer at start-up', () => {
  it('fails naming both classes when two channels share a pattern', async () => {
    const error = await bootError([RoomA, RoomB]);
    assert.ok(error instanceof ChannelsConfigurationError);
    assert.equal(error.code, 'ERR_CHANNELS_CONFIGURATION');
    assert.match(error.message, /RoomB: pattern 'room:\*' is already served by RoomA/);
  });

  it("fails naming the class when '*' is not at the end of the pattern", async () => {
    const error = await bootError([BadPattern]);
    assert.ok(error instanceof ChannelsConfigurationError);
    assert.match(error.message, /BadPattern: '\*' may only end a topic pattern, as in 'room:\*'; got 'bad\*pattern'/);
  });

  it('fails naming the class when it has no @Join', async () => {
    const error = await bootError([NoJoin]);
    assert.ok(error instanceof ChannelsConfigurationError);
    assert.match(error.message, /NoJoin: a channel needs a @Join\(\) method/);
  });

  it('fails naming both methods when two handlers take one event', async () => {
    const error = await bootError([TwoHandlers]);
    assert.ok(error instanceof ChannelsConfigurationError);
    assert.match(error.message, /TwoHandlers: two handlers for @HandleIn\('ping'\): one and two/);
  });

  it('lists every problem in one error', async () => {
    const error = (await bootError([NoJoin, TwoHandlers, BadPattern])) as Error;
    assert.equal(error.message.split('\n  - ').length - 1, 3);
  });

  it('registers both events of stacked @HandleIn decorators', async () => {
    const module = await Test.createTestingModule({ imports: [ChannelsModule.forRoot()], providers: [Stacked] }).compile();
    await module.init();
    try {
      const mount = module.get(ChannelsHost).mounts[0]!;
      const definition = mount.registry.match('stacked')!;
      assert.equal(definition.handleIn.get('a')?.method, 'both');
      assert.equal(definition.handleIn.get('b')?.method, 'both');
      assert.equal(definition.handleIn.size, 2);
    } finally {
      await module.close();
    }
  });

  it('warns, naming the event, about a @HandleOut whose event is not intercepted', async () => {
    const logs = LogCapture.install();
    let warnings: string[];
    try {
      assert.equal(await bootError([OutWithoutIntercept], logs), null);
    } finally {
      logs.restore();
      warnings = logs.find('warn', '').map((entry) => String(entry.message));
    }
    assert.ok(
      warnings.some((w) => /OutWithoutIntercept\.never has @HandleOut\('never'\) but 'never' is not in @Intercept/.test(w)),
      `warnings: ${JSON.stringify(warnings)}`,
    );
    assert.ok(!warnings.some((w) => /'shown' is not in @Intercept/.test(w)));
  });

  it('rejects contradictory options with one exact message', () => {
    assert.throws(() => ChannelsModule.forRoot({ maxChannelsPerSocket: 0 }), {
      name: 'ChannelsConfigurationError',
      message: 'ChannelsModule option maxChannelsPerSocket must be a positive number; got 0',
    });
    assert.throws(() => ChannelsModule.forRoot({ longpoll: { windowMs: -1 } }), {
      name: 'ChannelsConfigurationError',
      message: 'ChannelsModule option longpoll.windowMs must be a positive number; got -1',
    });
    assert.throws(() => ChannelsModule.forRootAsync({} as never), /forRootAsync needs useFactory/);
  });

  it('takes options from forRootAsync factories with injected providers', async () => {
    class Config {
      readonly path = '/async-socket';
    }
    @Module({ providers: [Config], exports: [Config] })
    class ConfigModule {}
    const module = await Test.createTestingModule({
      imports: [
        ChannelsModule.forRootAsync({
          imports: [ConfigModule],
          inject: [Config],
          useFactory: (config: Config) => ({ path: config.path, maxChannelsPerSocket: 7 }),
        }),
      ],
      providers: [Stacked],
    }).compile();
    await module.init();
    try {
      const mount = module.get(ChannelsHost).mounts[0]!;
      assert.equal(mount.options.websocketPath, '/async-socket/websocket');
      assert.equal(mount.options.maxChannelsPerSocket, 7);
    } finally {
      await module.close();
    }
  });
});

@Channel('badprefix')
class BadPrefix {
  @Join() join() {}
  @HandleIn('ctl:*:x') middle() {}
}

@Channel('prefixes')
class Prefixes {
  @Join() join() {}
  @HandleIn('ctl:*') short() {}
  @HandleIn('ctl:admin:*') long() {}
  @HandleIn('*') all() {}
  @HandleIn('ctl:exact') exact() {}
}

describe('ChannelExplorer: prefix handlers, mounts and async options', () => {
  it("rejects a '*' that does not end a @HandleIn event, naming the method", async () => {
    const error = await bootError([BadPrefix]);
    assert.ok(error instanceof ChannelsConfigurationError);
    assert.match(error.message, /BadPrefix\.middle: '\*' may only end an event, as in @HandleIn\('ctl:\*'\); got 'ctl:\*:x'/);
  });

  it('keeps prefix handlers longest first, apart from the exact events', async () => {
    const module = await Test.createTestingModule({ imports: [ChannelsModule.forRoot()], providers: [Prefixes] }).compile();
    await module.init();
    try {
      const definition = module.get(ChannelsHost).mounts[0]!.registry.match('prefixes')!;
      assert.deepEqual(
        definition.handleInPrefixes.map((entry) => [entry.prefix, entry.handler.method]),
        [
          ['ctl:admin:', 'long'],
          ['ctl:', 'short'],
          ['', 'all'],
        ],
      );
      assert.deepEqual([...definition.handleIn.keys()], ['ctl:exact']);
    } finally {
      await module.close();
    }
  });

  it('lets two mounts each serve their own channel for one pattern', async () => {
    const module = await Test.createTestingModule({
      imports: [
        ChannelsModule.forRoot({ path: '/a', channels: [RoomA] }),
        ChannelsModule.forRoot({ path: '/b', channels: [RoomB] }),
      ],
      providers: [RoomA, RoomB],
    }).compile();
    await module.init();
    try {
      const [a, b] = module.get(ChannelsHost).mounts;
      assert.equal(a!.registry.match('room:1')!.type, RoomA);
      assert.equal(b!.registry.match('room:1')!.type, RoomB);
    } finally {
      await module.close();
    }
  });

  it('still refuses two channels for one pattern on the same mount, naming the mount', async () => {
    const module = await Test.createTestingModule({
      imports: [ChannelsModule.forRoot({ path: '/a', channels: [RoomA, RoomB] })],
      providers: [RoomA, RoomB],
    }).compile();
    await assert.rejects(module.init(), /RoomB: pattern 'room:\*' is already served by RoomA on the mount at \/a/);
    await module.close().catch(() => undefined);
  });

  it('takes options from a ChannelsOptionsFactory with forRootAsync useClass and useExisting', async () => {
    @Injectable()
    class Settings {
      readonly path = '/from-settings';
    }
    @Injectable()
    class ChannelsConfig implements ChannelsOptionsFactory {
      constructor(private readonly settings: Settings) {}
      createChannelsOptions() {
        return { path: this.settings.path, maxChannelsPerSocket: 3 };
      }
    }
    @Module({ providers: [Settings], exports: [Settings] })
    class SettingsModule {}
    @Injectable()
    class SharedConfig implements ChannelsOptionsFactory {
      async createChannelsOptions() {
        return { path: '/shared', channels: [Stacked] };
      }
    }
    @Module({ providers: [SharedConfig], exports: [SharedConfig] })
    class SharedConfigModule {}

    const module = await Test.createTestingModule({
      imports: [
        ChannelsModule.forRootAsync({ imports: [SettingsModule], useClass: ChannelsConfig }),
        ChannelsModule.forRootAsync({ imports: [SharedConfigModule], useExisting: SharedConfig }),
      ],
      providers: [Stacked],
    }).compile();
    await module.init();
    try {
      const mounts = module.get(ChannelsHost).mounts;
      assert.deepEqual(
        mounts.map((mount) => [mount.options.websocketPath, mount.options.maxChannelsPerSocket]),
        [
          ['/from-settings/websocket', 3],
          ['/shared/websocket', 100],
        ],
      );
    } finally {
      await module.close();
    }
  });

  it('refuses forRootAsync with none or several of useFactory, useClass and useExisting', () => {
    class Factory implements ChannelsOptionsFactory {
      createChannelsOptions() {
        return {};
      }
    }
    assert.throws(() => ChannelsModule.forRootAsync({ imports: [] }), {
      message: 'ChannelsModule.forRootAsync needs useFactory, useClass or useExisting (exactly one); got none',
    });
    assert.throws(() => ChannelsModule.forRootAsync({ useClass: Factory, useExisting: Factory }), /exactly one\); got 2/);
  });

  it('refuses a channel class provided by two modules, naming both', async () => {
    @Module({ providers: [Stacked] })
    class One {}
    @Module({ providers: [Stacked] })
    class Two {}
    const module = await Test.createTestingModule({ imports: [ChannelsModule.forRoot(), One, Two] }).compile();
    await assert.rejects(module.init(), /Stacked is a provider of two modules \(One and Two\)/);
    await module.close().catch(() => undefined);
  });
});

class NoopGuard {
  canActivate() {
    return true;
  }
}

@Channel('warned:*')
@Intercept(['news'])
class Warned {
  @Join() join() {}
  @HandleIn('half')
  half(@MessageBody() _body: unknown, _socket: unknown) {}
  @HandleOut('news')
  @UseGuards(NoopGuard)
  news() {}
}

describe('ChannelExplorer warnings about enhancers', () => {
  it('warns about enhancers on @HandleOut (they do not run) and about undecorated parameters next to decorated ones', async () => {
    const logs = LogCapture.install();
    let warnings: string[];
    try {
      assert.equal(await bootError([Warned, NoopGuard], logs), null);
    } finally {
      logs.restore();
      warnings = logs.find('warn', '').map((entry) => String(entry.message));
    }
    assert.ok(
      warnings.some((w) => w.startsWith('Warned.news: guards, interceptors, pipes, filters and parameter decorators run on @Join and @HandleIn only')),
      `warnings: ${JSON.stringify(warnings)}`,
    );
    assert.ok(
      warnings.some((w) => w.startsWith('Warned.half has parameter decorators, so its other parameters (index 1) receive undefined')),
      `warnings: ${JSON.stringify(warnings)}`,
    );
  });
});

@Injectable()
@UseGuards(NoopGuard)
class UnlistedSocket {
  connect() {
    return true;
  }
}

describe('ChannelsMount: a guarded socket handler', () => {
  it('refuses to start when the socket handler has guards but is no module\'s provider (Nest could not resolve them)', async () => {
    const module = await Test.createTestingModule({ imports: [ChannelsModule.forRoot({ socket: UnlistedSocket })], providers: [Stacked] }).compile();
    await assert.rejects(module.init(), {
      name: 'ChannelsConfigurationError',
      message:
        "the socket handler UnlistedSocket has guards, interceptors, pipes, filters or parameter decorators (its own or app-wide), which Nest resolves only for a provider: add UnlistedSocket to a module's providers",
    });
    await module.close().catch(() => undefined);
  });
});
