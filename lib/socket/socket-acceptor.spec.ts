import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import qs from 'qs';
import { parseConnectParams } from './socket-acceptor.js';

/** What parseConnectParams must give: qs with Plug's options, as before the plain-query path existed. */
function oracle(query: string): Record<string, unknown> {
  return qs.parse(query, { duplicates: 'last', depth: 10, parameterLimit: 1000, arrayLimit: 100 }) as Record<string, unknown>;
}

function same(query: string): void {
  const got = parseConnectParams(query);
  assert.deepEqual(got, oracle(query), `query ${JSON.stringify(query)}`);
  assert.deepEqual(Object.keys(got), Object.keys(oracle(query)), `key order of ${JSON.stringify(query)}`);
  assert.equal(Object.getPrototypeOf(got), Object.prototype);
}

describe('parseConnectParams', () => {
  it('parses what clients send', () => {
    assert.deepEqual(parseConnectParams('vsn=2.0.0&token=abc'), { vsn: '2.0.0', token: 'abc' });
    assert.deepEqual(parseConnectParams(''), {});
  });

  it('gives what qs gives on edge cases of plain queries', () => {
    for (const query of [
      'a', 'a=', '=a', '&', '&&a=1&&', 'a=1&a=2', 'a==b', 'a=b=c', '0=x&1=y', 'toString=1', 'a=1&constructor=2',
      '__proto__=x', 'hasOwnProperty', 'a.b=1', 'a-b_c~d=e.f', `${'a=1&'.repeat(1200)}b=2`, `${'x&'.repeat(999)}y=1`,
    ]) {
      same(query);
    }
  });

  it('gives what qs gives on nested, encoded and odd queries', () => {
    for (const query of ['a[b]=1', 'a[]=1&a[]=2', 'a=%20b', 'a=b+c', 'a=%E2%9C%93', 'a=%zz', 'a[b][c]=1&a[d]=2', '?a=1', 'a=1;b=2']) {
      same(query);
    }
  });

  it('gives what qs gives on generated queries', () => {
    const char = fc.constantFrom('a', 'b', 'x', '0', '1', '.', '-', '_', '~', '=', '&', '[', ']', '%', '2', '0', '+', ' ');
    const word = fc.constantFrom('toString', 'constructor', '__proto__', 'vsn', 'token', 'valueOf');
    fc.assert(
      fc.property(fc.array(fc.oneof(char, word), { maxLength: 30 }), (parts) => same(parts.join(''))),
      { numRuns: 3000 },
    );
  });
});
