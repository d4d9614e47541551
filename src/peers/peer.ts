/**
 * Loads optional peer dependencies on demand. A driver is required the first
 * time an entry point uses it (the factory or open call), so
 * `import 'penguiflow'` loads no third-party code, and a missing package is
 * one typed MISSING_PEER error naming it and the command that installs it.
 *
 * `createRequire` serves CommonJS drivers synchronously (and ESM-only ones:
 * Node ≥ 20.19 can `require()` an ES module without top-level await);
 * {@link importPeer} is the asynchronous form for ESM-only packages that
 * need `import()` (vitest).
 */
import { createRequire } from 'node:module';
import { MissingPeerDependencyError } from '../errors/index.js';
import { installCommand, PEERS, type PeerName } from './peer-table.js';

const requireFromHere = createRequire(import.meta.url);
const cache = new Map<string, unknown>();

function missing(name: PeerName, specifier: string, cause: unknown): MissingPeerDependencyError {
  const install = installCommand(name);
  const { range, neededBy } = PEERS[name];
  return new MissingPeerDependencyError(`${neededBy} needs the optional peer dependency ${name} (${range}), which is not installed: ${install}`, {
    cause,
    details: { package: name, specifier, range, install },
  });
}

/** True when `error` says `specifier` itself (not one of its own dependencies) cannot be found. */
function isNotFound(error: unknown, specifier: string): boolean {
  const e = error as { code?: string; message?: string };
  if (e?.code !== 'MODULE_NOT_FOUND' && e?.code !== 'ERR_MODULE_NOT_FOUND') return false;
  const first = String(e.message ?? '').split('\n')[0] ?? '';
  return first.includes(`'${specifier}'`) || first.includes(`'${name(specifier)}'`);
}

/** `@scope/pkg/sub` → `@scope/pkg`, `pkg/sub` → `pkg`. */
function name(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/**
 * `require()`s a peer (or one of its subpaths), once. Throws
 * MissingPeerDependencyError when it is not installed.
 *
 * @example
 * const { Redis } = requirePeer<typeof import('ioredis')>('ioredis');
 */
export function requirePeer<T>(peer: PeerName, specifier: string = peer): T {
  if (cache.has(specifier)) return cache.get(specifier) as T;
  let mod: unknown;
  try {
    mod = requireFromHere(specifier);
  } catch (error) {
    if (isNotFound(error, specifier)) throw missing(peer, specifier, error);
    throw error;
  }
  cache.set(specifier, mod);
  return mod as T;
}

/** `import()`s a peer, for ESM-only packages. Rejects with MissingPeerDependencyError when it is not installed. */
export async function importPeer<T>(peer: PeerName, specifier: string = peer): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (error) {
    if (isNotFound(error, specifier)) throw missing(peer, specifier, error);
    throw error;
  }
}

/** True when the peer can be resolved from penguiflow (nothing is loaded). */
export function hasPeer(peer: PeerName, specifier: string = peer): boolean {
  try {
    requireFromHere.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

/**
 * A stand-in for one export of a peer (a class, a function or an object such
 * as an enum) that loads the peer on first use: construct it, call it, read a
 * property. Lets a module keep `import { Redis } from '…'` style code while
 * the driver stays unloaded until a factory runs.
 */
export function lazyExport<T extends object>(peer: PeerName, pick: (mod: any) => unknown, options: { specifier?: string; kind?: 'function' | 'object'; wrapError?: (error: unknown) => unknown } = {}): T {
  const load = (): any => pick(requirePeer(peer, options.specifier ?? peer));
  const rethrow = (error: unknown): never => {
    throw options.wrapError?.(error) ?? error;
  };
  // A function target can be called and constructed; an object target can be enumerated (ownKeys) without invariant trouble.
  // (A bound function has no non-configurable `prototype` of its own, so the descriptor traps keep the Proxy invariants.)
  const target = options.kind === 'object' ? {} : function lazyPeerExport() {}.bind(null);
  const handler: ProxyHandler<any> = {
    get: (_t, key) => {
      const real = load();
      const value = Reflect.get(real, key, real);
      return value;
    },
    has: (_t, key) => Reflect.has(load(), key),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_t, key) => {
      const d = Reflect.getOwnPropertyDescriptor(load(), key);
      return d === undefined ? undefined : { ...d, configurable: true };
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(load()),
    apply: (_t, thisArg, args: unknown[]) => {
      try {
        return Reflect.apply(load(), thisArg, args);
      } catch (error) {
        return rethrow(error);
      }
    },
    construct: (_t, args: unknown[], newTarget) => {
      const real = load();
      try {
        return Reflect.construct(real, args, newTarget === proxy ? real : newTarget);
      } catch (error) {
        return rethrow(error);
      }
    },
  };
  const proxy = new Proxy(target, handler) as T;
  return proxy;
}

/** Loads a peer now (to fail at the factory call with MISSING_PEER rather than later). */
export function loadPeer(peer: PeerName, specifier: string = peer): void {
  requirePeer(peer, specifier);
}
