/** `prom-client`, loaded on first use (see peer.ts). */
import type * as Prom from 'prom-client';
import { lazyExport } from './peer.js';

export const Counter = lazyExport<typeof Prom.Counter>('prom-client', (m) => m.Counter);
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge = lazyExport<typeof Prom.Gauge>('prom-client', (m) => m.Gauge);
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export const Histogram = lazyExport<typeof Prom.Histogram>('prom-client', (m) => m.Histogram);
export type Histogram<T extends string = string> = Prom.Histogram<T>;
export const Registry = lazyExport<typeof Prom.Registry>('prom-client', (m) => m.Registry);
export type Registry = Prom.Registry;
