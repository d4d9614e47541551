/**
 * `vitest` for `penguiflow/testing`. vitest is ESM-only and the suites call
 * `describe`/`it` while a test file loads, so this module imports it up front
 * (top-level await): importing `penguiflow/testing` without vitest rejects
 * with one MISSING_PEER error.
 */
import type * as Vitest from 'vitest';
import { importPeer } from './peer.js';

export type { TestContext } from 'vitest';
const vitest = await importPeer<typeof Vitest>('vitest');
export const { afterEach, beforeEach, describe, expect, it } = vitest;
