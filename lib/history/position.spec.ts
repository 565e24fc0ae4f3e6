import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EpochSource, formatPosition, parsePosition } from './position.js';

describe('history positions', () => {
  it('reads "<epoch>.<offset>" with an epoch of [A-Za-z0-9_-] and a decimal offset', () => {
    assert.deepEqual(parsePosition('Xa3_9kQz-1.0'), { epoch: 'Xa3_9kQz-1', offset: 0 });
    assert.deepEqual(parsePosition('e.9007199254740991'), { epoch: 'e', offset: 9007199254740991 });
    assert.equal(formatPosition('Xa3', 12), 'Xa3.12');
  });

  it('refuses anything else', () => {
    for (const bad of [null, undefined, 7, {}, '', '.1', 'e.', 'e.01', 'e.-1', 'e.1.2', 'e f.1', 'é.1', 'e.9007199254740993', `${'e'.repeat(65)}.1`]) {
      assert.equal(parsePosition(bad), null, JSON.stringify(bad));
    }
  });

  it('makes epochs that are positions, never the same twice in a process nor across processes', () => {
    const one = new EpochSource();
    const two = new EpochSource();
    const made = [one.next(), one.next(), two.next(), two.next()];
    assert.equal(new Set(made).size, 4);
    for (const epoch of made) assert.deepEqual(parsePosition(`${epoch}.1`), { epoch, offset: 1 });
  });
});
