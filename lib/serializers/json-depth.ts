/**
 * The nesting limit on client JSON. `JSON.parse` accepts any depth, but
 * everything that later walks the value recursively (`JSON.stringify` when
 * a handler pushes or broadcasts it, user code, loggers) overflows the stack
 * at a few thousand levels. So the text is checked before it is parsed,
 * without recursion or allocation, stopping at the first level too deep.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * True when the JSON `text` nests arrays and objects more than `maxDepth`
 * levels deep (`[]` and `{}` are one level, `[{}]` two). Brackets inside
 * strings do not count. `bytes`, when given, is the same text as UTF-8 (the
 * frame as ws received it). The text need not be valid JSON: on invalid text
 * the answer is only a bound, and `JSON.parse` rejects the text anyway.
 *
 * Most frames have fewer opening brackets than `maxDepth`, which is enough
 * to say they are not too deep: counting them with `indexOf` (vectorised by
 * V8) costs a few tens of ns on a typical frame. Only a frame with more
 * brackets than that is scanned byte by byte.
 */
export function nestsDeeperThan(text: string, bytes: Buffer | null, maxDepth: number): boolean {
  if (text.length <= maxDepth || !opensMoreThan(text, maxDepth)) return false;
  // Indexing bytes is about twice as fast as charCodeAt; a text without its bytes is rare (not from ws).
  return bytesNestDeeper(bytes ?? Buffer.from(text, 'utf8'), maxDepth);
}

/** True when `text` holds more than `limit` opening brackets, inside strings or not (an upper bound of the depth). */
function opensMoreThan(text: string, limit: number): boolean {
  let count = 0;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++count > limit) return true;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++count > limit) return true;
  return false;
}

/**
 * The exact scan, on UTF-8: every byte of a multi-byte character is 0x80 or
 * above, so it never looks like a bracket, a quote or a backslash.
 */
function bytesNestDeeper(bytes: Buffer, maxDepth: number): boolean {
  const length = bytes.length;
  let depth = 0;
  for (let i = 0; i < length; i++) {
    const c = bytes[i];
    if (c === QUOTE) {
      // Skip the string; a backslash escapes the byte after it.
      for (i++; i < length; i++) {
        const k = bytes[i];
        if (k === QUOTE) break;
        if (k === BACKSLASH) i++;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return false;
}
