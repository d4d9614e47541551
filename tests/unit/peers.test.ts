import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isPenguiflowError, MissingPeerDependencyError, StoreUnavailableError } from '../../src/errors/index.js';
import { notBuilt } from '../../src/peers/better-sqlite3.js';
import { lazyExport, requirePeer } from '../../src/peers/peer.js';
import { installCommand, PEERS } from '../../src/peers/peer-table.js';

const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  bundleDependencies: string[];
};

describe('optional peer dependencies', () => {
  it('package.json declares exactly the peer table, every one optional, every one installed for the repo tests', () => {
    expect(manifest.peerDependencies).toEqual(Object.fromEntries(Object.entries(PEERS).map(([name, row]) => [name, row.range])));
    for (const name of Object.keys(PEERS)) {
      expect(manifest.peerDependenciesMeta[name]?.optional, name).toBe(true);
      expect(manifest.devDependencies[name], `${name} is a devDependency`).toBeDefined();
    }
  });

  it('runtime dependencies are only the tiny bundled CLI helpers', () => {
    expect(Object.keys(manifest.dependencies).sort()).toEqual([...manifest.bundleDependencies].sort());
  });

  it('a missing package is one MISSING_PEER error naming it and the install command', () => {
    let caught: unknown;
    try {
      requirePeer('ioredis', 'ioredis-that-is-not-installed');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MissingPeerDependencyError);
    expect(isPenguiflowError(caught, 'MISSING_PEER')).toBe(true);
    const e = caught as MissingPeerDependencyError;
    expect(e.message).toContain('penguiflow/redis');
    expect(e.message).toContain('npm install ioredis');
    expect(e.details).toMatchObject({ package: 'ioredis', install: 'npm install ioredis' });
    expect(e.retryable).toBe(false);
  });

  it('names the extra packages that go together', () => {
    expect(installCommand('@nats-io/jetstream')).toBe('npm install @nats-io/transport-node@3.3 @nats-io/jetstream@3.3');
    expect(installCommand('better-sqlite3')).toBe('npm install better-sqlite3@12');
  });

  it('a lazy export loads nothing until used, then behaves as the real export', () => {
    let loads = 0;
    const Lazy = lazyExport<typeof Map>('ioredis', () => {
      loads++;
      return Map;
    });
    expect(loads).toBe(0);
    const m = new Lazy([['a', 1]]);
    expect(m.get('a')).toBe(1);
    expect(m).toBeInstanceOf(Lazy);
    expect(loads).toBeGreaterThan(0);
    const missing = lazyExport<typeof Map>('ioredis', (mod) => mod, { specifier: 'ioredis-that-is-not-installed' });
    expect(() => new missing()).toThrow(/npm install ioredis/);
  });

  it('an object export enumerates like the real one (gRPC service definitions are iterated)', () => {
    const obj = lazyExport<Record<string, number>>('ioredis', () => ({ a: 1, b: 2 }), { kind: 'object' });
    expect(Object.keys(obj)).toEqual(['a', 'b']);
    expect({ ...obj }).toEqual({ a: 1, b: 2 });
  });
});

describe('better-sqlite3 installed with --ignore-scripts', () => {
  it('its missing native addon is MISSING_PEER with the rebuild command; other errors pass through', () => {
    const mapped = notBuilt(new Error('Could not locate the bindings file. Tried:\n → /x/build/better_sqlite3.node'));
    expect(isPenguiflowError(mapped, 'MISSING_PEER')).toBe(true);
    expect((mapped as Error).message).toContain('npm rebuild better-sqlite3');
    const other = new Error('SQLITE_BUSY');
    expect(notBuilt(other)).toBe(other);
  });
});

describe('error classes', () => {
  it('print their own name, not the generator’s', () => {
    const e = new StoreUnavailableError('db down');
    expect(StoreUnavailableError.name).toBe('StoreUnavailableError');
    expect(inspect(e).split('\n')[0]).toBe('StoreUnavailableError: db down');
    expect(String(e)).toBe('StoreUnavailableError: db down');
  });
});
