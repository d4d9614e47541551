/**
 * RabbitMQ message bus (amqplib): publisher confirms with `mandatory`, one
 * channel per running delivery (its lease), a dead-letter queue per topic,
 * delayed retries through TTL queues, a holding queue for topics with no
 * group yet, reconnect.
 *
 * @module penguiflow/rabbitmq
 */
export { RabbitMessageBus, createRabbitMessageBus, type RabbitMessageBusOptions } from './rabbitmq-message-bus.js';
export type { RabbitTopicNames } from './rabbitmq-names.js';
