/** Words of RedisPubSub's errors and log lines, in one place so tests and logs read the same. */
import { describe } from '../channels.messages.js';

export const REDIS_MESSAGES = {
  conflictingOptions: (given: string[]) =>
    `RedisPubSub: say where Redis is once: url or host/port (either with password/username/db/tls), or client alone; got ${given.join(', ')}`,
  badOption: (name: string, accepted: string, got: unknown) =>
    `RedisPubSub: option ${name} must be ${accepted}; got ${describe(got)}`,
  clientEnded: () => 'RedisPubSub: the given client has been closed (status "end"); give an open client',
  unavailable: (where: string) =>
    `Redis at ${where} is unreachable: the broadcast was not published (and not delivered locally)`,
  closed: () => 'RedisPubSub is closed: the broadcast was not published',
  publishFailed: (where: string) =>
    `publishing to Redis at ${where} failed: the broadcast reached this node's subscribers but maybe no other node`,
  subscribeRefused: (topic: string, where: string) => `Redis at ${where} refused to subscribe to ${topic}`,
  outage: (where: string, node: string, reason: string) =>
    `lost Redis at ${where} (node ${node}${reason === '' ? '' : `, ${reason}`}): broadcasts fail with ERR_CHANNELS_PUBSUB_UNAVAILABLE ` +
    'and cross-node delivery stops until it is back; local delivery goes on; reconnecting',
  startupOutage: (where: string, node: string, waitedMs: number, reason: string) =>
    `Redis at ${where} did not answer within ${waitedMs}ms (node ${node}${reason === '' ? '' : `, ${reason}`}): starting without it; ` +
    'broadcasts fail with ERR_CHANNELS_PUBSUB_UNAVAILABLE until it answers; reconnecting',
  startupTimeout: (where: string, waitedMs: number) =>
    `Redis at ${where} did not answer within ${waitedMs}ms and failOnConnectTimeout is set`,
  recovered: (where: string, downMs: number, topics: number) =>
    `Redis at ${where} is back after ${downMs}ms; re-subscribed ${topics} topic(s); cross-node broadcasts resume`,
  connected: (where: string, node: string, mode: string) => `connected to Redis at ${where} as node ${node} (${mode})`,
  badEnvelope: (channel: string, reason: string) =>
    `ignoring a message on Redis channel ${channel} that is not a nestjs-channels envelope (${reason}); ` +
    'does another app publish under the same keyPrefix? (logged once; further ones at debug)',
};
