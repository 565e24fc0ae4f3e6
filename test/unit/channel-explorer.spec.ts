import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Channel } from '../../lib/decorators/channel.decorator.js';
import { Intercept } from '../../lib/decorators/intercept.decorator.js';
import { HandleIn, HandleOut, Join } from '../../lib/decorators/method-decorators.js';
import { ChannelsModule } from '../../lib/channels.module.js';
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
      assert.equal(definition.handleIn.get('a'), 'both');
      assert.equal(definition.handleIn.get('b'), 'both');
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
