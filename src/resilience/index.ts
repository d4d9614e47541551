/**
 * @module resilience — balancing strategies, circuit breakers, a retry budget,
 * health marking and the balanced RemoteTransport that ties them to an AgentRegistry.
 */
export * from './balanced-transport.js';
export * from './breaker.js';
export * from './events.js';
export * from './retry-budget.js';
export * from './strategies.js';
export { InstancePool, type HealthOptions, type InstancePoolOptions } from './instance-pool.js';
export { hash53 } from './hash.js';
export * from './answer-cache.js';
export { isFailoverable, parseTarget } from './targets.js';
