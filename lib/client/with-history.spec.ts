// withHistory on the real phoenix.js Channel, fed messages the way phoenix.js's socket hands them over
// (Channel.trigger), without a server: positions, duplicates, the since param, history_gap.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Socket, type Channel } from 'phoenix';
import { withHistory } from './index.js';

/** What phoenix.js does with a received message for this channel (Channel.trigger is not in @types/phoenix). */
function receive(channel: Channel, event: string, payload: object, ref: string | null = null): void {
  (channel as unknown as { trigger(event: string, payload: object, ref: string | null, joinRef?: string): void }).trigger(event, payload, ref);
}

/** The join params phoenix.js would send now (it calls the params function on every join). */
function joinParams(channel: Channel): Record<string, unknown> {
  return (channel as unknown as { params(): Record<string, unknown> }).params();
}

describe('withHistory (nestjs-channels/client)', () => {
  it('joins with since: null first, then with the position of the last broadcast given to the app', () => {
    const channel = withHistory(new Socket('ws://127.0.0.1:1/socket'), 'room:1', { token: 't' });
    assert.deepEqual(joinParams(channel), { token: 't', since: null });
    receive(channel, 'msg', { i: 1 }, 'Ep0ch.7');
    assert.deepEqual(joinParams(channel), { token: 't', since: 'Ep0ch.7' });
  });

  it('re-evaluates params given as a function on every join', () => {
    let token = 'a';
    const channel = withHistory(new Socket('ws://127.0.0.1:1/socket'), 'room:1', () => ({ token }));
    token = 'b';
    assert.deepEqual(joinParams(channel), { token: 'b', since: null });
  });

  it('gives the app each broadcast once: a position at or before the last one is dropped', () => {
    const channel = withHistory(new Socket('ws://127.0.0.1:1/socket'), 'room:1');
    const seen: Array<[number, string]> = [];
    channel.on('msg', (payload: { i: number }, ref?: string) => void seen.push([payload.i, String(ref)]));
    receive(channel, 'msg', { i: 1 }, 'E.1');
    receive(channel, 'msg', { i: 2 }, 'E.2');
    receive(channel, 'msg', { i: 1 }, 'E.1');
    receive(channel, 'msg', { i: 2 }, 'E.2');
    receive(channel, 'msg', { i: 3 }, 'E.3');
    // Another epoch starts over; messages without a position are never dropped.
    receive(channel, 'msg', { i: 4 }, 'F.1');
    receive(channel, 'msg', { i: 5 });
    receive(channel, 'msg', { i: 5 });
    assert.deepEqual(seen, [
      [1, 'E.1'],
      [2, 'E.2'],
      [3, 'E.3'],
      [4, 'F.1'],
      [5, 'null'],
      [5, 'null'],
    ]);
  });

  it('records the answer to since: null without passing it on, and passes every other history_gap on', () => {
    const channel = withHistory(new Socket('ws://127.0.0.1:1/socket'), 'room:1');
    const gaps: unknown[] = [];
    channel.on('history_gap', (payload) => void gaps.push(payload));
    receive(channel, 'history_gap', { since: null, epoch: 'E' }, 'E.40');
    assert.deepEqual(gaps, []);
    assert.equal(joinParams(channel).since, 'E.40');
    receive(channel, 'history_gap', { since: 'E.40', epoch: 'F' }, 'F.3');
    assert.deepEqual(gaps, [{ since: 'E.40', epoch: 'F' }]);
    assert.equal(joinParams(channel).since, 'F.3');
  });

  it("calls an onMessage the app sets afterwards, which sees everything, duplicates included, and keeps working", () => {
    const channel = withHistory(new Socket('ws://127.0.0.1:1/socket'), 'room:1');
    const hooked: string[] = [];
    const given: number[] = [];
    channel.onMessage = (event, payload, ref) => {
      hooked.push(`${event}@${ref}`);
      return { ...payload, hooked: true };
    };
    channel.on('msg', (payload: { i: number; hooked?: boolean }) => {
      assert.equal(payload.hooked, true);
      given.push(payload.i);
    });
    receive(channel, 'msg', { i: 1 }, 'E.1');
    receive(channel, 'msg', { i: 1 }, 'E.1');
    assert.deepEqual(hooked, ['msg@E.1', 'msg@E.1']);
    assert.deepEqual(given, [1]);
  });

  it('has no imports: the built module runs in a browser as it is', () => {
    const built = readFileSync(fileURLToPath(new URL('./index.js', import.meta.url)), 'utf8');
    assert.doesNotMatch(built, /^\s*import\s|require\(|\bimport\(/m);
  });
});
