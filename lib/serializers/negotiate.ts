/**
 * Serializer negotiation: the `vsn` connect parameter picks
 * the serializer for the lifetime of a connection.
 */
import { describe } from '../channels.messages.js';
import { PREVIEW_CHARS, typeName } from './error-text.js';
import type { Serializer } from './serializer.interface.js';

/** The version a client speaks when it sends no `vsn`. */
const DEFAULT_VSN = '1.0.0';

/** The outcome of `negotiateSerializer`: a serializer, or why the connect must be refused. */
export type NegotiationResult =
  | { serializer: Serializer }
  | { error: 'invalid' | 'mismatch'; message: string };

/**
 * Picks the serializer for a client's `vsn` (P-04, P-05).
 *
 * An absent `vsn` means `'1.0.0'`. A serializer with `vsn` S accepts any
 * version in `~> S`: at least S and below the next minor version, its
 * pre-releases included, so for S = `2.0.0` that is `2.0.x` but not
 * `2.0.0-rc.1` (which sorts before 2.0.0) nor `2.1.0-rc.1`. The first
 * matching serializer in the list wins.
 *
 * Returns `{ error: 'invalid' }` when `vsn` is not a string or not
 * `major.minor.patch[-prerelease][+build]`, and `{ error: 'mismatch' }` when
 * it is valid but no serializer accepts it; either way the connect is refused
 * and `message` is the warning to log.
 *
 * @example
 * negotiateSerializer('2.0.0', [v1, v2]); // { serializer: v2 }
 * negotiateSerializer('2.1.0', [v1, v2]); // { error: 'mismatch', message: '…' }
 */
export function negotiateSerializer(vsn: unknown, serializers: readonly Serializer[]): NegotiationResult {
  // Every client of an app sends one of a few versions: the answer is looked up rather than parsed per connection.
  const key = vsn === undefined ? DEFAULT_VSN : vsn;
  let known = negotiated.get(serializers);
  const hit = typeof key === 'string' ? known?.get(key) : undefined;
  if (hit !== undefined) return hit;
  const result = negotiate(vsn, serializers);
  if (typeof key === 'string' && 'serializer' in result) {
    if (known === undefined) negotiated.set(serializers, (known = new Map()));
    // Bounded: clients choose the string, so a flood of distinct (valid) versions only refills it.
    if (known.size >= NEGOTIATED_MAX) known.clear();
    known.set(key, result);
  }
  return result;
}

/** Successful negotiations by serializer list and `vsn`. */
const negotiated = new WeakMap<readonly Serializer[], Map<string, NegotiationResult>>();
const NEGOTIATED_MAX = 32;

function negotiate(vsn: unknown, serializers: readonly Serializer[]): NegotiationResult {
  const requested = vsn === undefined ? DEFAULT_VSN : vsn;
  if (typeof requested !== 'string') {
    // e.g. `?vsn[]=2.0.0`, which the query parser turns into an array.
    return {
      error: 'invalid',
      message: `client sent an invalid transport version: expected a string, got ${typeName(requested)}`,
    };
  }
  const version = parseSemver(requested);
  if (version === undefined) {
    return { error: 'invalid', message: `client sent invalid transport version ${describe(requested, PREVIEW_CHARS)}` };
  }
  for (const serializer of serializers) {
    const supported = parseSemver(serializer.vsn);
    // A serializer whose own vsn is not semver can match nothing; skipping it keeps negotiation total.
    if (supported !== undefined && satisfiesApproximately(version, supported)) {
      return { serializer };
    }
  }
  const requirements = serializers.map((serializer) => `~> ${serializer.vsn}`).join(', ');
  return {
    error: 'mismatch',
    message:
      `the client's requested transport version ${describe(requested, PREVIEW_CHARS)} does not match ` +
      `the server's version requirements (${requirements || 'none'})`,
  };
}

// ── Semantic versions ──────────────────────────────────────────────────────

/**
 * A parsed semver. Numbers stay decimal strings: they are compared by length
 * then digit by digit, which is exact however long they are (semver forbids
 * leading zeros, so the longer string is the larger number).
 */
interface SemVer {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  /**
   * Dot-separated pre-release identifiers, empty for a release. Build
   * metadata is dropped: it never affects precedence.
   */
  readonly pre: readonly string[];
}

const NUMBER = '(?:0|[1-9][0-9]*)';
const PRE_ID = `(?:${NUMBER}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)`;
const BUILD_ID = '[0-9A-Za-z-]+';
/** Semver 2.0.0: `x.y.z`, no leading zeros, optional `-pre.release` and `+build.meta`. */
const SEMVER = new RegExp(
  `^(${NUMBER})\\.(${NUMBER})\\.(${NUMBER})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+${BUILD_ID}(?:\\.${BUILD_ID})*)?$`,
);
const DIGITS = /^[0-9]+$/;

function parseSemver(text: string): SemVer | undefined {
  const match = SEMVER.exec(text);
  if (match === null) return undefined;
  const [, major, minor, patch, pre] = match;
  return { major: major!, minor: minor!, patch: patch!, pre: pre === undefined ? [] : pre.split('.') };
}

/**
 * True when `version` satisfies `~> base`: `>= base` and `< major.(minor+1).0-0`.
 * The upper bound excludes the next minor's pre-releases too, so within the
 * range major and minor equal base's, and only patch and pre-release decide.
 */
function satisfiesApproximately(version: SemVer, base: SemVer): boolean {
  if (version.major !== base.major || version.minor !== base.minor) return false;
  const byPatch = compareNumbers(version.patch, base.patch);
  return byPatch !== 0 ? byPatch > 0 : comparePrerelease(version.pre, base.pre) >= 0;
}

/** Compares decimal strings without leading zeros. */
function compareNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Semver precedence of pre-release identifiers: a release outranks any
 * pre-release; numeric identifiers compare as numbers and rank below
 * alphanumeric ones; otherwise ASCII order; a longer list wins a tie.
 */
function comparePrerelease(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length;
  const shared = Math.min(a.length, b.length);
  for (let i = 0; i < shared; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    const xNumeric = DIGITS.test(x);
    const yNumeric = DIGITS.test(y);
    if (xNumeric && yNumeric) return compareNumbers(x, y);
    if (xNumeric !== yNumeric) return xNumeric ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
