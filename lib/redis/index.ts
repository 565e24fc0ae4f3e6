/**
 * nestjs-channels/redis: the PubSub that carries broadcasts across nodes on
 * Redis. The only entry point that imports `ioredis` (a peer dependency).
 */
export { RedisPubSub } from './redis.pubsub.js';
export type { RedisPubSubStats } from './redis.pubsub.js';
export type { RedisPubSubOptions, RedisSubscriptionMode } from './redis-pubsub-options.interface.js';
