import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS, LONGPOLL_DEFAULTS } from './channels.constants.js';
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

describe('resolveOptions: the limits of issue 15', () => {
  it('defaults topic length 255, join size 64 KiB, 100 joins/s, 1000 messages/s answered with a reply, 1000 pending replies', () => {
    const resolved = resolveOptions();
    assert.deepEqual(
      [
        resolved.maxTopicLength,
        resolved.maxJoinPayloadSize,
        resolved.maxJoinsPerSecond,
        resolved.maxMessagesPerSecond,
        resolved.messageRateExceeded,
        resolved.maxPendingReplies,
      ],
      [255, 65536, 100, 1000, 'reply', 1000],
    );
  });

  it('takes the rates as any positive number, Infinity turning them off', () => {
    const resolved = resolveOptions({ maxJoinsPerSecond: 0.5, maxMessagesPerSecond: Number.POSITIVE_INFINITY, messageRateExceeded: 'close' });
    assert.deepEqual([resolved.maxJoinsPerSecond, resolved.maxMessagesPerSecond, resolved.messageRateExceeded], [0.5, Infinity, 'close']);
  });

  for (const name of ['maxTopicLength', 'maxJoinPayloadSize', 'maxPendingReplies'] as const) {
    for (const bad of [0, 2.5, Number.POSITIVE_INFINITY]) {
      it(`refuses ${name}: ${String(bad)} with one exact message`, () => {
        assert.throws(() => resolveOptions({ [name]: bad }), {
          name: 'ChannelsConfigurationError',
          message: `ChannelsModule option ${name} must be a positive integer; got ${String(bad)}`,
        });
      });
    }
  }

  for (const name of ['maxJoinsPerSecond', 'maxMessagesPerSecond'] as const) {
    for (const bad of [0, -3, Number.NaN, '10' as unknown as number]) {
      it(`refuses ${name}: ${String(bad)} with one exact message`, () => {
        assert.throws(() => resolveOptions({ [name]: bad }), {
          name: 'ChannelsConfigurationError',
          message: `ChannelsModule option ${name} must be a positive number of messages per second (Infinity for no limit); got ${String(bad)}`,
        });
      });
    }
  }

  it("refuses a messageRateExceeded other than 'reply' or 'close'", () => {
    assert.throws(() => resolveOptions({ messageRateExceeded: 'drop' as never }), {
      name: 'ChannelsConfigurationError',
      message: "ChannelsModule option messageRateExceeded must be 'reply' or 'close'; got drop",
    });
  });
});

describe('resolveOptions: long-poll, authToken, subprotocols', () => {
  it('leaves long-poll off by default, and serves it with the defaults for true', () => {
    assert.equal(resolveOptions({}).longpoll, null);
    assert.equal(resolveOptions({ longpoll: false }).longpoll, null);
    const on = resolveOptions({ path: '/ws', longpoll: true });
    assert.deepEqual(on.longpoll, {
      windowMs: 10_000,
      maxSessions: 10_000,
      maxBufferedMessages: 10_000,
      maxBodySize: 8_000_000,
      pubsubTimeoutMs: 2_000,
    });
    assert.deepEqual(on.longpoll, { ...LONGPOLL_DEFAULTS });
    assert.equal(on.longpollPath, '/ws/longpoll');
    assert.equal(on.websocketPath, '/ws/websocket');
  });

  it('merges long-poll settings over the defaults', () => {
    const resolved = resolveOptions({ longpoll: { windowMs: 500, maxSessions: 3 } });
    assert.equal(resolved.longpoll?.windowMs, 500);
    assert.equal(resolved.longpoll?.maxSessions, 3);
    assert.equal(resolved.longpoll?.maxBodySize, 8_000_000);
  });

  it('rejects unknown or invalid long-poll settings with one exact message', () => {
    assert.throws(() => resolveOptions({ longpoll: { window: 5 } as never }), {
      name: 'ChannelsConfigurationError',
      message:
        'ChannelsModule option longpoll: unknown setting(s) window; accepted: windowMs, maxSessions, maxBufferedMessages, maxBodySize, pubsubTimeoutMs',
    });
    assert.throws(() => resolveOptions({ longpoll: { maxSessions: 0 } }), {
      message: 'ChannelsModule option longpoll.maxSessions must be a positive number; got 0',
    });
    assert.throws(() => resolveOptions({ longpoll: 'yes' as never }), {
      message: 'ChannelsModule option longpoll must be true, false or an object of long-poll settings',
    });
  });

  it('takes authToken (default false) and subprotocols (default unset)', () => {
    const plain = resolveOptions({});
    assert.equal(plain.authToken, false);
    assert.equal(plain.subprotocols, null);
    const set = resolveOptions({ authToken: true, subprotocols: ['mqtt', 'v2.chat'] });
    assert.equal(set.authToken, true);
    assert.deepEqual(set.subprotocols, ['mqtt', 'v2.chat']);
    assert.throws(() => resolveOptions({ subprotocols: ['ok', ''] }), {
      message: 'ChannelsModule option subprotocols must be a list of non-empty strings',
    });
    assert.throws(() => resolveOptions({ authToken: 'yes' as never }), {
      message: 'ChannelsModule option authToken must be true or false; got yes',
    });
  });
});
