/** `jose`, loaded on first use (see peer.ts). */
import type * as Jose from 'jose';
import { lazyExport } from './peer.js';

export type { JSONWebKeySet, JWTPayload } from 'jose';
export const createLocalJWKSet = lazyExport<typeof Jose.createLocalJWKSet>('jose', (m) => m.createLocalJWKSet);
export const createRemoteJWKSet = lazyExport<typeof Jose.createRemoteJWKSet>('jose', (m) => m.createRemoteJWKSet);
export const jwtVerify = lazyExport<typeof Jose.jwtVerify>('jose', (m) => m.jwtVerify);
export const errors = lazyExport<typeof Jose.errors>('jose', (m) => m.errors, { kind: 'object' });
