/**
 * nestjs-channels/client: the browser side of topic history, for the stock
 * `phoenix` client. No dependencies and no Node APIs: it runs in browsers
 * (through a bundler, or served as an ES module) and in Node.
 *
 * `withHistory(socket, topic, params?)` makes the channel with
 * `socket.channel(...)` and adds three things to it:
 *
 * - its join params are a function (phoenix.js evaluates them on every
 *   rejoin) that adds `since`: the position of the last broadcast the app
 *   was given (null on the first join: the server then says where the topic
 *   stands);
 * - `onMessage` records the position each broadcast carries in its ref
 *   slot, and a broadcast at or before the last position recorded (a
 *   duplicate) is not passed to the app's `channel.on` callbacks;
 * - the server's answer to `since: null` (a `history_gap` whose `since` is
 *   null) is recorded and not passed on: it is where the client starts, not
 *   a loss. Any other `history_gap` reaches the app, which should reload its
 *   state (bind it with `channel.on('history_gap', ...)`).
 *
 * @example
 * import { Socket } from 'phoenix';
 * import { withHistory } from 'nestjs-channels/client';
 *
 * const socket = new Socket('/socket', { params: { token } });
 * socket.connect();
 * const channel = withHistory(socket, 'room:lobby');
 * channel.on('new_msg', (message) => render(message));
 * channel.on('history_gap', () => reloadMessages());
 * channel.join();
 */

/** What `withHistory` uses of a phoenix.js `Channel`. */
export interface HistoryChannelLike {
  on(event: string, callback: (payload?: any, ref?: any, joinRef?: any) => void | Promise<void>): number;
  onMessage: (event: string, payload: any, ref: any, joinRef?: any) => any;
}

/** What `withHistory` uses of a phoenix.js `Socket`. */
export interface HistorySocketLike<C extends HistoryChannelLike> {
  channel(topic: string, params?: object): C;
}

/** Join params: an object, or a function phoenix.js calls on every (re)join. */
export type JoinParams = Record<string, unknown> | (() => Record<string, unknown>);

/** The push a server sends when a client cannot get what it missed. */
export const HISTORY_GAP = 'history_gap';

const POSITION = /^([A-Za-z0-9_-]{1,64})\.(0|[1-9][0-9]{0,15})$/;

/** Where one channel is: the last position the app was given. */
interface Tracker {
  epoch: string | null;
  offset: number;
  /** True while the message being dispatched is one the app must not see. */
  dropping: boolean;
}

/**
 * A phoenix.js channel on `topic` that recovers what it missed across
 * reconnects, drops duplicates, and tells the app (`history_gap`) when
 * recovery is impossible. Use it as the channel `socket.channel(topic,
 * params)` would return; keep `params` free of `since`.
 *
 * @publicApi
 */
export function withHistory<C extends HistoryChannelLike>(socket: HistorySocketLike<C>, topic: string, params?: JoinParams): C {
  const tracker: Tracker = { epoch: null, offset: 0, dropping: false };
  const joinParams = (): Record<string, unknown> => {
    const base = typeof params === 'function' ? params() : (params ?? {});
    return { ...base, since: tracker.epoch === null ? null : `${tracker.epoch}.${tracker.offset}` };
  };
  const channel = socket.channel(topic, joinParams);

  // Every message passes here before the channel's callbacks: record its position, or mark it dropped.
  let appHook: HistoryChannelLike['onMessage'] = channel.onMessage;
  const hook = (event: string, payload: any, ref: any, joinRef?: any): any => {
    tracker.dropping = false;
    const match = typeof ref === 'string' ? POSITION.exec(ref) : null;
    if (match !== null) {
      const epoch = match[1]!;
      const offset = Number(match[2]);
      if (epoch === tracker.epoch && offset <= tracker.offset) tracker.dropping = true;
      else {
        tracker.epoch = epoch;
        tracker.offset = offset;
      }
    }
    if (event === HISTORY_GAP && payload !== null && typeof payload === 'object' && payload.since === null) {
      tracker.dropping = true;
    }
    return appHook.call(channel, event, payload, ref, joinRef);
  };
  // An app that sets its own onMessage later gets it called from ours, rather than replacing ours.
  Object.defineProperty(channel, 'onMessage', {
    configurable: true,
    get: () => hook,
    set: (next: HistoryChannelLike['onMessage']) => {
      appHook = next;
    },
  });

  // The callbacks bound from now on skip what the hook marked; phoenix.js runs them right after it.
  const on = channel.on;
  channel.on = function (this: C, event, callback) {
    return on.call(this, event, (payload?: any, ref?: any, joinRef?: any) => {
      if (!tracker.dropping) return callback(payload, ref, joinRef);
    });
  };
  return channel;
}
