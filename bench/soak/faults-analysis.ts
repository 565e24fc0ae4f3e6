/**
 * Turns what the faults run recorded into the figures of its table: for
 * every subscriber, the messages it should have received and those it did.
 *
 * "Should receive" (a membership S of client C on topic T at node N, from its
 * join reply at tJoin to its end at tEnd; a message M published on T, sent at
 * tSend, answered ok at tAck):
 *
 *   - M was answered ok (a refused message, Redis being down, or one whose
 *     publisher's connection went before the reply, is not sent), and
 *   - S was joined before M was sent: tJoin ≤ tSend, and
 *   - S stayed joined a grace period after M's reply: tAck + grace ≤ tEnd
 *     (a message still in flight when its subscriber leaves may be dropped),
 *     and, for a subscriber on the node that was killed, tAck + grace ≤ the kill.
 *
 * Such a message counts in a fault window when [tSend, tAck] overlaps
 * [kill − grace, kill + grace] or [Redis stopped − grace, every surviving
 * node's PubSub back + grace]: RedisPubSub is at most once across nodes, so a
 * message published while a node's link to Redis is down, or written by a
 * node an instant before it died, may be lost, and those losses are counted
 * apart. Outside the windows every such message must arrive: a loss there is
 * a bug.
 */
import { Histogram } from '../common/histogram.js';
import type { FaultsWorkerResult, MembershipRecord, PublishRecord } from './faults-data.js';

export interface FaultWindows {
  /** The node killed with SIGKILL, and when. */
  kill: { node: number; at: number } | null;
  /** When Redis was stopped, and when the last surviving node's PubSub was back (or null if one never was). */
  redis: { down: number; recovered: number | null } | null;
  graceMs: number;
}

export interface Tally {
  /** Messages the subscribers should have received. */
  should: number;
  delivered: number;
  lost: number;
}

export interface NodeRow {
  node: number;
  /** False for the node that was killed (its figures stop at the kill). */
  survived: boolean;
  /** Memberships (one client on one topic, join to leave) on this node. */
  memberships: number;
  /** Outside the fault windows. */
  steady: Tally;
  /** Inside them. */
  inWindows: Tally;
  /** The lowest delivered/should of one membership outside the windows (1 when none should receive anything). */
  minRatio: number;
}

export interface FaultsAnalysis {
  rows: NodeRow[];
  /** Every surviving node's memberships together. */
  survivors: { memberships: number; steady: Tally; inWindows: Tally; minRatio: number };
  publishes: { ok: number; refused: number; unanswered: number };
  duplicates: number;
  duplicateSamples: string[];
  received: number;
  reconnects: { drops: number; back: number; maxMs: number | null; p50Ms: number | null; p99Ms: number | null };
  latency: { p50Ms: number | null; p99Ms: number | null; maxMs: number };
  joinsRefused: number;
  connectFailures: number;
  unexpectedChannelEnds: number;
  connections: number;
}

const emptyTally = (): Tally => ({ should: 0, delivered: 0, lost: 0 });

function overlaps(from: number, to: number, windowFrom: number, windowTo: number): boolean {
  return from <= windowTo && to >= windowFrom;
}

/** True when the message's [tSend, tAck] touches a fault window. */
export function inFaultWindow(message: PublishRecord, windows: FaultWindows): boolean {
  const { kill, redis, graceMs } = windows;
  if (kill !== null && overlaps(message.tSend, message.tAck, kill.at - graceMs, kill.at + graceMs)) return true;
  if (redis !== null && overlaps(message.tSend, message.tAck, redis.down - graceMs, (redis.recovered ?? Infinity) + graceMs)) return true;
  return false;
}

/** The messages `membership` should have received, by the rule above. */
export function shouldReceive(membership: MembershipRecord, onTopic: readonly PublishRecord[], windows: FaultWindows): PublishRecord[] {
  const killedHere = windows.kill !== null && windows.kill.node === membership.node;
  const end = Math.min(membership.tEnd, killedHere ? windows.kill!.at : Infinity);
  return onTopic.filter((message) => message.status === 'ok' && membership.tJoin <= message.tSend && message.tAck + windows.graceMs <= end);
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function analyzeFaults(results: readonly FaultsWorkerResult[], nodes: number, windows: FaultWindows): FaultsAnalysis {
  const byTopic = new Map<string, PublishRecord[]>();
  const publishes = { ok: 0, refused: 0, unanswered: 0 };
  for (const result of results) {
    for (const message of result.publishes) {
      if (message.status === 'ok') publishes.ok++;
      else if (message.status === 'error') publishes.refused++;
      else publishes.unanswered++;
      let list = byTopic.get(message.topic);
      if (list === undefined) byTopic.set(message.topic, (list = []));
      list.push(message);
    }
  }

  const rows: NodeRow[] = Array.from({ length: nodes }, (_, node) => ({
    node,
    survived: windows.kill?.node !== node,
    memberships: 0,
    steady: emptyTally(),
    inWindows: emptyTally(),
    minRatio: 1,
  }));
  for (const result of results) {
    for (const membership of result.memberships) {
      const row = rows[membership.node]!;
      row.memberships++;
      const received = new Set(membership.received);
      let should = 0;
      let delivered = 0;
      for (const message of shouldReceive(membership, byTopic.get(membership.topic) ?? [], windows)) {
        const tally = inFaultWindow(message, windows) ? row.inWindows : row.steady;
        const got = received.has(message.key);
        tally.should++;
        if (got) tally.delivered++;
        else tally.lost++;
        if (tally === row.steady) {
          should++;
          if (got) delivered++;
        }
      }
      if (should > 0) row.minRatio = Math.min(row.minRatio, delivered / should);
    }
  }

  const survivors = { memberships: 0, steady: emptyTally(), inWindows: emptyTally(), minRatio: 1 };
  for (const row of rows.filter((candidate) => candidate.survived)) {
    survivors.memberships += row.memberships;
    for (const key of ['should', 'delivered', 'lost'] as const) {
      survivors.steady[key] += row.steady[key];
      survivors.inWindows[key] += row.inWindows[key];
    }
    survivors.minRatio = Math.min(survivors.minRatio, row.minRatio);
  }

  const reconnectMs = results
    .flatMap((result) => result.reconnects)
    .filter((reconnect) => reconnect.tBack !== null)
    .map((reconnect) => reconnect.tBack! - reconnect.tDrop)
    .sort((a, b) => a - b);
  const drops = results.reduce((sum, result) => sum + result.reconnects.length, 0);

  const latency = new Histogram();
  for (const result of results) latency.addSparse(result.latency.sparse, result.latency.maxUs);

  const sum = (pick: (result: FaultsWorkerResult) => number): number => results.reduce((total, result) => total + pick(result), 0);
  return {
    rows,
    survivors,
    publishes,
    duplicates: sum((result) => result.duplicates),
    duplicateSamples: results.flatMap((result) => result.duplicateSamples).slice(0, 10),
    received: sum((result) => result.received),
    reconnects: { drops, back: reconnectMs.length, maxMs: reconnectMs.at(-1) ?? null, p50Ms: quantile(reconnectMs, 0.5), p99Ms: quantile(reconnectMs, 0.99) },
    latency: { p50Ms: latency.quantileMs(0.5), p99Ms: latency.quantileMs(0.99), maxMs: latency.maxUs / 1000 },
    joinsRefused: sum((result) => result.joinsRefused),
    connectFailures: sum((result) => result.connectFailures),
    unexpectedChannelEnds: sum((result) => result.unexpectedChannelEnds),
    connections: sum((result) => result.connections),
  };
}
