/** `@nats-io/transport-node` and `@nats-io/jetstream`, loaded on first use (see peer.ts). */
import type * as Js from '@nats-io/jetstream';
import type * as Transport from '@nats-io/transport-node';
import { lazyExport } from './peer.js';

export type { NatsConnection } from '@nats-io/transport-node';
export type { Consumer, ConsumerInfo, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg, StreamConfig } from '@nats-io/jetstream';

const t = <K extends keyof typeof Transport>(key: K, kind?: 'object') => lazyExport<(typeof Transport)[K] & object>('@nats-io/transport-node', (m) => m[key], { kind });
const j = <K extends keyof typeof Js>(key: K, kind?: 'object') => lazyExport<(typeof Js)[K] & object>('@nats-io/jetstream', (m) => m[key], { kind });

export const connect = t('connect');
export const headers = t('headers');
export const nanos = t('nanos');
export const jetstream = j('jetstream');
export const jetstreamManager = j('jetstreamManager');
export const AckPolicy = j('AckPolicy', 'object');
export type AckPolicy = Js.AckPolicy;
export const DeliverPolicy = j('DeliverPolicy', 'object');
export type DeliverPolicy = Js.DeliverPolicy;
export const RetentionPolicy = j('RetentionPolicy', 'object');
export type RetentionPolicy = Js.RetentionPolicy;
export const DiscardPolicy = j('DiscardPolicy', 'object');
export type DiscardPolicy = Js.DiscardPolicy;
export const StorageType = j('StorageType', 'object');
export type StorageType = Js.StorageType;
