import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS } from './channels.constants.js';
import { resolveOptions } from './channels.options.js';

describe('resolveOptions: the limits one client meets (issue 11)', () => {
  it('defaults maxFrameSize to 1 MiB, maxPayloadDepth to 64 and maxQueuedMessages to 1000', () => {
    const resolved = resolveOptions();
    assert.equal(resolved.maxFrameSize, 1024 * 1024);
    assert.equal(resolved.maxPayloadDepth, 64);
    assert.equal(resolved.maxQueuedMessages, 1000);
    assert.equal(DEFAULTS.maxFrameSize, resolved.maxFrameSize);
  });

  it('takes positive integers', () => {
    const resolved = resolveOptions({ maxFrameSize: 4096, maxPayloadDepth: 8, maxQueuedMessages: 5 });
    assert.deepEqual([resolved.maxFrameSize, resolved.maxPayloadDepth, resolved.maxQueuedMessages], [4096, 8, 5]);
  });

  for (const name of ['maxFrameSize', 'maxPayloadDepth', 'maxQueuedMessages'] as const) {
    for (const bad of [0, -1, 1.5, Number.POSITIVE_INFINITY, Number.NaN, '10' as unknown as number]) {
      it(`refuses ${name}: ${String(bad)} with one exact message`, () => {
        assert.throws(() => resolveOptions({ [name]: bad }), {
          name: 'ChannelsConfigurationError',
          code: 'ERR_CHANNELS_CONFIGURATION',
          message: `ChannelsModule option ${name} must be a positive integer; got ${String(bad)}`,
        });
      });
    }
  }
});
