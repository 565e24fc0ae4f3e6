import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instanceTopic, joinOp, leaveOp, PeerMessageError, PRESENCE_TOPIC, readHeader, readOps, readStatePart, wireEntry } from './presence-wire.js';

const entry = { topic: 'room:1', key: 'u1', meta: Object.freeze({ status: 'on', phx_ref: 'AaIw0bgPHk3IAAAA' }), stamp: 1024 };

describe('presence messages between nodes', () => {
  it('reads what it writes: header, ops, state parts (through JSON, as on Redis)', () => {
    const delta = JSON.parse(JSON.stringify({ n: 'host:1', i: 'abcd', s: 3, o: [joinOp(entry), leaveOp('AaIw0bgPHk3IAAAB')] }));
    assert.deepEqual(readHeader(delta), { n: 'host:1', i: 'abcd', s: 3 });
    const ops = readOps(delta);
    assert.deepEqual(ops, [
      [1, 'room:1', 'u1', { status: 'on', phx_ref: 'AaIw0bgPHk3IAAAA' }, 1024],
      [0, 'AaIw0bgPHk3IAAAB'],
    ]);
    assert.ok(Object.isFrozen(ops[0]![3]), 'metas from other nodes are frozen');
    const part = JSON.parse(JSON.stringify({ n: 'host:1', i: 'abcd', s: 3, p: 0, l: true, e: [wireEntry(entry)] }));
    assert.deepEqual(readStatePart(part), { part: 0, last: true, entries: [['room:1', 'u1', { status: 'on', phx_ref: 'AaIw0bgPHk3IAAAA' }, 1024]] });
    assert.equal(readHeader({ n: 'x', i: 'y' }).s, 0, 'bye carries no seq');
    assert.equal(instanceTopic('abcd'), `${PRESENCE_TOPIC}:abcd`);
  });

  const bad: Array<[string, () => unknown, RegExp]> = [
    ['a payload that is not an object', () => readHeader('hb'), /not an object/],
    ['an array payload', () => readHeader([1]), /not an object/],
    ['no node name', () => readHeader({ i: 'a', s: 1 }), /no node name/],
    ['no instance id', () => readHeader({ n: 'a', s: 1 }), /no instance id/],
    ['a negative seq', () => readHeader({ n: 'a', i: 'b', s: -1 }), /bad seq/],
    ['a fractional seq', () => readHeader({ n: 'a', i: 'b', s: 1.5 }), /bad seq/],
    ['ops that are not a list', () => readOps({ o: {} }), /without ops/],
    ['an unknown op', () => readOps({ o: [[7, 'x']] }), /unknown op/],
    ['a leave without a ref', () => readOps({ o: [[0, 5]] }), /without a ref/],
    ['a join whose meta has no phx_ref', () => readOps({ o: [[1, 't', 'k', {}, 1]] }), /no phx_ref/],
    ['a join without a stamp', () => readOps({ o: [[1, 't', 'k', { phx_ref: 'r' }, 'x']] }), /without a stamp/],
    ['a join with a number key', () => readOps({ o: [[1, 't', 5, { phx_ref: 'r' }, 1]] }), /without a key/],
    ['a state part without its index', () => readStatePart({ l: true, e: [] }), /index/],
    ['a state part without its last flag', () => readStatePart({ p: 0, e: [] }), /last flag/],
    ['a state entry that is not a list', () => readStatePart({ p: 0, l: true, e: [{}] }), /not an array/],
  ];
  for (const [what, read, message] of bad) {
    it(`refuses ${what} with PeerMessageError`, () => {
      assert.throws(read, (error: unknown) => error instanceof PeerMessageError && message.test((error as Error).message));
    });
  }
});
