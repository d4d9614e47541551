/**
 * Redis Streams message bus: consumer groups, XAUTOCLAIM of expired leases,
 * dead-letter streams, MAXLEN trimming and pipelined publishes.
 *
 * @module penguiflow/redis
 */
export { RedisMessageBus, createRedisMessageBus, type RedisMessageBusOptions } from './redis-message-bus.js';
export type { RedisTopicKeys } from './redis-internals.js';
