/**
 * What nodes tell each other about presences, over the app's PubSub, as
 * ordinary broadcasts on internal topics (JSON payloads, so any PubSub that
 * carries broadcasts carries these).
 *
 * ```
 * topic                      event   payload
 * phx_presence               hb      {n, i, s}              heartbeat: node name, instance id, last delta's seq
 * phx_presence               delta   {n, i, s, o: [op…]}    this node's own changes; s = previous s + 1
 *                                    op: [1, topic, key, meta, stamp] joined; [0, phx_ref] left
 * phx_presence               sync    {n, i, s}              "send me your state" (to every node: a node starting
 * phx_presence:<i>           sync    {n, i, s}               or reconnecting; to one node: a gap in its deltas)
 * phx_presence:<i>           state   {n, i, s, p, l, e}     the sender's own entries as of delta s, in parts
 *                                    p = 0, 1, …, l = true on the last; e: [[topic, key, meta, stamp]…]
 * phx_presence               bye     {n, i}                 shutting down: drop my entries now
 * ```
 *
 * `phx_presence:<i>` is the instance's own topic: only that node subscribes.
 * Every payload is checked on arrival; a malformed one is dropped.
 */
import { INTERNAL_TOPIC_PREFIX } from '../channels.constants.js';
import type { Entry } from './presence-view.js';
import type { PresenceMeta } from './presence.types.js';

/** The topic every node's tracker subscribes to. Topics starting with it are reserved (and, as `phx_` topics, not in telemetry). */
export const PRESENCE_TOPIC = `${INTERNAL_TOPIC_PREFIX}presence`;

/** The topic only instance `id` subscribes to. */
export function instanceTopic(id: string): string {
  return `${PRESENCE_TOPIC}:${id}`;
}

export const PEER_EVENT = {
  heartbeat: 'hb',
  delta: 'delta',
  sync: 'sync',
  state: 'state',
  bye: 'bye',
} as const;

/** Ops per delta message, entries per state part: bounds one PubSub message (and a subscriber's buffer on Redis). */
export const MAX_OPS_PER_MESSAGE = 1000;

const JOIN = 1;
const LEAVE = 0;

export type JoinOp = readonly [typeof JOIN, string, string, PresenceMeta, number];
export type LeaveOp = readonly [typeof LEAVE, string];
export type Op = JoinOp | LeaveOp;
export type WireEntry = readonly [string, string, PresenceMeta, number];

export interface PeerHeader {
  readonly n: string;
  readonly i: string;
  readonly s: number;
}

export function joinOp(entry: Entry): JoinOp {
  return [JOIN, entry.topic, entry.key, entry.meta, entry.stamp];
}

export function leaveOp(ref: string): LeaveOp {
  return [LEAVE, ref];
}

export function wireEntry(entry: Entry): WireEntry {
  return [entry.topic, entry.key, entry.meta, entry.stamp];
}

// ── Checks on arrival ──────────────────────────────────────────────────────

/** A malformed message from another node: it is dropped, and the reason logged. */
export class PeerMessageError extends Error {
  override name = 'PeerMessageError';
}

function fail(reason: string): never {
  throw new PeerMessageError(reason);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The sender of any message; throws `PeerMessageError`. */
export function readHeader(payload: unknown): PeerHeader {
  if (!isRecord(payload)) fail('the payload is not an object');
  const { n, i, s } = payload;
  if (typeof n !== 'string' || n.length === 0) fail('no node name');
  if (typeof i !== 'string' || i.length === 0) fail('no instance id');
  if (s !== undefined && !(Number.isSafeInteger(s) && (s as number) >= 0)) fail('a bad seq');
  return { n, i, s: (s as number | undefined) ?? 0 };
}

/** A delta's ops, checked; join metas are frozen. Throws `PeerMessageError`. */
export function readOps(payload: Record<string, unknown>): Op[] {
  const ops = payload.o;
  if (!Array.isArray(ops)) fail('a delta without ops');
  for (const op of ops) {
    if (!Array.isArray(op)) fail('an op is not an array');
    if (op[0] === LEAVE) {
      if (typeof op[1] !== 'string') fail('a leave op without a ref');
    } else if (op[0] === JOIN) {
      checkEntry(op[1], op[2], op[3], op[4]);
    } else fail('an unknown op');
  }
  return ops as Op[];
}

export interface StatePart {
  readonly part: number;
  readonly last: boolean;
  readonly entries: WireEntry[];
}

/** A state part: its index, whether it is the last, and its entries (metas frozen). Throws `PeerMessageError`. */
export function readStatePart(payload: Record<string, unknown>): StatePart {
  const { p, l, e } = payload;
  if (!(Number.isSafeInteger(p) && (p as number) >= 0)) fail('a state part without its index');
  if (typeof l !== 'boolean') fail('a state part without its last flag');
  if (!Array.isArray(e)) fail('a state part without entries');
  for (const entry of e) {
    if (!Array.isArray(entry)) fail('an entry is not an array');
    checkEntry(entry[0], entry[1], entry[2], entry[3]);
  }
  return { part: p as number, last: l, entries: e as WireEntry[] };
}

function checkEntry(topic: unknown, key: unknown, meta: unknown, stamp: unknown): void {
  if (typeof topic !== 'string') fail('an entry without a topic');
  if (typeof key !== 'string') fail('an entry without a key');
  if (!isRecord(meta) || typeof meta.phx_ref !== 'string') fail('an entry whose meta has no phx_ref');
  if (typeof stamp !== 'number' || !Number.isFinite(stamp)) fail('an entry without a stamp');
  // Shared by every node's view and handed to users: read-only from here on.
  Object.freeze(meta);
}
