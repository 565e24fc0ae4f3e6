import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDIS_DEFAULTS, validate } from './redis-connection.js';

describe('RedisPubSub option commandTimeoutMs', () => {
  it('defaults to 2000 ms', () => {
    assert.equal(REDIS_DEFAULTS.commandTimeoutMs, 2000);
  });

  for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`refuses ${String(bad)} with one exact message`, () => {
      assert.throws(() => validate({ commandTimeoutMs: bad }), {
        name: 'ChannelsConfigurationError',
        message: `RedisPubSub: option commandTimeoutMs must be a number of ms > 0; got ${String(bad)}`,
      });
    });
  }
});
