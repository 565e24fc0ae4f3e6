import assert from 'node:assert/strict';
import { describe as suite, it } from 'node:test';
import { describe, describeParams, stackOf } from './channels.messages.js';
import { SerializationError } from './errors/errors.js';

/** An object nested `levels` deep, built without recursion. */
function deepObject(levels: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let at = root;
  for (let i = 1; i < levels; i++) {
    const next: Record<string, unknown> = {};
    at.a = next;
    at = next;
  }
  return root;
}

suite('describe: one bounded description of any value', () => {
  it('reads as JSON for small data', () => {
    for (const value of [{ a: [1, 'x', null, true] }, 'just a string', 42, null, [], {}, { nested: { k: 'v' } }]) {
      assert.equal(describe(value), JSON.stringify(value));
    }
    assert.equal(describe(undefined), 'undefined');
    assert.equal(describe(10n), '10n');
    assert.equal(describe(function named() {}), 'function named');
    assert.equal(describe(Symbol('s')), 'Symbol(s)');
    assert.equal(describe(new Date(0)), '"1970-01-01T00:00:00.000Z"');
    assert.equal(describe(new Map([[1, 2]])), 'Map(1)');
  });

  it('shows an Error as its name and the first line of its message', () => {
    assert.equal(describe(new SerializationError('cannot encode\nmore detail')), 'SerializationError: cannot encode');
    assert.equal(describe({ cause: new TypeError('bad') }), '{"cause":TypeError: bad}');
  });

  it('shows binary as its size, without reading its bytes (a 90 MiB join payload)', () => {
    const started = performance.now();
    const bytes = new ArrayBuffer(90 * 1024 * 1024);
    assert.equal(describe(Buffer.from(bytes)), '<binary 90.0 MiB>');
    assert.equal(describe(bytes), '<binary 90.0 MiB>');
    assert.equal(describe({ file: new Uint8Array(1536) }), '{"file":<binary 1.5 KiB>}');
    assert.equal(describe(Buffer.from([1, 2, 3])), '<binary 3 B>');
    assert.ok(performance.now() - started < 500, 'no time spent on the bytes');
  });

  it('stops after 200 characters, however large the value', () => {
    const huge = { list: Array.from({ length: 1_000_000 }, (_, i) => i), text: 'x'.repeat(10_000_000) };
    const started = performance.now();
    const text = describe(huge);
    assert.ok(performance.now() - started < 200, 'only what is printed is visited');
    assert.equal(text.length, 201);
    assert.ok(text.startsWith('{"list":[0,1,2,'));
    assert.ok(text.endsWith('…'));
    assert.equal(describe('y'.repeat(5000)).length, 201, 'a long string: 200 characters and …');
    assert.equal(describe({ ['k'.repeat(5000)]: 1 }).length, 201, 'a long key too');
    assert.equal(describe('abcdef', 4), '"abc…', 'a smaller budget');
  });

  it('opens 8 levels and shows deeper ones as {…} or […], without recursing on the depth (100 000 levels)', () => {
    assert.equal(describe(deepObject(100_000)), `${'{"a":'.repeat(8)}{…}${'}'.repeat(8)}`);
    assert.equal(describe([[[[[[[[[[1]]]]]]]]]]), `${'['.repeat(8)}[…]${']'.repeat(8)}`);
  });

  it('marks cycles and survives getters and proxies that throw', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    assert.equal(describe(cyclic), '{"name":"loop","self":"[Circular]"}');
    const touchy = Object.defineProperty({}, 'boom', { enumerable: true, get: () => { throw new Error('no'); } });
    assert.equal(describe(touchy), '[Object]');
    const proxy = new Proxy({}, { ownKeys: () => { throw new Error('no'); } });
    assert.equal(describe(proxy), '[Object]');
  });
});

suite('describeParams: connect and join params with secrets filtered, as Phoenix logs them', () => {
  it('shows keys containing password or token as [FILTERED], at any depth, without copying the params', () => {
    const params = { user: 'ann', password: 'p', auth: { apiToken: 't', list: [{ TOKEN: 1 }] } };
    assert.equal(
      describeParams(params),
      '{"user":"ann","password":"[FILTERED]","auth":{"apiToken":"[FILTERED]","list":[{"TOKEN":"[FILTERED]"}]}}',
    );
    assert.equal(params.password, 'p', 'the params are untouched');
    assert.equal(describeParams(deepObject(50_000)), `${'{"a":'.repeat(8)}{…}${'}'.repeat(8)}`);
  });
});

suite('stackOf', () => {
  it('gives the stack of an Error, bounded, and describes anything else thrown', () => {
    const error = new Error('m'.repeat(10_000));
    const stack = stackOf(error);
    assert.ok(stack.startsWith('Error: mmm'));
    assert.equal(stack.length, 4001);
    assert.equal(stackOf({ thrown: 'object' }), '{"thrown":"object"}');
  });
});
