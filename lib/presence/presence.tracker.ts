/**
 * The presence tracker: one per app, behind the injectable `Presence`.
 *
 * How a presence travels: `track` stores the entry in this node's own set
 * and in its view (presence-view.ts), which records a join for the topic.
 * At the end of the tick the view's changes go out as one `presence_diff`
 * per topic, through `fetch` if the app gave one, to this node's subscribers
 * only (`localBroadcast`), and to the `Presence.subscribe` observers. The
 * change is also queued as an op; every `broadcastPeriod` the queued ops go
 * to the other nodes as one numbered delta on the PubSub (presence-wire.ts).
 * Each other node applies it to its replica of this node's entries and its
 * view records the same joins and leaves, which it reports to its own
 * subscribers the same way. So every node computes diffs itself, and each
 * client sees one diff per change.
 *
 * Why this holds across nodes without consensus: each node is the only
 * writer of its own entries (an entry lives on the node of the channel or
 * the caller that tracked it), so replicas never conflict; a node's deltas
 * are numbered, and a receiver that sees a gap (a lost message, a restart, a
 * reconnect) asks that node for its whole state instead of guessing. A node
 * never passes on another node's entries, so a dead node's entries cannot
 * come back through a third one.
 *
 * Failure detection: every node heartbeats every `heartbeatPeriod`. A node
 * silent for `downPeriod` is taken for dead and its entries leave; a new
 * instance speaking under a known node name replaces the old instance at
 * once (its entries leave, and messages from the old one are ignored from
 * then on); a node shutting down says `bye`. While this node's own PubSub is
 * disconnected it declares nobody dead; when it is back it gives everyone a
 * fresh grace period and asks everyone for their state, and the others learn
 * from its sequence number whether they missed any of its deltas.
 */
import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { ChannelServer } from '../channel/channel-server.js';
import { ChannelsError, ERROR_CODE } from '../errors/errors.js';
import type { FastlaneCache } from '../pubsub/fastlane.js';
import type { PubSub } from '../pubsub/pubsub.js';
import type { Subscriber } from '../pubsub/subscriber.interface.js';
import { matchesTopic, type TopicPattern } from '../registry/topic-matcher.js';
import type { Broadcast } from '../serializers/message.js';
import { resolvePresenceOptions } from './presence-options.js';
import { groupEntries, PresenceView, type Entry } from './presence-view.js';
import {
  instanceTopic,
  joinOp,
  leaveOp,
  MAX_OPS_PER_MESSAGE,
  PEER_EVENT,
  PeerMessageError,
  PRESENCE_TOPIC,
  readHeader,
  readOps,
  readStatePart,
  wireEntry,
  type Op,
  type PeerHeader,
  type StatePart,
  type WireEntry,
} from './presence-wire.js';
import { PRESENCE_MESSAGES } from './presence.messages.js';
import type {
  PresenceChange,
  PresenceEntry,
  PresenceFetch,
  PresenceMeta,
  Presences,
  ResolvedPresenceOptions,
} from './presence.types.js';

/** The event of the broadcast that carries a presence diff to clients (P-78). */
export const PRESENCE_DIFF_EVENT = 'presence_diff';

/** Instance ids of replaced nodes remembered (their late messages are ignored). */
const MAX_RETIRED = 1024;

/** Another node, as this node knows it: its entries and how far its deltas have been applied. */
interface Peer {
  readonly node: string;
  readonly id: string;
  /** The last delta applied. */
  seq: number;
  entries: Map<string, Entry>;
  lastSeen: number;
  /** False while its entries are not known to be complete (a gap): deltas wait for its state. */
  synced: boolean;
  /** When its state was last asked for. */
  requestedAt: number;
  /** A state arriving in parts. */
  partial: { seq: number; next: number; entries: WireEntry[] } | null;
}

interface Observer {
  readonly pattern: TopicPattern;
  readonly listener: (change: PresenceChange) => unknown;
}

interface PendingDiff {
  readonly topic: string;
  joins: Presences;
  leaves: Presences;
  readonly presences: Presences | null;
}

/** Who holds an entry on this node: a channel (`track(socket, …)`) or the topic itself (`track(topic, …)`). */
export type Holder = ChannelServer | string;

export class PresenceTracker implements Subscriber {
  private readonly logger = new Logger('Presence');
  /** This instance: a node that restarts under the same name is a new instance. */
  readonly id = randomBytes(8).toString('hex');
  private options: ResolvedPresenceOptions = resolvePresenceOptions();
  private pubsub: PubSub | null = null;
  private node = '';
  private running = false;

  private readonly view = new PresenceView();
  /** This node's own entries, by phx_ref. */
  private readonly own = new Map<string, Entry>();
  private readonly byChannel = new Map<ChannelServer, Map<string, Entry>>();
  private readonly byTopic = new Map<string, Map<string, Entry>>();

  private seq = 0;
  private pendingOps = new Map<string, Op>();
  private opsTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private unlistenConnection: (() => void) | null = null;

  private readonly peers = new Map<string, Peer>();
  private readonly retired = new Set<string>();
  private readonly warnedRetired = new Set<string>();
  private badMessageLogged = false;

  private diffScheduled = false;
  private fetching = false;
  private observers: Observer[] = [];

  private readonly refBytes = Buffer.alloc(12);
  private refCounter = 0;
  private stampCounter = 0;

  constructor() {
    randomBytes(3).copy(this.refBytes, 6);
  }

  // ── Lifecycle ────────────────────────────────────────────────────────────

  /** Subscribes to the presence topics, starts heartbeating and asks the other nodes for their state. */
  async start(pubsub: PubSub, options: ResolvedPresenceOptions): Promise<void> {
    if (this.running) return;
    this.pubsub = pubsub;
    this.options = options;
    this.node = pubsub.node;
    this.running = true;
    this.unlistenConnection = pubsub.onConnectionChange(this.onConnectionChange);
    await Promise.all([pubsub.subscribe(PRESENCE_TOPIC, this), pubsub.subscribe(instanceTopic(this.id), this)]);
    this.heartbeatTimer = setInterval(this.onHeartbeat, options.heartbeatPeriodMs);
    this.heartbeatTimer.unref();
    this.publish(PRESENCE_TOPIC, PEER_EVENT.sync, this.header());
  }

  /** Sends what is queued and a `bye` (the other nodes drop this node's entries at once), then leaves the PubSub. */
  async stop(): Promise<void> {
    if (!this.running) return;
    const pubsub = this.pubsub!;
    this.flushOps();
    this.publish(PRESENCE_TOPIC, PEER_EVENT.bye, { n: this.node, i: this.id });
    this.running = false;
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    if (this.opsTimer !== null) clearTimeout(this.opsTimer);
    this.heartbeatTimer = null;
    this.opsTimer = null;
    this.unlistenConnection?.();
    this.unlistenConnection = null;
    await Promise.all([pubsub.unsubscribe(PRESENCE_TOPIC, this), pubsub.unsubscribe(instanceTopic(this.id), this)]);
  }

  // ── Local operations (the Presence facade checks arguments first) ────────

  /** Tracks `key` on `topic` for `holder`; returns the new phx_ref. Throws a coded ChannelsError. */
  track(holder: Holder, topic: string, key: string, meta: Record<string, unknown>): string {
    this.assertRunning();
    let held = this.heldBy(holder);
    if (held?.has(key)) {
      throw new ChannelsError(ERROR_CODE.alreadyTracked, PRESENCE_MESSAGES.alreadyTracked(topic, key, describeHolder(holder)));
    }
    if (held === undefined) held = this.startHolding(holder, topic);
    const ref = this.nextRef();
    const entry: Entry = { topic, key, meta: Object.freeze({ ...meta, phx_ref: ref }), stamp: this.nextStamp() };
    held.set(key, entry);
    this.own.set(ref, entry);
    this.view.add(entry);
    this.queueOp(ref, joinOp(entry));
    this.scheduleDiffs();
    return ref;
  }

  /**
   * Replaces the meta of `key` (a function gets the current meta); the new
   * meta gets a new phx_ref and `phx_ref_prev` (P-80). Returns the new ref.
   */
  update(holder: Holder, topic: string, key: string, next: (current: PresenceMeta) => Record<string, unknown>): string {
    this.assertRunning();
    const held = this.heldBy(holder);
    const current = held?.get(key);
    if (held === undefined || current === undefined) {
      throw new ChannelsError(ERROR_CODE.noPresence, PRESENCE_MESSAGES.noPresence('update', topic, key, describeHolder(holder)));
    }
    const meta = next(current.meta);
    const ref = this.nextRef();
    const entry: Entry = {
      topic,
      key,
      meta: Object.freeze({ ...meta, phx_ref: ref, phx_ref_prev: current.meta.phx_ref }),
      stamp: this.nextStamp(),
    };
    held.set(key, entry);
    this.own.delete(current.meta.phx_ref);
    this.own.set(ref, entry);
    this.view.remove(current);
    this.view.add(entry);
    this.queueOp(current.meta.phx_ref, leaveOp(current.meta.phx_ref));
    this.queueOp(ref, joinOp(entry));
    this.scheduleDiffs();
    return ref;
  }

  /** Stops tracking `key` for `holder`. */
  untrack(holder: Holder, topic: string, key: string): void {
    this.assertRunning();
    const held = this.heldBy(holder);
    const entry = held?.get(key);
    if (held === undefined || entry === undefined) {
      throw new ChannelsError(ERROR_CODE.noPresence, PRESENCE_MESSAGES.noPresence('untrack', topic, key, describeHolder(holder)));
    }
    held.delete(key);
    // A channel's map stays until the channel ends: its end callback is registered once.
    if (typeof holder === 'string' && held.size === 0) this.byTopic.delete(holder);
    this.forget(entry);
    this.scheduleDiffs();
  }

  /** The topic's presences as this node sees them, without `fetch`. */
  list(topic: string): Presences {
    return this.view.list(topic);
  }

  /** One key's presence, without `fetch`; null when absent. */
  get(topic: string, key: string): PresenceEntry | null {
    return this.view.get(topic, key);
  }

  /** Applies the app's `fetch` hook, if any. */
  fetch(topic: string, presences: Presences): Presences | Promise<Presences> {
    const fetch = this.options.fetch;
    return fetch === null ? presences : fetch(topic, presences);
  }

  /** Calls `listener` after each diff of a topic matching `pattern`; returns the function that stops it. */
  subscribe(pattern: TopicPattern, listener: (change: PresenceChange) => unknown): () => void {
    const observer: Observer = { pattern, listener };
    this.observers = [...this.observers, observer];
    return () => {
      this.observers = this.observers.filter((o) => o !== observer);
    };
  }

  private assertRunning(): void {
    if (!this.running) throw new ChannelsError(ERROR_CODE.closed, PRESENCE_MESSAGES.notStarted());
  }

  private heldBy(holder: Holder): Map<string, Entry> | undefined {
    return typeof holder === 'string' ? this.byTopic.get(holder) : this.byChannel.get(holder);
  }

  private startHolding(holder: Holder, topic: string): Map<string, Entry> {
    const held = new Map<string, Entry>();
    if (typeof holder === 'string') this.byTopic.set(holder, held);
    else {
      if (!holder.onEnd(this.onChannelEnd)) {
        throw new ChannelsError(ERROR_CODE.closed, PRESENCE_MESSAGES.channelEnded('track', topic));
      }
      this.byChannel.set(holder, held);
    }
    return held;
  }

  /** The channel ended, however: all its presences leave in one diff (P-59, P-79). */
  private readonly onChannelEnd = (channel: ChannelServer): void => {
    const held = this.byChannel.get(channel);
    if (held === undefined) return;
    this.byChannel.delete(channel);
    for (const entry of held.values()) this.forget(entry);
    this.scheduleDiffs();
  };

  private forget(entry: Entry): void {
    const ref = entry.meta.phx_ref;
    this.own.delete(ref);
    this.view.remove(entry);
    this.queueOp(ref, leaveOp(ref));
  }

  /** 12 bytes: milliseconds (6), this instance's random bytes (3), a counter (3); 16 characters of URL-safe base64. */
  private nextRef(): string {
    const bytes = this.refBytes;
    bytes.writeUIntBE(Date.now(), 0, 6);
    bytes.writeUIntBE(this.refCounter, 9, 3);
    this.refCounter = (this.refCounter + 1) & 0xffffff;
    return bytes.toString('base64url');
  }

  /** Milliseconds × 1024 plus a counter: increasing on this node, comparable across nodes. */
  private nextStamp(): number {
    this.stampCounter = (this.stampCounter + 1) & 1023;
    return Date.now() * 1024 + this.stampCounter;
  }

  // ── Diffs to this node's subscribers and observers ───────────────────────

  private scheduleDiffs(): void {
    if (this.diffScheduled || this.fetching) return;
    this.diffScheduled = true;
    setImmediate(this.flushDiffs);
  }

  /**
   * One diff per changed topic. With a `fetch` hook, one batch is fetched at
   * a time and changes made meanwhile wait (and merge) for the next one, so
   * diffs go out in the order the changes happened and the backlog is at
   * most one batch.
   */
  private readonly flushDiffs = (): void => {
    this.diffScheduled = false;
    if (this.fetching || !this.view.hasChanges) return;
    const batch: PendingDiff[] = [];
    for (const [topic, changes] of this.view.takeChanges()) {
      if (changes.joins.size === 0 && changes.leaves.size === 0) continue;
      batch.push({
        topic,
        joins: groupEntries(changes.joins.values()),
        leaves: groupEntries(changes.leaves.values()),
        presences: this.isObserved(topic) ? this.view.list(topic) : null,
      });
    }
    const fetch = this.options.fetch;
    if (fetch === null) {
      for (const diff of batch) this.dispatch(diff);
      return;
    }
    this.fetching = true;
    Promise.all(batch.map((diff) => this.fetchDiff(fetch, diff))).then(
      () => {
        for (const diff of batch) this.dispatch(diff);
        this.fetched();
      },
      (error: unknown) => {
        // fetchDiff never rejects; this only guards the promise the library created.
        this.logger.error(PRESENCE_MESSAGES.fetchFailed('a batch', error));
        this.fetched();
      },
    );
  };

  private fetched(): void {
    this.fetching = false;
    if (this.view.hasChanges) this.scheduleDiffs();
  }

  private async fetchDiff(fetch: PresenceFetch, diff: PendingDiff): Promise<void> {
    try {
      const [joins, leaves] = await Promise.all([
        isEmpty(diff.joins) ? diff.joins : fetch(diff.topic, diff.joins),
        isEmpty(diff.leaves) ? diff.leaves : fetch(diff.topic, diff.leaves),
      ]);
      if (!isPresences(joins) || !isPresences(leaves)) throw new TypeError(PRESENCE_MESSAGES.fetchReturned(isPresences(joins) ? leaves : joins));
      diff.joins = joins;
      diff.leaves = leaves;
    } catch (error) {
      this.logger.error(PRESENCE_MESSAGES.fetchFailed(diff.topic, error));
    }
  }

  private dispatch(diff: PendingDiff): void {
    const payload = { joins: diff.joins, leaves: diff.leaves };
    if (this.pubsub !== null) {
      this.pubsub.localBroadcast(diff.topic, PRESENCE_DIFF_EVENT, payload).catch((error: unknown) => {
        this.logger.warn(PRESENCE_MESSAGES.diffNotDelivered(diff.topic, error));
      });
    }
    if (diff.presences === null) return;
    const change: PresenceChange = { topic: diff.topic, joins: diff.joins, leaves: diff.leaves, presences: diff.presences };
    for (const observer of this.observers) {
      if (!matchesTopic(observer.pattern, diff.topic)) continue;
      try {
        const result = observer.listener(change);
        if (isThenable(result)) {
          result.then(undefined, (error: unknown) => this.logger.error(PRESENCE_MESSAGES.listenerThrew(diff.topic, error)));
        }
      } catch (error) {
        this.logger.error(PRESENCE_MESSAGES.listenerThrew(diff.topic, error));
      }
    }
  }

  private isObserved(topic: string): boolean {
    for (const observer of this.observers) if (matchesTopic(observer.pattern, topic)) return true;
    return false;
  }

  // ── To the other nodes ───────────────────────────────────────────────────

  private header(): PeerHeader {
    return { n: this.node, i: this.id, s: this.seq };
  }

  /** Queues an op for the next delta; a join and a leave of one ref within a period cancel out. */
  private queueOp(ref: string, op: Op): void {
    // Stopped: the other nodes heard this node's goodbye already.
    if (!this.running) return;
    if (op[0] === 0 && this.pendingOps.get(ref)?.[0] === 1) this.pendingOps.delete(ref);
    else this.pendingOps.set(ref, op);
    if (this.opsTimer === null) {
      this.opsTimer = setTimeout(this.flushOps, this.options.broadcastPeriodMs);
      this.opsTimer.unref();
    }
  }

  /** Sends the queued ops as numbered deltas (even when the PubSub is down: the others see the gap and ask). */
  private readonly flushOps = (): void => {
    if (this.opsTimer !== null) clearTimeout(this.opsTimer);
    this.opsTimer = null;
    if (this.pendingOps.size === 0 || !this.running) return;
    const ops = [...this.pendingOps.values()];
    this.pendingOps = new Map();
    for (let at = 0; at < ops.length; at += MAX_OPS_PER_MESSAGE) {
      this.seq++;
      this.publish(PRESENCE_TOPIC, PEER_EVENT.delta, { ...this.header(), o: ops.slice(at, at + MAX_OPS_PER_MESSAGE) });
    }
  };

  /** This node's own entries, to instance `to`, in parts, as of the delta just sent. */
  private sendState(to: string): void {
    this.flushOps();
    const entries: WireEntry[] = [];
    for (const entry of this.own.values()) entries.push(wireEntry(entry));
    const topic = instanceTopic(to);
    let part = 0;
    for (let at = 0; at === 0 || at < entries.length; at += MAX_OPS_PER_MESSAGE) {
      const e = entries.slice(at, at + MAX_OPS_PER_MESSAGE);
      this.publish(topic, PEER_EVENT.state, { ...this.header(), p: part++, l: at + MAX_OPS_PER_MESSAGE >= entries.length, e });
    }
  }

  private publish(topic: string, event: string, payload: object): void {
    const pubsub = this.pubsub;
    if (pubsub === null) return;
    let sent: Promise<void>;
    try {
      sent = pubsub.broadcast(topic, event, payload, this);
    } catch (error) {
      sent = Promise.reject(error);
    }
    // Down or failing: the other nodes see the gap in seq (or the silence) and repair it.
    sent.catch((error: unknown) => this.logger.debug(PRESENCE_MESSAGES.publishFailed(event, error)));
  }

  private readonly onHeartbeat = (): void => {
    const pubsub = this.pubsub;
    if (pubsub === null || !this.running || !pubsub.isConnected) return;
    this.publish(PRESENCE_TOPIC, PEER_EVENT.heartbeat, this.header());
    const now = performance.now();
    for (const peer of [...this.peers.values()]) {
      const silentMs = now - peer.lastSeen;
      if (silentMs < this.options.downPeriodMs) continue;
      this.logger.warn(PRESENCE_MESSAGES.peerDown(peer.node, Math.round(silentMs), peer.entries.size));
      this.peers.delete(peer.node);
      this.dropEntries(peer);
    }
  };

  private readonly onConnectionChange = (connected: boolean): void => {
    if (!connected || !this.running) return;
    // Back from our own outage: nobody was heard meanwhile, so nobody is judged on that silence.
    const now = performance.now();
    for (const peer of this.peers.values()) peer.lastSeen = now;
    this.flushOps();
    this.publish(PRESENCE_TOPIC, PEER_EVENT.sync, this.header());
  };

  // ── From the other nodes ─────────────────────────────────────────────────

  deliver(broadcast: Broadcast, _fastlane: FastlaneCache): void {
    if (!this.running) return;
    const payload = broadcast.payload as Record<string, unknown>;
    try {
      const header = readHeader(payload);
      if (header.i === this.id) return;
      // The whole message is checked before anything changes: a malformed one changes nothing.
      const event = broadcast.event;
      const ops = event === PEER_EVENT.delta ? readOps(payload) : null;
      const part = event === PEER_EVENT.state ? readStatePart(payload) : null;
      if (ops === null && part === null && event !== PEER_EVENT.heartbeat && event !== PEER_EVENT.sync && event !== PEER_EVENT.bye) {
        throw new PeerMessageError('an unknown event');
      }
      const peer = this.peerFor(header, event);
      if (peer === null) return;
      peer.lastSeen = performance.now();
      if (ops !== null) this.onDelta(peer, header.s, ops);
      else if (part !== null) this.onStatePart(peer, header.s, part);
      else if (event === PEER_EVENT.bye) {
        this.logger.log(PRESENCE_MESSAGES.peerLeft(peer.node, peer.entries.size));
        this.retire(peer);
      } else {
        if (!peer.synced || header.s > peer.seq) this.requestState(peer);
        if (event === PEER_EVENT.sync) this.sendState(header.i);
      }
    } catch (error) {
      if (!(error instanceof PeerMessageError)) throw error;
      const text = PRESENCE_MESSAGES.badPeerMessage(broadcast.event, error.message);
      if (this.badMessageLogged) this.logger.debug(text);
      else {
        this.badMessageLogged = true;
        this.logger.warn(text);
      }
    }
  }

  /** The peer a message comes from, created on its first word; null when it comes from a replaced instance. */
  private peerFor(header: PeerHeader, event: string): Peer | null {
    if (this.retired.has(header.i)) {
      if (event !== PEER_EVENT.bye && !this.warnedRetired.has(header.i)) {
        if (this.warnedRetired.size >= MAX_RETIRED) this.warnedRetired.clear();
        this.warnedRetired.add(header.i);
        this.logger.warn(PRESENCE_MESSAGES.retiredSpeaks(header.n));
      }
      return null;
    }
    let peer = this.peers.get(header.n);
    if (peer !== undefined && peer.id !== header.i) {
      // The node restarted (or another one took its name): the old instance's entries are stale.
      this.logger.log(PRESENCE_MESSAGES.peerReplaced(peer.node, peer.entries.size));
      this.retire(peer);
      peer = undefined;
    }
    if (peer === undefined) {
      peer = { node: header.n, id: header.i, seq: 0, entries: new Map(), lastSeen: 0, synced: true, requestedAt: -Infinity, partial: null };
      this.peers.set(header.n, peer);
    }
    return peer;
  }

  private retire(peer: Peer): void {
    if (this.peers.get(peer.node) === peer) this.peers.delete(peer.node);
    this.retired.add(peer.id);
    if (this.retired.size > MAX_RETIRED) this.retired.delete(this.retired.values().next().value!);
    this.dropEntries(peer);
  }

  private dropEntries(peer: Peer): void {
    for (const entry of peer.entries.values()) this.view.remove(entry);
    peer.entries = new Map();
    peer.synced = false;
    this.scheduleDiffs();
  }

  private onDelta(peer: Peer, seq: number, ops: Op[]): void {
    if (seq <= peer.seq) return;
    if (!peer.synced || seq !== peer.seq + 1) {
      peer.synced = false;
      this.requestState(peer);
      return;
    }
    for (const op of ops) {
      if (op[0] === 1) {
        const [, topic, key, meta, stamp] = op;
        if (peer.entries.has(meta.phx_ref)) continue;
        const entry: Entry = { topic, key, meta, stamp };
        peer.entries.set(meta.phx_ref, entry);
        this.view.add(entry);
      } else {
        const entry = peer.entries.get(op[1]);
        if (entry === undefined) continue;
        peer.entries.delete(op[1]);
        this.view.remove(entry);
      }
    }
    peer.seq = seq;
    this.scheduleDiffs();
  }

  private requestState(peer: Peer): void {
    const now = performance.now();
    // One request in flight per peer; asked again if no state came within two heartbeats.
    if (now - peer.requestedAt < 2 * this.options.heartbeatPeriodMs) return;
    peer.requestedAt = now;
    this.publish(instanceTopic(peer.id), PEER_EVENT.sync, this.header());
  }

  private onStatePart(peer: Peer, seq: number, { part, last, entries }: StatePart): void {
    if (part === 0) peer.partial = { seq, next: 1, entries };
    else if (peer.partial !== null && peer.partial.seq === seq && peer.partial.next === part) {
      peer.partial.next++;
      for (const entry of entries) peer.partial.entries.push(entry);
    } else {
      // A part went missing: drop it all; the next heartbeat asks again.
      peer.partial = null;
      return;
    }
    if (!last) return;
    const state = peer.partial;
    peer.partial = null;
    // An older state than what is applied (only possible if messages overtook each other) changes nothing.
    if (peer.synced && state.seq < peer.seq) return;
    this.replaceEntries(peer, state.entries, state.seq);
  }

  /** The peer's whole state: what is new joins, what is gone leaves, what is unchanged stays silent. */
  private replaceEntries(peer: Peer, wire: WireEntry[], seq: number): void {
    const previous = peer.entries;
    const next = new Map<string, Entry>();
    for (const [topic, key, meta, stamp] of wire) {
      const known = previous.get(meta.phx_ref);
      next.set(meta.phx_ref, known !== undefined && known.topic === topic && known.key === key ? known : { topic, key, meta, stamp });
    }
    for (const [ref, entry] of previous) if (next.get(ref) !== entry) this.view.remove(entry);
    for (const [ref, entry] of next) if (previous.get(ref) !== entry) this.view.add(entry);
    peer.entries = next;
    peer.seq = seq;
    peer.synced = true;
    peer.requestedAt = -Infinity;
    this.scheduleDiffs();
  }
}

function describeHolder(holder: Holder): string {
  return typeof holder === 'string' ? `the topic entry of ${holder}` : `this channel (${holder.definition.name})`;
}

function isEmpty(presences: Presences): boolean {
  for (const _ in presences) return false;
  return true;
}

function isPresences(value: unknown): value is Presences {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
