import { Injectable } from '@nestjs/common';
import { ChannelSocketImpl, type ChannelSocket } from '../channel/channel-socket.js';
import { ChannelsHost } from '../channels.host.js';
import { ChannelsError, ERROR_CODE } from '../errors/errors.js';
import { compileTopicPattern } from '../registry/topic-matcher.js';
import { PRESENCE_MESSAGES } from './presence.messages.js';
import type { Holder, PresenceTracker } from './presence.tracker.js';
import type { PresenceChange, PresenceEntry, PresenceMeta, Presences } from './presence.types.js';

/** A presence key: numbers become strings (`1` is `"1"`). @publicApi */
export type PresenceKey = string | number;

/** A new meta, or a function from the current meta (with its `phx_ref`) to the new one. @publicApi */
export type PresenceUpdate = Record<string, unknown> | ((current: PresenceMeta) => Record<string, unknown>);

/**
 * Who is online, per topic, on this node and on every node the PubSub
 * reaches: the analogue of a `Phoenix.Presence` module. Provided by
 * `ChannelsModule`; inject it anywhere.
 *
 * Clients read it with the `phoenix` client's `Presence` class: push
 * `list(topic)` as `presence_state` after each join (the client waits for
 * it), and every change reaches every subscriber of the topic as a
 * `presence_diff` broadcast `{joins, leaves}`.
 *
 * Each operation returns a promise; tracking a key that this channel (or
 * topic entry) already tracks rejects with `ERR_CHANNELS_ALREADY_TRACKED`,
 * updating or untracking one it does not with `ERR_CHANNELS_NO_PRESENCE`,
 * and both change nothing (P-81).
 *
 * @example
 * // in a channel's @HandleInfo, on the message its @Join sent with socket.send('after_join'):
 * await this.presence.track(socket, socket.assigns.userId, { online_at: Date.now() });
 * socket.push('presence_state', await this.presence.list(socket.topic));
 * @publicApi
 */
@Injectable()
export class Presence {
  constructor(private readonly host: ChannelsHost) {}

  /**
   * Tracks `key` with `meta` on the socket's topic for as long as that
   * channel lives (it leaves by itself when the channel ends, however it
   * ends), or on `topic` for as long as this node runs or until `untrack`.
   * Resolves with the new `phx_ref`.
   */
  track(target: ChannelSocket | string, key: PresenceKey, meta: Record<string, unknown>): Promise<string> {
    return attempt(() => {
      const { holder, topic } = resolveTarget('track', target);
      return this.tracker.track(holder, topic, keyOf('track', key), copyMeta('track', meta));
    });
  }

  /**
   * Replaces the meta of a tracked key (P-80): the new meta gets a new
   * `phx_ref` and `phx_ref_prev` (the old ref); clients get one diff with the
   * new meta in `joins` and the old one in `leaves`. Resolves with the new ref.
   */
  update(target: ChannelSocket | string, key: PresenceKey, meta: PresenceUpdate): Promise<string> {
    return attempt(() => {
      const { holder, topic } = resolveTarget('update', target);
      const given = typeof meta === 'function' ? null : checkMeta('update', meta);
      const next = given === null ? (meta as (current: PresenceMeta) => Record<string, unknown>) : () => given;
      return this.tracker.update(holder, topic, keyOf('update', key), (current) => {
        let updated: Record<string, unknown>;
        try {
          updated = next(current);
        } catch (error) {
          throw new ChannelsError(ERROR_CODE.invalidArgument, PRESENCE_MESSAGES.updaterThrew(topic, String(key), error), { cause: error });
        }
        return copyMeta('update', updated);
      });
    });
  }

  /** Stops tracking `key` for this channel (or topic entry). */
  untrack(target: ChannelSocket | string, key: PresenceKey): Promise<void> {
    return attempt(() => {
      const { holder, topic } = resolveTarget('untrack', target);
      this.tracker.untrack(holder, topic, keyOf('untrack', key));
    });
  }

  /**
   * The topic's presences on every node, `{key: {metas: [...]}}` with metas
   * in tracking order, through the `fetch` hook: what to push as
   * `presence_state` (P-77). Metas are frozen; the objects around them are
   * fresh.
   */
  async list(target: ChannelSocket | string): Promise<Presences> {
    const topic = topicOf('list', target);
    return this.tracker.fetch(topic, this.tracker.list(topic));
  }

  /** One key's presence on the topic (through `fetch`), or null. */
  async getByKey(target: ChannelSocket | string, key: PresenceKey): Promise<PresenceEntry | null> {
    const topic = topicOf('getByKey', target);
    const stringKey = keyOf('getByKey', key);
    const entry = this.tracker.get(topic, stringKey);
    if (entry === null) return null;
    const fetched = await this.tracker.fetch(topic, { [stringKey]: entry });
    return fetched[stringKey] ?? null;
  }

  /**
   * Calls `listener` after each presence diff of a topic matching `pattern`
   * (an exact topic, or a prefix ending in `*` as in `@Channel`), on this
   * node, for changes made on any node: the server-side analogue of
   * Phoenix's `handle_metas`. The listener gets the diff as clients get it
   * and the topic's presences right after it. Returns the function that
   * stops it.
   *
   * @example
   * presence.subscribe('room:*', ({ topic, joins, leaves, presences }) => { ... });
   */
  subscribe(pattern: string, listener: (change: PresenceChange) => void | Promise<void>): () => void {
    const compiled = compileTopicPattern(pattern);
    if (typeof compiled === 'string') throw new ChannelsError(ERROR_CODE.invalidArgument, PRESENCE_MESSAGES.badPattern(compiled));
    if (typeof listener !== 'function') throw new ChannelsError(ERROR_CODE.invalidArgument, PRESENCE_MESSAGES.badListener());
    return this.tracker.subscribe(compiled, listener);
  }

  private get tracker(): PresenceTracker {
    return this.host.presence;
  }
}

/** Runs a synchronous operation as a promise: what it throws becomes the rejection. */
function attempt<T>(operation: () => T): Promise<T> {
  try {
    return Promise.resolve(operation());
  } catch (error) {
    return Promise.reject(error);
  }
}

function resolveTarget(verb: string, target: ChannelSocket | string): { holder: Holder; topic: string } {
  // The channel behind a socket: Presence binds the entry to that channel's life.
  const server = ChannelSocketImpl.serverOf(target);
  if (server !== null) return { holder: server, topic: server.topic };
  if (typeof target === 'string' && target.length > 0) return { holder: target, topic: target };
  throw new ChannelsError(ERROR_CODE.invalidArgument, PRESENCE_MESSAGES.badTarget(verb, target));
}

function topicOf(verb: string, target: ChannelSocket | string): string {
  const server = ChannelSocketImpl.serverOf(target);
  if (server !== null) return server.topic;
  if (typeof target === 'string' && target.length > 0) return target;
  throw new ChannelsError(ERROR_CODE.invalidArgument, PRESENCE_MESSAGES.badTarget(verb, target));
}

function keyOf(verb: string, key: PresenceKey): string {
  if (typeof key === 'string') return key;
  if ((typeof key === 'number' && Number.isFinite(key)) || typeof key === 'bigint') return String(key);
  throw new ChannelsError(ERROR_CODE.invalidArgument, PRESENCE_MESSAGES.badKey(verb, key));
}

function checkMeta(verb: string, meta: unknown): Record<string, unknown> {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta) || ArrayBuffer.isView(meta)) {
    throw new ChannelsError(ERROR_CODE.invalidArgument, PRESENCE_MESSAGES.badMeta(verb, meta));
  }
  return meta as Record<string, unknown>;
}

/**
 * A JSON copy of the meta: what this node lists is then exactly what the
 * other nodes (which get it as JSON) list, and later changes by the caller do
 * not leak in.
 */
function copyMeta(verb: string, meta: unknown): Record<string, unknown> {
  const checked = checkMeta(verb, meta);
  try {
    return JSON.parse(JSON.stringify(checked)) as Record<string, unknown>;
  } catch (error) {
    throw new ChannelsError(ERROR_CODE.serialization, PRESENCE_MESSAGES.metaNotJson(verb, (error as Error)?.message ?? String(error)), {
      cause: error,
    });
  }
}
