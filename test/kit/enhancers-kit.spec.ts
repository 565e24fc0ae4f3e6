/**
 * The test kit runs the same enhanced calls as a real server: app-wide
 * enhancers registered as providers (APP_GUARD, APP_PIPE) and a channel's own
 * guards and pipes apply to kit joins and pushes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ValidationPipe } from '@nestjs/common';
import { APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ChannelTest, JoinRefusedError } from '../../lib/testing/index.js';
import { ContextLog, EnhancedChannel, GlobalGuard, GuardedChannel, MemberGuard, PlainChannel } from '../fixtures/enhancers.channels.js';

describe('ChannelTest kit with Nest enhancers', () => {
  let kit: ChannelTest;
  before(async () => {
    kit = await ChannelTest.create({
      providers: [
        ContextLog,
        MemberGuard,
        GuardedChannel,
        EnhancedChannel,
        PlainChannel,
        { provide: APP_GUARD, useClass: GlobalGuard },
        { provide: APP_PIPE, useValue: new ValidationPipe() },
      ],
    });
  });
  after(() => kit.close());

  it('refuses a join with {reason: "unauthorized"} through an APP_GUARD and through a class guard', async () => {
    const socket = kit.socket();
    await assert.rejects(socket.join('plain:blocked'), (error: unknown) => {
      assert.ok(error instanceof JoinRefusedError);
      assert.deepEqual(error.reply, { reason: 'unauthorized' });
      return true;
    });
    await assert.rejects(socket.join('guarded:kit', { token: 'stranger' }), JoinRefusedError);
    const channel = await socket.join('guarded:kit-member', { token: 'member' });
    await channel.assertReply(channel.push('ping', { n: 1 }), 'ok', { n: 1 });
  });

  it('validates a positional DTO payload with an APP_PIPE ValidationPipe', async () => {
    const channel = await kit.socket().join('enhanced:kit');
    const response = await channel.assertReply(channel.push('create', { name: 'ab', size: 1 }), 'error');
    assert.equal(response.statusCode, 400);
    await channel.assertReply(channel.push('create', { name: 'abc', size: 1 }), 'ok', { created: 'abc' });
  });
});
