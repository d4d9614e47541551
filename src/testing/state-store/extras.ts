import { createHash } from 'node:crypto';
import { expect, it } from '../../peers/vitest.js';
import { isPenguiflowError } from '../../errors/index.js';
import {
  hasArtifactStore,
  hasPlannerStateStore,
  hasSessionMemoryStore,
  hasSteeringInbox,
} from '../../protocols/store-extras.js';
import { uniqueId, type SuiteContext } from './context.js';

type Test = Parameters<SuiteContext['skip']>[0];

/** Planner pause/resume state. */
export function plannerTests(ctx: SuiteContext): void {
  const store = (test: Test) => {
    const s = ctx.store();
    return hasPlannerStateStore(s) ? s : ctx.skip(test, 'store does not implement PlannerStateStore');
  };

  it('returns saved planner state once; a second load gets nothing', async (test) => {
    const s = store(test);
    const tenant = ctx.tenant();
    const token = uniqueId('pause');
    await s.savePlannerState(token, { tenant }, { step: 1 });
    await s.savePlannerState(token, { tenant }, { step: 2, notes: ['ünïcode 🐧'] });
    expect(await s.consumePlannerState(token, { tenant: ctx.tenant() })).toBeUndefined();
    expect(await s.consumePlannerState(token, { tenant })).toEqual({ step: 2, notes: ['ünïcode 🐧'] });
    expect(await s.consumePlannerState(token, { tenant })).toBeUndefined();
  });

  it('gives planner state to exactly one of racing consumers', async (test) => {
    const s = store(test);
    const tenant = ctx.tenant();
    const token = uniqueId('pause');
    await s.savePlannerState(token, { tenant }, { resume: true });
    const got = await Promise.all(Array.from({ length: 6 }, () => s.consumePlannerState(token, { tenant })));
    expect(got.filter((x) => x !== undefined)).toEqual([{ resume: true }]);
  });
}

/** Memory state per session. */
export function memoryTests(ctx: SuiteContext): void {
  it('keeps the last memory state per session, scoped by tenant', async (test) => {
    const s = ctx.store();
    if (!hasSessionMemoryStore(s)) return ctx.skip(test, 'store does not implement SessionMemoryStore');
    const tenant = ctx.tenant();
    const session = uniqueId('session');
    expect(await s.loadMemoryState(session, { tenant })).toBeUndefined();
    await s.saveMemoryState(session, { tenant }, { facts: ['a'] });
    await s.saveMemoryState(session, { tenant }, { facts: ['a', 'b'], summary: '要約' });
    expect(await s.loadMemoryState(session, { tenant })).toEqual({ facts: ['a', 'b'], summary: '要約' });
    expect(await s.loadMemoryState(session, { tenant })).toEqual({ facts: ['a', 'b'], summary: '要約' });
    expect(await s.loadMemoryState(session, { tenant: ctx.tenant() })).toBeUndefined();
  });
}

/** Binary artifacts with content hash and size limit. */
export function artifactTests(ctx: SuiteContext): void {
  const store = (test: Test) => {
    const s = ctx.store();
    return hasArtifactStore(s) ? s : ctx.skip(test, 'store does not implement ArtifactStore');
  };

  it('stores binary artifacts by sha-256 and returns the same bytes', async (test) => {
    const s = store(test);
    const tenant = ctx.tenant();
    const data = new Uint8Array(256 * 4).map((_, i) => i % 256);
    const sha = createHash('sha256').update(data).digest('hex');
    const ref = await s.putArtifact({ tenant }, { data, mimeType: 'application/octet-stream', name: 'bytes.bin' });
    expect(ref).toMatchObject({ id: sha, sha256: sha, size: 1024, tenant, mimeType: 'application/octet-stream', name: 'bytes.bin' });
    const got = await s.getArtifact(ref.id, { tenant });
    expect(got && Buffer.from(got.data).equals(Buffer.from(data))).toBe(true);
    expect(got?.data).toBeInstanceOf(Uint8Array);
    expect(got).toMatchObject({ ...ref });
    const again = await s.putArtifact({ tenant }, { data: new Uint8Array(data), name: 'other-name' });
    expect(again).toEqual(ref);
    const hello = await s.putArtifact({ tenant }, { data: new TextEncoder().encode('hello') });
    expect(hello.id).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(hello.mimeType).toBeUndefined();
  });

  it('scopes artifacts by tenant and deletes them', async (test) => {
    const s = store(test);
    const tenant = ctx.tenant();
    const ref = await s.putArtifact({ tenant }, { data: new TextEncoder().encode(uniqueId('content')) });
    expect(await s.getArtifact(ref.id, { tenant: ctx.tenant() })).toBeUndefined();
    expect(await s.deleteArtifact(ref.id, { tenant: ctx.tenant() })).toBe(false);
    expect(await s.deleteArtifact(ref.id, { tenant })).toBe(true);
    expect(await s.getArtifact(ref.id, { tenant })).toBeUndefined();
    expect(await s.deleteArtifact(ref.id, { tenant })).toBe(false);
  });

  it('rejects an artifact over maxArtifactBytes with PAYLOAD_TOO_LARGE and stores nothing', async (test) => {
    const s = store(test);
    const tenant = ctx.tenant();
    const data = new Uint8Array(s.maxArtifactBytes + 1).fill(7);
    const error = await s.putArtifact({ tenant }, { data }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPenguiflowError(error, 'PAYLOAD_TOO_LARGE')).toBe(true);
    const sha = createHash('sha256').update(data).digest('hex');
    expect(await s.getArtifact(sha, { tenant })).toBeUndefined();
  });
}

/** Steering inbox per session. */
export function steeringTests(ctx: SuiteContext): void {
  const store = (test: Test) => {
    const s = ctx.store();
    return hasSteeringInbox(s) ? s : ctx.skip(test, 'store does not implement SteeringInbox');
  };

  it('drains steering messages in push order, once, scoped by tenant', async (test) => {
    const s = store(test);
    const tenant = ctx.tenant();
    const session = uniqueId('session');
    await s.pushSteering(session, { tenant }, { kind: 'steer', text: 'shorter' });
    await s.pushSteering(session, { tenant }, 'plain string');
    await s.pushSteering(session, { tenant: ctx.tenant() }, { kind: 'foreign' });
    await s.pushSteering(uniqueId('other'), { tenant }, { kind: 'other session' });
    expect(await s.drainSteering(session, { tenant })).toEqual([{ kind: 'steer', text: 'shorter' }, 'plain string']);
    expect(await s.drainSteering(session, { tenant })).toEqual([]);
  });

  it('never returns a message twice when drains race with pushes', async (test) => {
    const s = store(test);
    const tenant = ctx.tenant();
    const session = uniqueId('session');
    const drained: unknown[] = [];
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => s.pushSteering(session, { tenant }, i)),
      s.drainSteering(session, { tenant }).then((m) => drained.push(...m)),
      s.drainSteering(session, { tenant }).then((m) => drained.push(...m)),
    ]);
    drained.push(...(await s.drainSteering(session, { tenant })));
    expect([...drained].sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
}
