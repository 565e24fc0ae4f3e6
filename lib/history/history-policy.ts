import type { ChannelDefinition } from '../registry/channel-definition.js';
import { ChannelRegistry } from '../registry/channel.registry.js';
import type { HistoryPolicy } from './history.types.js';

/**
 * The app's history policy from its channel classes: a topic keeps history
 * when the channel that would serve it (exact topic first, then the longest
 * prefix) asks for it. The library's own topics (`phx_…`, `phx:…`) never do.
 * Null when no channel asks for history, so a PubSub pays nothing for it.
 */
export function historyPolicy(definitions: readonly ChannelDefinition[]): HistoryPolicy | null {
  if (!definitions.some((definition) => definition.history !== null)) return null;
  const registry = new ChannelRegistry(definitions, false);
  return (topic) => {
    if (topic.startsWith('phx_') || topic.startsWith('phx:')) return null;
    return registry.match(topic)?.history ?? null;
  };
}
