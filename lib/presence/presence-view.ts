/**
 * One node's view of every presence in the cluster: its own entries and the
 * replicas of the other nodes', by topic and key, plus the changes not yet
 * reported as diffs.
 *
 * Changes are recorded per topic and reported in batches: a meta that joins
 * and leaves within one batch (or leaves and joins again: a node re-synced)
 * cancels out, since clients apply a diff's joins before its leaves and would
 * otherwise end up wrong.
 */
import type { PresenceEntry, PresenceMeta, Presences } from './presence.types.js';

/** One tracked presence: `meta.phx_ref` identifies it across the cluster. */
export interface Entry {
  readonly topic: string;
  readonly key: string;
  /** Frozen; carries `phx_ref`. */
  readonly meta: PresenceMeta;
  /** Orders a key's metas the same way on every node: the owner's clock when it was tracked or updated. */
  readonly stamp: number;
}

/** A topic's changes since the last report, by phx_ref. */
export interface TopicChanges {
  readonly joins: Map<string, Entry>;
  readonly leaves: Map<string, Entry>;
}

/** Tracking order: stamp, then ref so that equal stamps from two nodes still sort alike everywhere. */
export function byTrackingOrder(a: Entry, b: Entry): number {
  if (a.stamp !== b.stamp) return a.stamp - b.stamp;
  const ra = a.meta.phx_ref;
  const rb = b.meta.phx_ref;
  return ra < rb ? -1 : ra > rb ? 1 : 0;
}

/** A null-prototype record, so that presence keys such as `__proto__` stay plain keys. */
export function emptyPresences(): Presences {
  return Object.create(null) as Presences;
}

/** Groups entries by key into the `{key: {metas}}` shape, metas in tracking order. */
export function groupEntries(entries: Iterable<Entry>): Presences {
  const byKey = new Map<string, Entry[]>();
  for (const entry of entries) {
    const list = byKey.get(entry.key);
    if (list === undefined) byKey.set(entry.key, [entry]);
    else list.push(entry);
  }
  const out = emptyPresences();
  for (const [key, list] of byKey) {
    if (list.length > 1) list.sort(byTrackingOrder);
    out[key] = { metas: list.map(metaOf) };
  }
  return out;
}

export class PresenceView {
  private readonly topics = new Map<string, Map<string, Entry[]>>();
  private changes = new Map<string, TopicChanges>();
  private count = 0;

  /** How many entries the view holds, every topic and node. */
  get size(): number {
    return this.count;
  }

  /** True when changes wait to be reported. */
  get hasChanges(): boolean {
    return this.changes.size > 0;
  }

  add(entry: Entry): void {
    let keys = this.topics.get(entry.topic);
    if (keys === undefined) {
      keys = new Map();
      this.topics.set(entry.topic, keys);
    }
    const list = keys.get(entry.key);
    if (list === undefined) keys.set(entry.key, [entry]);
    else {
      let at = list.length;
      while (at > 0 && byTrackingOrder(list[at - 1]!, entry) > 0) at--;
      list.splice(at, 0, entry);
    }
    this.count++;
    const changes = this.changesOf(entry.topic);
    const ref = entry.meta.phx_ref;
    // Left and back within one batch (a re-sync): the client never saw it go, so it must not see it come.
    if (!changes.leaves.delete(ref)) changes.joins.set(ref, entry);
  }

  /** Removes the entry (the same object that was added); false when it is not there. */
  remove(entry: Entry): boolean {
    const keys = this.topics.get(entry.topic);
    const list = keys?.get(entry.key);
    if (keys === undefined || list === undefined) return false;
    const at = list.indexOf(entry);
    if (at < 0) return false;
    if (list.length === 1) {
      keys.delete(entry.key);
      if (keys.size === 0) this.topics.delete(entry.topic);
    } else list.splice(at, 1);
    this.count--;
    const changes = this.changesOf(entry.topic);
    const ref = entry.meta.phx_ref;
    if (!changes.joins.delete(ref)) changes.leaves.set(ref, entry);
    return true;
  }

  /** The topic's presences, `{key: {metas}}`, metas in tracking order; fresh objects, frozen metas. */
  list(topic: string): Presences {
    const out = emptyPresences();
    const keys = this.topics.get(topic);
    if (keys === undefined) return out;
    for (const [key, list] of keys) out[key] = { metas: list.map(metaOf) };
    return out;
  }

  /** One key's presence on the topic, or null. */
  get(topic: string, key: string): PresenceEntry | null {
    const list = this.topics.get(topic)?.get(key);
    return list === undefined ? null : { metas: list.map(metaOf) };
  }

  /** Hands over the changes recorded so far and starts a new batch. */
  takeChanges(): Map<string, TopicChanges> {
    const taken = this.changes;
    this.changes = new Map();
    return taken;
  }

  private changesOf(topic: string): TopicChanges {
    let changes = this.changes.get(topic);
    if (changes === undefined) {
      changes = { joins: new Map(), leaves: new Map() };
      this.changes.set(topic, changes);
    }
    return changes;
  }
}

function metaOf(entry: Entry): PresenceMeta {
  return entry.meta;
}
