/**
 * Channel classes are built by Nest's injector in their own host module
 * (issue 12, item 1), through the `phoenix` client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AlphaChannel,
  DiAppModule,
  PerJoinContext,
  SigningService,
  TransientCounter,
  lifecycle,
} from '../fixtures/di.channels.js';
import { joined, outcome, uniqueTopic } from '../support/phoenix-helpers.js';
import { startApp, type TestApp } from '../support/test-app.js';

describe('dependency injection of channels', () => {
  let app: TestApp;

  before(async () => {
    app = await startApp(DiAppModule);
  });
  after(() => app.close());

  it('gives each channel the providers of its own module when two modules register the same tokens differently', async () => {
    const alpha = await joined(app.client().channel(uniqueTopic('alpha')));
    const beta = await joined(app.client().channel(uniqueTopic('beta')));
    assert.equal(alpha.greeting, 'hello from A');
    assert.equal(alpha.property, 'hello from A');
    assert.equal(alpha.secret, 'secret-a');
    assert.deepEqual(beta, { greeting: 'hello from B', secret: 'secret-b' });
    // One SigningService per register() call, each built once: joins reuse them.
    assert.equal(SigningService.instances, 2);
  });

  it('builds a new instance per join, with its own fields, and runs lifecycle hooks only on the provider instance', async () => {
    const socket = app.client();
    const first = socket.channel(uniqueTopic('alpha'));
    const second = socket.channel(uniqueTopic('alpha'));
    const a = await joined(first);
    const b = await joined(second);
    assert.notEqual(a.serial, b.serial);
    assert.equal(a.hooked, false, 'a per-join instance got onModuleInit');
    assert.equal(lifecycle.onModuleInit, 1);
    assert.equal([...lifecycle.hookedInstances][0] instanceof AlphaChannel, true);
    assert.deepEqual((await outcome(first.push('whoami', {}))).response, { joinedTopic: first.topic, serial: a.serial });
    assert.deepEqual((await outcome(second.push('whoami', {}))).response, { joinedTopic: second.topic, serial: b.serial });
    assert.equal(SigningService.instances, 2);
  });

  it('builds request-scoped dependencies once per join, with the join\'s ChannelSocket as REQUEST', async () => {
    const before = PerJoinContext.instances;
    const topic = uniqueTopic('scoped');
    const response = await joined(app.client().channel(topic));
    assert.equal(response.requestTopic, topic);
    assert.equal(response.sameSocket, true);
    await joined(app.client().channel(uniqueTopic('scoped')));
    assert.equal(PerJoinContext.instances, before + 2);
  });

  it('gives each join its own transient dependency', async () => {
    const before = TransientCounter.instances;
    const one = await joined(app.client().channel(uniqueTopic('transient')));
    const two = await joined(app.client().channel(uniqueTopic('transient')));
    assert.notEqual(one.counter, two.counter);
    assert.ok(TransientCounter.instances >= before + 2);
  });
});
