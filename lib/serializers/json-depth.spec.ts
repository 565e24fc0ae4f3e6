import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ERROR_CODE, MalformedMessageError } from '../errors/errors.js';
import { nestsDeeperThan } from './json-depth.js';
import { V1JsonSerializer } from './v1-json.serializer.js';
import { V2JsonSerializer } from './v2-json.serializer.js';

/** The nesting of a parsed JSON value, walked the obvious (recursive) way: the oracle. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

/** `{"a":{"a":…}}` nested `levels` deep. */
function nested(levels: number): string {
  return `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
}

function both(text: string, maxDepth: number): boolean {
  const fromText = nestsDeeperThan(text, null, maxDepth);
  const fromBytes = nestsDeeperThan(text, Buffer.from(text, 'utf8'), maxDepth);
  assert.equal(fromText, fromBytes, `text and bytes agree on ${text.slice(0, 60)}`);
  return fromText;
}

describe('nestsDeeperThan', () => {
  it('counts arrays and objects, one level each', () => {
    assert.equal(both('[]', 1), false);
    assert.equal(both('[{}]', 1), true);
    assert.equal(both('[{}]', 2), false);
    assert.equal(both('[[], {}, [[]]]', 3), false);
    assert.equal(both('[[], {}, [[[]]]]', 3), true);
    assert.equal(both(nested(100), 99), true);
    assert.equal(both(nested(100), 100), false);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const brackets = '[[[[[[[[[[{{{{{{{{{{';
    assert.equal(both(JSON.stringify([brackets, { k: brackets }]), 2), false);
    assert.equal(both(JSON.stringify(['say \\"[[[[\\"', 'a\\\\', '[[[[[']), 1), false);
    // A closing bracket in a string must not hide real depth either.
    assert.equal(both(`["]]]]]]]]]]", ${nested(6)}]`, 6), true);
    assert.equal(both(JSON.stringify(['é[ü{', '💥[[[[[[[[']), 1), false);
  });

  it('agrees with the depth of the parsed value on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 0, max: 14 }), (value, limit) => {
        const text = JSON.stringify(value);
        assert.equal(both(text, limit), depthOf(value) > limit);
      }),
      { numRuns: 500 },
    );
  });

  it('stops at the first level too deep: a 1 MiB frame of brackets is refused after a few bytes', () => {
    const text = '['.repeat(1024 * 1024);
    const started = performance.now();
    for (let i = 0; i < 100; i++) assert.equal(nestsDeeperThan(text, Buffer.from('['.repeat(200)), 64), true);
    assert.equal(both(text, 64), true);
    assert.ok(performance.now() - started < 1000);
  });
});

describe('the serializers refuse a payload deeper than maxPayloadDepth as malformed', () => {
  const v1 = new V1JsonSerializer();
  const v2 = new V2JsonSerializer();
  const v2Frame = (payload: string) => `["1","2","room:1","e",${payload}]`;
  const v1Frame = (payload: string) => `{"topic":"room:1","event":"e","payload":${payload},"ref":"2"}`;

  for (const [name, decode, frame] of [
    ['V2', (data: Buffer | string, depth?: number) => v2.decode(data, false, depth), v2Frame],
    ['V1', (data: Buffer | string, depth?: number) => v1.decode(data, false, depth), v1Frame],
  ] as const) {
    it(`${name}: 64 levels by default decode, 65 do not; the limit is the caller's`, () => {
      assert.deepEqual(decode(frame(nested(64))).payload, JSON.parse(nested(64)));
      assert.deepEqual(decode(Buffer.from(frame(nested(64)))).payload, JSON.parse(nested(64)));
      for (const data of [frame(nested(65)), Buffer.from(frame(nested(65)))]) {
        assert.throws(
          () => decode(data),
          (error: unknown) => {
            assert.ok(error instanceof MalformedMessageError);
            assert.equal(error.code, ERROR_CODE.malformedMessage);
            assert.equal(error.message, `${name} text frame: the payload nests deeper than 64 levels (maxPayloadDepth)`);
            return true;
          },
        );
      }
      assert.throws(() => decode(frame(nested(4)), 3), /nests deeper than 3 levels/);
      assert.equal((decode(frame(nested(6000)), 7000).payload as object) !== null, true);
    });
  }
});
