import type { ChannelDefinition } from './channel-definition.js';
import { matchesTopic } from './topic-matcher.js';

/**
 * The channels one mount serves, frozen after bootstrap. `match` is a map hit
 * for exact topics, then the prefixes, longest first (or in the mount's
 * declared order when it lists its channels).
 */
export class ChannelRegistry {
  private readonly exact = new Map<string, ChannelDefinition>();
  private readonly prefixes: ChannelDefinition[] = [];
  /** With a declared order, every definition is tried in that order and `exact` stays empty. */
  private readonly ordered: readonly ChannelDefinition[] | null;

  /** The patterns served, comma-separated, for log lines: `'room:*, admin'`. */
  readonly patterns: string;

  constructor(definitions: readonly ChannelDefinition[], declaredOrder: boolean) {
    this.patterns = definitions.map((definition) => definition.topic.pattern).join(', ');
    this.ordered = declaredOrder ? Object.freeze([...definitions]) : null;
    if (declaredOrder) return;
    for (const definition of definitions) {
      if (definition.topic.isPrefix) this.prefixes.push(definition);
      else if (!this.exact.has(definition.topic.text)) this.exact.set(definition.topic.text, definition);
    }
    this.prefixes.sort((a, b) => b.topic.text.length - a.topic.text.length);
  }

  match(topic: string): ChannelDefinition | undefined {
    if (this.ordered !== null) {
      for (const definition of this.ordered) {
        if (matchesTopic(definition.topic, topic)) return definition;
      }
      return undefined;
    }
    const exact = this.exact.get(topic);
    if (exact !== undefined) return exact;
    for (const definition of this.prefixes) {
      if (topic.startsWith(definition.topic.text)) return definition;
    }
    return undefined;
  }

  get size(): number {
    return this.ordered?.length ?? this.exact.size + this.prefixes.length;
  }
}
