import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { negotiateSerializer } from './negotiate.js';
import type { Serializer } from './serializer.interface.js';
import { V1JsonSerializer } from './v1-json.serializer.js';
import { V2JsonSerializer } from './v2-json.serializer.js';

const v1 = new V1JsonSerializer();
const v2 = new V2JsonSerializer();
const both: readonly Serializer[] = [v1, v2];

/** A serializer that behaves like `base` but answers to another vsn and id. */
function withVsn(base: Serializer, vsn: string, id: number): Serializer {
  return Object.assign(Object.create(base) as Serializer, { vsn, id });
}

function assertPicks(vsn: unknown, expected: Serializer, serializers: readonly Serializer[] = both): void {
  const result = negotiateSerializer(vsn, serializers);
  assert.ok('serializer' in result, `expected a serializer for ${String(vsn)}, got ${JSON.stringify(result)}`);
  assert.equal(result.serializer, expected);
}

function assertRefused(vsn: unknown, error: 'invalid' | 'mismatch', message: RegExp): void {
  const result = negotiateSerializer(vsn, both);
  assert.ok('error' in result, `expected ${vsn} to be refused`);
  assert.equal(result.error, error);
  assert.match(result.message, message);
  // One warning line.
  assert.doesNotMatch(result.message, /\n/);
}

describe('negotiateSerializer', () => {
  it('selects V1 when the client sends no vsn (P-02)', () => {
    assertPicks(undefined, v1);
  });

  it('selects V1 for 1.0.0 and V2 for 2.0.0, the phoenix.js default (P-03)', () => {
    assertPicks('1.0.0', v1);
    assertPicks('2.0.0', v2);
  });

  it('selects V1 for 1.0.7 and V2 for 2.0.9 (P-04)', () => {
    assertPicks('1.0.7', v1);
    assertPicks('2.0.9', v2);
  });

  it('ignores build metadata', () => {
    assertPicks('2.0.0+build.5', v2);
    assertPicks('1.0.3+sha.abc', v1);
  });

  it('accepts a pre-release above x.y.0, as ~> does', () => {
    // 2.0.1-rc.1 sorts after 2.0.0 and before 2.1.0-0.
    assertPicks('2.0.1-rc.1', v2);
  });

  it('refuses valid versions outside ~> 1.0.0 and ~> 2.0.0 as a mismatch (P-05)', () => {
    assertRefused('2.1.0', 'mismatch', /requested transport version "2\.1\.0" does not match .*~> 1\.0\.0, ~> 2\.0\.0/);
    assertRefused('3.0.0', 'mismatch', /"3\.0\.0"/);
    assertRefused('1.1.0', 'mismatch', /"1\.1\.0"/);
    assertRefused('0.9.9', 'mismatch', /"0\.9\.9"/);
  });

  it('refuses the pre-release 2.0.0-rc.1, which sorts before 2.0.0 (P-05)', () => {
    assertRefused('2.0.0-rc.1', 'mismatch', /"2\.0\.0-rc\.1"/);
    // The next minor's pre-releases are outside ~> 2.0.0 too.
    assertRefused('2.1.0-rc.1', 'mismatch', /"2\.1\.0-rc\.1"/);
  });

  it('refuses strings that are not semver as invalid (P-05)', () => {
    assertRefused('2.0', 'invalid', /invalid transport version "2\.0"/);
    assertRefused('2', 'invalid', /"2"/);
    assertRefused('abc', 'invalid', /"abc"/);
    assertRefused('', 'invalid', /""/);
    assertRefused(' 2.0.0', 'invalid', /" 2\.0\.0"/);
    assertRefused('v2.0.0', 'invalid', /"v2\.0\.0"/);
    assertRefused('02.0.0', 'invalid', /"02\.0\.0"/);
    assertRefused('2.0.0-', 'invalid', /"2\.0\.0-"/);
    assertRefused('2.0.0-rc..1', 'invalid', /"2\.0\.0-rc\.\.1"/);
    assertRefused('2.0.0-01', 'invalid', /"2\.0\.0-01"/);
  });

  it('refuses a vsn that is not a string, such as vsn[]=2.0.0, as invalid (P-05)', () => {
    assertRefused(['2.0.0'], 'invalid', /expected a string, got an array/);
    assertRefused({ a: '2.0.0' }, 'invalid', /got object/);
    assertRefused(null, 'invalid', /got null/);
    assertRefused(2, 'invalid', /got number/);
  });

  it('quotes at most about 100 characters of a long vsn', () => {
    const result = negotiateSerializer('9'.repeat(10_000), both);
    assert.ok('error' in result);
    assert.ok(result.message.length < 250);
  });

  it('picks the first serializer that matches, in list order', () => {
    const otherV2 = withVsn(v2, '2.0.0', 9);
    assertPicks('2.0.0', otherV2, [v1, otherV2, v2]);
  });

  it('honours a serializer vsn with a non-zero patch as ~> x.y.z', () => {
    const patched = withVsn(v2, '2.0.3', 9);
    assertPicks('2.0.3', patched, [patched]);
    assertPicks('2.0.10', patched, [patched]);
    const result = negotiateSerializer('2.0.2', [patched]);
    assert.ok('error' in result);
    assert.equal(result.error, 'mismatch');
  });

  it('reports a mismatch when no serializers are offered', () => {
    const result = negotiateSerializer('1.0.0', []);
    assert.ok('error' in result);
    assert.equal(result.error, 'mismatch');
  });
});
