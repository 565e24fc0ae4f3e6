/** Words of Presence's errors and log lines, in one place so tests and logs read the same. */
import { describe } from '../channels.messages.js';

export const PRESENCE_MESSAGES = {
  alreadyTracked: (topic: string, key: string, holder: string) =>
    `Presence.track: ${holder} already tracks key "${key}" on ${topic}; use update() to change its meta`,
  noPresence: (verb: string, topic: string, key: string, holder: string) =>
    `Presence.${verb}: ${holder} does not track key "${key}" on ${topic}`,
  badTarget: (verb: string, got: unknown) =>
    `Presence.${verb}: the first argument must be a ChannelSocket or a topic string; got ${describe(got)}`,
  badKey: (verb: string, got: unknown) => `Presence.${verb}: the key must be a string or a number; got ${describe(got)}`,
  badMeta: (verb: string, got: unknown) => `Presence.${verb}: the meta must be a plain object; got ${describe(got)}`,
  metaNotJson: (verb: string, reason: string) => `Presence.${verb}: the meta cannot be serialised to JSON (${reason})`,
  updaterThrew: (topic: string, key: string, error: unknown) =>
    `Presence.update: the updater function for key "${key}" on ${topic} threw: ${describe(error)}`,
  channelEnded: (verb: string, topic: string) =>
    `Presence.${verb}: the channel on ${topic} has ended; its presences are gone with it`,
  notStarted: () => 'Presence is not running: ChannelsModule has not been initialised yet, or the app is shutting down',
  twoMounts: () => 'an app has one Presence: give the presence option on one ChannelsModule mount only',
  badOption: (name: string, got: unknown) => `ChannelsModule option presence.${name} must be a positive number of ms; got ${describe(got)}`,
  badFetch: (got: unknown) => `ChannelsModule option presence.fetch must be a function; got ${describe(got)}`,
  downTooShort: (down: number, heartbeat: number) =>
    `ChannelsModule option presence.downPeriod (${down}ms) must be at least twice heartbeatPeriod (${heartbeat}ms)`,
  fetchFailed: (topic: string, error: unknown) =>
    `Presence fetch failed for a diff on ${topic}; the diff goes out without it: ${describe(error)}`,
  fetchReturned: (got: unknown) => `fetch must return a {key: {metas}} record; it returned ${describe(got)}`,
  diffNotDelivered: (topic: string, error: unknown) => `presence_diff on ${topic} not delivered: ${describe(error)}`,
  badPattern: (reason: string) => `Presence.subscribe: ${reason}`,
  badListener: () => 'Presence.subscribe: the listener must be a function',
  listenerThrew: (topic: string, error: unknown) => `a Presence.subscribe listener for ${topic} threw: ${describe(error)}`,
  peerDown: (node: string, silentMs: number, entries: number) =>
    `node ${node} has been silent for ${silentMs}ms: taken for dead, its ${entries} presence(s) leave`,
  peerReplaced: (node: string, entries: number) =>
    `node ${node} restarted (a new instance speaks under its name): the old instance's ${entries} presence(s) leave`,
  peerLeft: (node: string, entries: number) => `node ${node} shut down: its ${entries} presence(s) leave`,
  retiredSpeaks: (node: string) =>
    `a replaced instance of node ${node} is still speaking: two live nodes share that name; give each node its own (RedisPubSub option node)`,
  badPeerMessage: (event: string, reason: string) =>
    `ignoring a malformed presence message '${event}' from another node (${reason}); logged once, further ones at debug`,
  publishFailed: (what: string, error: unknown) => `presence ${what} not sent to the other nodes: ${describe(error)}`,
};
