/** `undici`, loaded on first use (see peer.ts). */
import type * as Undici from 'undici';
import { lazyExport } from './peer.js';

export const Agent = lazyExport<typeof Undici.Agent>('undici', (m) => m.Agent);
export type Agent = Undici.Agent;
export const fetch = lazyExport<typeof Undici.fetch>('undici', (m) => m.fetch);
