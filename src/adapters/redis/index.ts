/**
 * Redis Streams message bus: consumer groups, fenced leases renewed while the work runs,
 * dead-letter streams, trimming of acked entries only and pipelined publishes.
 *
 * @module penguiflow/redis
 */
export { RedisMessageBus, createRedisMessageBus, type RedisMessageBusOptions } from './redis-message-bus.js';
export type { RedisTopicKeys } from './redis-internals.js';
