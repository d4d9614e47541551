/**
 * RabbitMQ message bus (amqplib): publisher confirms, manual acks, prefetch =
 * concurrency, a dead-letter queue per topic, delayed retries, reconnect.
 *
 * @module penguiflow/rabbitmq
 */
export { RabbitMessageBus, createRabbitMessageBus, type RabbitMessageBusOptions } from './rabbitmq-message-bus.js';
export type { RabbitTopicNames } from './rabbitmq-names.js';
