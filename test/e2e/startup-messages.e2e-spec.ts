// What start-up and a stray join say when the app is wired wrong: each message names the fix.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Module, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { Channel, ChannelsAdapter, ChannelsModule, Join } from '../../lib/index.js';
import { LogCapture } from '../support/log-capture.js';
import { RawClient } from '../support/raw-client.js';

@Channel('lobby:*')
class LobbyChannel {
  @Join() join() {}
}

@Channel('admin')
class AdminChannel {
  @Join() join() {}
}

/** Decorated, but no module lists it as a provider. */
@Channel('forgotten:*')
class ForgottenChannel {
  @Join() join() {}
}

// Long topics allowed, so that a long one reaches the unmatched-join hint.
@Module({ imports: [ChannelsModule.forRoot({ maxTopicLength: 10_000 })], providers: [LobbyChannel, AdminChannel] })
class ServedModule {}

@Module({ imports: [ChannelsModule.forRoot({ path: '/empty' })] })
class EmptyModule {}

interface Started {
  readonly app: INestApplication;
  readonly base: string;
  readonly logs: LogCapture;
}

/** Starts `module` on 127.0.0.1:0 with every log line captured; `adapter: false` leaves ChannelsAdapter out. */
async function start(module: Type<unknown>, adapter: boolean): Promise<Started> {
  const logs = LogCapture.install();
  try {
    const app = await NestFactory.create(module, { logger: logs, abortOnError: false });
    if (adapter) app.useWebSocketAdapter(new ChannelsAdapter(app));
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    return { app, base: `ws://127.0.0.1:${port}`, logs };
  } catch (error) {
    logs.restore();
    throw error;
  }
}

describe('start-up messages', () => {
  let started: Started | null = null;
  afterEach(async () => {
    await started?.app.close();
    started?.logs.restore();
    started = null;
  });

  it('says ChannelsAdapter is not installed, and how to install it, when the app forgot it; upgrades then get 404', async () => {
    started = await start(ServedModule, false);
    const warnings = started.logs.find('warn', 'ChannelsAdapter is not installed', 'ChannelsMount');
    assert.equal(warnings.length, 1, JSON.stringify(started.logs.entries));
    assert.match(warnings[0]!.message, /at \/socket\/websocket \(clients get 404\)/);
    assert.match(warnings[0]!.message, /call app\.useWebSocketAdapter\(new ChannelsAdapter\(app\)\) before app\.listen\(\)/);
    assert.equal(started.logs.find(null, /serving \d+ channel pattern/).length, 0, 'claims to serve what nobody can reach');
    await assert.rejects(RawClient.connect(started.base), { status: 404 });
  });

  it('lists the patterns it serves at the WebSocket path once the server listens with ChannelsAdapter', async () => {
    started = await start(ServedModule, true);
    const lines = started.logs.find('log', 'serving 2 channel pattern(s) at /socket/websocket', 'ChannelsMount');
    assert.equal(lines.length, 1, JSON.stringify(started.logs.entries));
    assert.match(lines[0]!.message, /: lobby:\*, admin$/);
    assert.equal(started.logs.find('warn', 'ChannelsAdapter is not installed').length, 0);
  });

  it('names a @Channel class that is not a provider, and the fix', async () => {
    started = await start(ServedModule, true);
    const warnings = started.logs.find('warn', 'ForgottenChannel', 'ChannelExplorer');
    assert.equal(warnings.length, 1, JSON.stringify(started.logs.entries));
    assert.equal(
      warnings[0]!.message,
      "ForgottenChannel has @Channel('forgotten:*') but is not a provider of this app, so no join reaches it: " +
        'add it to the providers of a module (e.g. providers: [ForgottenChannel])',
    );
    assert.equal(started.logs.find('warn', 'LobbyChannel').length, 0, 'a provided channel is not reported');
  });

  it('says so when a mount serves no channel at all', async () => {
    started = await start(EmptyModule, true);
    const warnings = started.logs.find('warn', 'no @Channel class serves /empty/websocket', 'ChannelsMount');
    assert.equal(warnings.length, 1, JSON.stringify(started.logs.entries));
    assert.match(warnings[0]!.message, /add your channel classes to the providers of a module/);
  });

  it('says nothing about serving when the app never listens (an application context)', async () => {
    const logs = LogCapture.install();
    try {
      const context = await NestFactory.createApplicationContext(ServedModule, { logger: logs, abortOnError: false });
      await context.close();
      assert.equal(logs.find(null, /serving \d+ channel pattern|ChannelsAdapter is not installed/).length, 0);
    } finally {
      logs.restore();
    }
  });
});

describe('a join no channel matches', () => {
  let started: Started;
  let client: RawClient;
  before(async () => {
    started = await start(ServedModule, true);
    client = await RawClient.connect(started.base);
  });
  after(async () => {
    client.terminate();
    await started.app.close();
    started.logs.restore();
  });

  it('answers "unmatched topic" and logs a hint listing the patterns served (P-19)', async () => {
    const mark = started.logs.entries.length;
    const reply = await client.join('nowhere:1', {}, '1');
    assert.deepEqual(reply, [null, '1', 'nowhere:1', 'phx_reply', { status: 'error', response: { reason: 'unmatched topic' } }]);
    const hints = started.logs.since(mark).filter((entry) => entry.level === 'warn');
    assert.deepEqual(
      hints.map((entry) => entry.message),
      [
        'ignoring join of unmatched topic "nowhere:1" on /socket: no pattern matches it (served: lobby:*, admin); ' +
          'a @Channel class for it must be in the providers of a module',
      ],
    );
  });

  it('logs one hint per connection per interval, however many unmatched joins it sends (issue 15)', async () => {
    const flooder = await RawClient.connect(started.base);
    try {
      const mark = started.logs.entries.length;
      for (let i = 0; i < 20; i++) flooder.send([`${i}`, `${i}`, `nowhere:${i}`, 'phx_join', {}]);
      for (let i = 0; i < 20; i++) assert.equal((await flooder.nextJson(2000, `the answer to join ${i}`))[4].response.reason, 'unmatched topic');
      assert.equal(started.logs.since(mark).filter((entry) => entry.message.startsWith('ignoring join of unmatched topic')).length, 1);
    } finally {
      flooder.terminate();
    }
  });

  it('cuts a long topic in the hint', async () => {
    const mark = started.logs.entries.length;
    const topic = `x${'y'.repeat(5000)}`;
    // A connection of its own: the first one's hint for this interval is spent.
    const fresh = await RawClient.connect(started.base);
    await fresh.join(topic, {}, '2');
    fresh.terminate();
    const [hint] = started.logs.since(mark).filter((entry) => entry.level === 'warn');
    assert.ok(hint !== undefined && hint.message.length < 500, `hint: ${hint?.message.length}`);
    assert.ok(hint.message.includes('yy…'), hint.message);
  });
});
