/**
 * The `phoenix` client's `Presence` class on a channel, with every callback
 * it fires recorded, and helpers to compare views.
 */
import { Presence as ClientPresence, type Channel } from 'phoenix';

export interface PresenceEvent {
  kind: 'join' | 'leave' | 'sync';
  key?: string;
  /** phx_refs of the key before the change (`current`), and of the joined/left metas. */
  current?: string[] | null;
  refs?: string[];
}

export interface WatchedPresence {
  readonly presence: ClientPresence;
  readonly events: PresenceEvent[];
  /** `{key: [phx_ref, …]}` of `presence.list()`, metas in the client's order. */
  view(): Record<string, string[]>;
  /** `{key: [meta, …]}` of `presence.list()`. */
  metas(): Record<string, any[]>;
}

const refsOf = (presence: { metas: Array<{ phx_ref: string }> } | undefined): string[] | null =>
  presence === undefined ? null : presence.metas.map((meta) => meta.phx_ref);

/** A client Presence on `channel` (create it before joining), recording onJoin/onLeave/onSync. */
export function watchPresence(channel: Channel): WatchedPresence {
  const presence = new ClientPresence(channel);
  const events: PresenceEvent[] = [];
  presence.onJoin((key, current, joined) => {
    events.push({ kind: 'join', key: key!, current: refsOf(current as any), refs: refsOf(joined as any)! });
  });
  presence.onLeave((key, current, left) => {
    events.push({ kind: 'leave', key: key!, current: refsOf(current as any), refs: refsOf(left as any)! });
  });
  presence.onSync(() => {
    events.push({ kind: 'sync' });
  });
  return {
    presence,
    events,
    view() {
      const out: Record<string, string[]> = {};
      presence.list((key: string, entry: any) => {
        out[key] = entry.metas.map((meta: { phx_ref: string }) => meta.phx_ref);
      });
      return out;
    },
    metas() {
      const out: Record<string, any[]> = {};
      presence.list((key: string, entry: any) => {
        out[key] = entry.metas;
      });
      return out;
    },
  };
}

/** `{key: [phx_ref, …]}` of a server-side list, keys sorted (their order carries no meaning), for comparing lists. */
export function refsByKey(presences: Record<string, { metas: Array<{ phx_ref: string }> }>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const key of Object.keys(presences).sort()) out[key] = presences[key]!.metas.map((meta) => meta.phx_ref);
  return out;
}

/** The keys of a view, sorted, each with its number of metas: a view compared without refs. */
export function shapeOf(view: Record<string, unknown[]>): string[] {
  return Object.keys(view)
    .sort()
    .map((key) => `${key}×${view[key]!.length}`);
}

/** A JSON copy: null-prototype records (what Presence returns) compared with object literals. */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
