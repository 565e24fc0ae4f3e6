import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MemoryHistory } from './memory-history.js';
import type { HistoryRead } from './history.types.js';

const options = { size: 3, ttlMs: 60_000 };

function offsets(read: HistoryRead): number[] | null {
  return read.broadcasts === null ? null : read.broadcasts.map((b) => Number(String(b.position).split('.')[1]));
}

describe('MemoryHistory', () => {
  let history: MemoryHistory;
  afterEach(() => history.close());

  it('gives each broadcast of a topic the next offset of one epoch, and topics their own epochs', () => {
    history = new MemoryHistory(() => options, () => false);
    const a = [1, 2, 3].map((i) => history.append('a', options, 'e', { i }));
    const b = history.append('b', options, 'e', {});
    assert.deepEqual(a.map((p) => p.split('.')[1]), ['1', '2', '3']);
    assert.equal(new Set(a.map((p) => p.split('.')[0])).size, 1);
    assert.notEqual(b.split('.')[0], a[0]!.split('.')[0]);
  });

  it('reads what follows a position, oldest first, while it fits the last `size`; a gap after that', () => {
    history = new MemoryHistory(() => options, () => false);
    for (let i = 1; i <= 5; i++) history.append('t', options, 'e', { i });
    const { epoch } = history.read('t', options, null);
    assert.deepEqual(offsets(history.read('t', options, { epoch, offset: 2 })), [3, 4, 5]);
    assert.deepEqual(history.read('t', options, { epoch, offset: 2 }).broadcasts?.map((b) => b.payload), [{ i: 3 }, { i: 4 }, { i: 5 }]);
    assert.deepEqual(offsets(history.read('t', options, { epoch, offset: 5 })), []);
    assert.equal(offsets(history.read('t', options, { epoch, offset: 1 })), null, '4 missed, 3 kept');
    assert.equal(offsets(history.read('t', options, { epoch, offset: 6 })), null, 'a position past the end');
    assert.equal(offsets(history.read('t', options, { epoch: 'other', offset: 4 })), null, 'another epoch');
    assert.deepEqual({ ...history.read('t', options, null), broadcasts: null }, { epoch, offset: 5, broadcasts: null });
  });

  it('makes the epoch of a topic nothing was broadcast on at the first read, at offset 0', () => {
    history = new MemoryHistory(() => options, () => false);
    const read = history.read('fresh', options, null);
    assert.equal(read.offset, 0);
    const position = history.append('fresh', options, 'e', {});
    assert.equal(position, `${read.epoch}.1`);
  });

  it('answers a gap for broadcasts older than ttlMs', async () => {
    const brief = { size: 10, ttlMs: 30 };
    history = new MemoryHistory(() => brief, () => false);
    history.append('t', brief, 'e', {});
    const { epoch } = history.read('t', brief, null);
    await new Promise((resolve) => setTimeout(resolve, 50));
    history.append('t', brief, 'e', {});
    assert.equal(offsets(history.read('t', brief, { epoch, offset: 0 })), null);
    assert.deepEqual(offsets(history.read('t', brief, { epoch, offset: 1 })), [2]);
  });
});
