/** `cockatiel`, loaded on first use (see peer.ts). */
import type * as Cockatiel from 'cockatiel';
import { lazyExport } from './peer.js';

export type { IBreaker } from 'cockatiel';
export const CircuitState = lazyExport<typeof Cockatiel.CircuitState>('cockatiel', (m) => m.CircuitState, { kind: 'object' });
export type CircuitState = Cockatiel.CircuitState;
export const ConsecutiveBreaker = lazyExport<typeof Cockatiel.ConsecutiveBreaker>('cockatiel', (m) => m.ConsecutiveBreaker);
export type ConsecutiveBreaker = Cockatiel.ConsecutiveBreaker;
