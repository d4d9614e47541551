import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_STORE_URL, openStateStore, parseSqliteUrl, redactStoreUrl } from '../adapters/store-url.js';
import { isPenguiflowError, NotFoundError, InvalidOptionsError } from '../errors/index.js';
import type { StateStore } from '../protocols/state-store.js';

/** Shared by the store commands (history, traces, replay, prune). */

export interface StoreCliOptions {
  store?: string;
  tenant?: string;
}

/** Adds `--store <url>` and `--tenant <tenant>` to a command. */
export function withStoreOptions(command: Command): Command {
  return command
    .option('--store <url>', `state store URL (env PENGUIFLOW_STORE; default ${DEFAULT_STORE_URL})`)
    .option('--tenant <tenant>', 'only this tenant (default: every tenant, an admin read)');
}

export function storeUrlOf(options: StoreCliOptions): string {
  return options.store ?? process.env.PENGUIFLOW_STORE ?? DEFAULT_STORE_URL;
}

/**
 * Opens the store, runs `fn`, closes it. A read of a SQLite file that does
 * not exist fails with a message instead of creating an empty store.
 */
export async function withStore<T>(options: StoreCliOptions, fn: (store: StateStore, url: string) => Promise<T>, create = false): Promise<T> {
  const url = storeUrlOf(options);
  if (!create && /^sqlite:/i.test(url)) {
    const { path } = parseSqliteUrl(url);
    if (!existsSync(path)) throw new NotFoundError(`No store at ${path}: run a flow first (npm start) or pass --store <url>`);
  }
  const store = await openStateStore(url);
  try {
    return await fn(store, redactStoreUrl(url));
  } finally {
    await store.close?.();
  }
}

/** Wraps a command action: expected errors print one line (`penguiflow: …`) and exit code 1, no stack. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`penguiflow: ${message}\n`);
      if (!isPenguiflowError(error) && process.env.PENGUIFLOW_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
      process.exitCode = 1;
    }
  };
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `500ms`, `30s`, `15m`, `12h`, `7d`, `2w` into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/i.exec(text);
  if (!m) throw new InvalidOptionsError(`Invalid duration ${JSON.stringify(text)}: use e.g. 30s, 15m, 12h, 7d`);
  return Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
}

/** Parses a positive integer option. */
export function parseCount(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidOptionsError(`--${name} must be a whole number, got ${JSON.stringify(text)}`);
  return n;
}

export function print(line = ''): void {
  process.stdout.write(line + '\n');
}
