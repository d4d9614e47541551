/**
 * NATS JetStream message bus: durable pull consumers per group, ack wait as
 * the lease, nak with delay, a dead-letter stream, bounded async publishes.
 *
 * @module penguiflow/nats
 */
export { NatsMessageBus, createNatsMessageBus, type NatsMessageBusOptions } from './nats-message-bus.js';
export { natsToken, type NatsTopicNames } from './nats-names.js';
