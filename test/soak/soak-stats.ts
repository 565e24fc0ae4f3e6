/**
 * What the soak app reports about itself (see soak-app.ts): memory, problems,
 * the built-in prototypes, and the library's bookkeeping: live connections,
 * the PubSub's subscriptions, Presence's entries, timers, handles and
 * listeners. A leak shows as one of these not returning to its baseline.
 *
 * The bookkeeping is private state of the library's classes; it is read
 * here, in one place, through casts, because a count of subscribers is the
 * one thing that proves "nothing left behind" and no public API offers it.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { ChannelsHost } from '../../lib/channels.host.js';
import type { LocalSubscriptions, PubSub } from '../../lib/index.js';
import { liveTimerSites, liveTimers } from './timer-census.js';

export interface SoakInternals {
  /** Live connections over every mount. */
  connections: number;
  /** The PubSub's local subscriptions: topics with a subscriber, and subscribers over all topics. */
  subscriptions: { topics: number; subscribers: number; sample: string[] };
  /** RedisPubSub only: SUBSCRIBEs in flight, and `onConnectionChange` listeners. */
  redis: { pending: number; connectionListeners: number } | null;
  /** Presence: own entries, channels holding entries, topics held, topics in the view of every node. */
  presence: { own: number; channels: number; topics: number; viewTopics: number };
  /** `process.getActiveResourcesInfo()` by kind (Timeout, TCPSocketWrap, ...): what keeps the event loop alive. */
  resources: Record<string, number>;
  /** Live timers, unref'd ones included (see timer-census.ts). */
  timers: number;
  /** With SOAK_TIMER_SITES set in the app's environment: live timers by where they were set. */
  timerSites: Record<string, number>;
  /** Listeners on the process and on the HTTP server, by event name. */
  listeners: { process: Record<string, number>; httpServer: Record<string, number> };
}

export interface SoakStats extends SoakInternals {
  pid: number;
  uptimeMs: number;
  /** Unhandled rejections plus uncaught exceptions since start. */
  problemCount: number;
  /** The first 20 of them. */
  problems: string[];
  /** Own properties of Object.prototype, Array.prototype and Function.prototype added, removed or changed since start. */
  prototypes: string[];
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  /** Used bytes of each V8 heap space (old_space, code_space, ...), to tell a leak from code the JIT added. */
  heapSpaces: Record<string, number>;
  /** RSS by kind of mapping (Linux): malloc's main arena (`[heap]`), anonymous (V8's heap, other arenas), files (code). */
  rssBy: { mallocHeap: number; anonymous: number; files: number } | null;
  /** True when the figures were taken after a forced full GC. */
  gc: boolean;
  /** warn and error lines logged since start. */
  logs: Record<string, number>;
  /** CPU time of the app process so far, microseconds. */
  cpuUs: number;
}

const WATCHED = { Object: Object.prototype, Array: Array.prototype, Function: Function.prototype } as const;

export interface PrototypeSnapshot {
  /** What changed from `before`, one line per property; empty when untouched. */
  diff(before: PrototypeSnapshot): string[];
  readonly properties: ReadonlyMap<string, PropertyDescriptor>;
}

/** Every own property (names and symbols) of the watched prototypes, with its descriptor. */
export function snapshotPrototypes(): PrototypeSnapshot {
  const properties = new Map<string, PropertyDescriptor>();
  for (const [name, proto] of Object.entries(WATCHED)) {
    for (const key of Reflect.ownKeys(proto)) {
      properties.set(`${name}.prototype[${String(key)}]`, Object.getOwnPropertyDescriptor(proto, key)!);
    }
  }
  // A polluted prototype also shows as an enumerable inherited key of a fresh object.
  const inherited: string[] = [];
  for (const key in {}) inherited.push(key);
  if (inherited.length > 0) properties.set('for-in over {}', { value: inherited.join(',') });
  return {
    properties,
    diff(before) {
      const changes: string[] = [];
      for (const [key, descriptor] of properties) {
        const was = before.properties.get(key);
        if (was === undefined) changes.push(`added ${key}`);
        else if (!sameDescriptor(was, descriptor)) changes.push(`changed ${key}`);
      }
      for (const key of before.properties.keys()) if (!properties.has(key)) changes.push(`removed ${key}`);
      return changes;
    },
  };
}

function sameDescriptor(a: PropertyDescriptor, b: PropertyDescriptor): boolean {
  return a.value === b.value && a.get === b.get && a.set === b.set && a.writable === b.writable && a.enumerable === b.enumerable && a.configurable === b.configurable;
}

interface PubSubInternals {
  subscriptions?: LocalSubscriptions;
  pending?: Map<string, unknown>;
  connectionListeners?: Set<unknown>;
}

interface TrackerInternals {
  own: Map<unknown, unknown>;
  byChannel: Map<unknown, unknown>;
  byTopic: Map<unknown, unknown>;
  view: { topics: Map<unknown, unknown> };
}

/** RSS split by kind of mapping, from /proc/self/smaps; null where there is none. */
export function rssByMapping(): SoakStats['rssBy'] {
  let text: string;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    // Not Linux (no /proc): the split is only a diagnostic.
    return null;
  }
  const split = { mallocHeap: 0, anonymous: 0, files: 0 };
  let kind: keyof typeof split = 'anonymous';
  for (const line of text.split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping !== null) {
      const name = mapping[1]!;
      kind = name === '[heap]' ? 'mallocHeap' : name.startsWith('/') ? 'files' : 'anonymous';
    } else if (line.startsWith('Rss:')) split[kind] += Number(line.split(/\s+/)[1]) * 1024;
  }
  return split;
}

export function readInternals(host: ChannelsHost, pubsub: PubSub, server: Server): SoakInternals {
  let connections = 0;
  for (const mount of host.mounts) connections += mount.connections.size;

  const inner = pubsub as unknown as PubSubInternals;
  const subscriptions = { topics: 0, subscribers: 0, sample: [] as string[] };
  if (inner.subscriptions !== undefined) {
    for (const topic of inner.subscriptions.topics()) {
      subscriptions.topics++;
      subscriptions.subscribers += inner.subscriptions.count(topic);
      if (subscriptions.sample.length < 10) subscriptions.sample.push(topic.slice(0, 80));
    }
  }
  const redis =
    inner.pending !== undefined && inner.connectionListeners !== undefined
      ? { pending: inner.pending.size, connectionListeners: inner.connectionListeners.size }
      : null;

  const tracker = host.presence as unknown as TrackerInternals;
  const presence = {
    own: tracker.own.size,
    channels: tracker.byChannel.size,
    topics: tracker.byTopic.size,
    viewTopics: tracker.view.topics.size,
  };

  const resources: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) resources[kind] = (resources[kind] ?? 0) + 1;

  return { connections, subscriptions, redis, presence, resources, timers: liveTimers(), timerSites: liveTimerSites(), listeners: { process: listenerCounts(process), httpServer: listenerCounts(server) } };
}

function listenerCounts(emitter: NodeJS.EventEmitter): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of emitter.eventNames()) counts[String(name)] = emitter.listenerCount(name);
  return counts;
}

/**
 * What a leak check compares: every count that must return to its baseline
 * once the clients are gone. Returns one line per count that did not.
 */
export function leftBehind(baseline: SoakStats, after: SoakStats): string[] {
  const lines: string[] = [];
  if (after.connections !== 0) lines.push(`${after.connections} connections still open`);
  if (after.subscriptions.subscribers !== baseline.subscriptions.subscribers) {
    lines.push(
      `PubSub subscribers ${baseline.subscriptions.subscribers} → ${after.subscriptions.subscribers} on ${after.subscriptions.topics} topics (e.g. ${after.subscriptions.sample.join(', ')})`,
    );
  }
  if (after.redis !== null && baseline.redis !== null) {
    if (after.redis.pending !== 0) lines.push(`${after.redis.pending} SUBSCRIBEs still pending`);
    if (after.redis.connectionListeners !== baseline.redis.connectionListeners) {
      lines.push(`RedisPubSub connection listeners ${baseline.redis.connectionListeners} → ${after.redis.connectionListeners}`);
    }
  }
  for (const key of ['own', 'channels', 'topics', 'viewTopics'] as const) {
    if (after.presence[key] !== baseline.presence[key]) lines.push(`Presence ${key} ${baseline.presence[key]} → ${after.presence[key]}`);
  }
  for (const kind of new Set([...Object.keys(baseline.resources), ...Object.keys(after.resources)])) {
    const was = baseline.resources[kind] ?? 0;
    const now = after.resources[kind] ?? 0;
    if (now > was) lines.push(`active ${kind} ${was} → ${now}`);
  }
  if (after.timers > baseline.timers) {
    const sites = Object.entries(after.timerSites).map(([site, n]) => `${n}× ${site}`);
    lines.push(`live timers ${baseline.timers} → ${after.timers}${sites.length > 0 ? ` (${sites.join('; ')})` : ''}`);
  }
  for (const where of ['process', 'httpServer'] as const) {
    const before = baseline.listeners[where];
    const now = after.listeners[where];
    for (const event of new Set([...Object.keys(before), ...Object.keys(now)])) {
      if ((now[event] ?? 0) > (before[event] ?? 0)) lines.push(`${where} '${event}' listeners ${before[event] ?? 0} → ${now[event]}`);
    }
  }
  return lines;
}
