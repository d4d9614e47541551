/** `amqplib`, loaded on first use (see peer.ts). */
import type * as Amqp from 'amqplib';
import { lazyExport } from './peer.js';

export type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, GetMessage, Options } from 'amqplib';
const amqp = lazyExport<typeof Amqp>('amqplib', (m) => m, { kind: 'object' });
export default amqp;
