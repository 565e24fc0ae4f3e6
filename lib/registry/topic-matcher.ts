/**
 * A topic pattern compiled once: an exact topic, or a prefix for patterns
 * ending in `*` (`'room:*'` matches `'room:'` and `'room:1'`, not `'room'`;
 * `'*'` matches everything).
 */
export interface TopicPattern {
  readonly pattern: string;
  /** The exact topic, or the prefix before `*`. */
  readonly text: string;
  readonly isPrefix: boolean;
}

/** Returns the compiled pattern, or a sentence saying what is wrong with it. */
export function compileTopicPattern(pattern: string): TopicPattern | string {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    return 'the topic pattern must be a non-empty string';
  }
  const star = pattern.indexOf('*');
  if (star === -1) return { pattern, text: pattern, isPrefix: false };
  if (star !== pattern.length - 1) {
    return `'*' may only end a topic pattern, as in 'room:*'; got '${pattern}'`;
  }
  return { pattern, text: pattern.slice(0, -1), isPrefix: true };
}

/** True when the topic matches the pattern. */
export function matchesTopic(pattern: TopicPattern, topic: string): boolean {
  return pattern.isPrefix ? topic.startsWith(pattern.text) : topic === pattern.text;
}
