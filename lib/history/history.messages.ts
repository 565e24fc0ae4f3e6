/** Words of topic history's errors and log lines, in one place so tests and logs read the same. */
import { describe } from '../channels.messages.js';

export const HISTORY_MESSAGES = {
  binary: (event: string, topic: string) =>
    `cannot broadcast '${event}' on ${topic} with a binary payload: the topic keeps history, and a binary frame has no ref ` +
    'slot for the position, so clients could not tell a replay from a new message; send JSON on history topics',
  notKept: (topic: string) => `${topic} keeps no history: no @Channel with history serves it`,
  badSince: (topic: string, since: unknown) =>
    `join of ${topic} with since ${describe(since)}, which is not a position "<epoch>.<offset>" or null; answered with history_gap`,
  unavailable: (channel: string, topic: string, reason: string) =>
    `${channel} on ${topic}: cannot read the history for a join with since (${reason}); the join is refused and the client retries`,
  unsupported: (pubsub: string, channels: string) =>
    `${channels} ask(s) for history, but the PubSub (${pubsub}) keeps none: use LocalPubSub or RedisPubSub, ` +
    'or a PubSub that implements HistoryPubSub',
  appendFailed: (event: string, topic: string, where: string, reason: string) =>
    `storing and publishing '${event}' on ${topic} in Redis at ${where} failed: ${reason}`,
  unreachable: (where: string) => `Redis at ${where} is unreachable: the history cannot be read`,
  badEnvelope: (channel: string, reason: string) =>
    `ignoring a malformed history envelope on Redis channel ${channel} (${reason}); logged once, further ones at debug`,
  renewFailed: (topic: string, reason: string) => `renewing the history epoch of ${topic} failed: ${reason}`,
  readFailed: (topic: string, reason: string) => `reading the history of ${topic} failed (${reason}); retrying`,
  lost: (topic: string, from: string, to: string) =>
    `history of ${topic} lost between ${from} and ${to} (Redis lost it, or a reconnect came after the window): subscribers here get history_gap`,
};
