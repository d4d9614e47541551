/** The redacting logger: sensitive keys, token-shaped strings, errors as hashes; the unsafe debug switch. */
import { describe, expect, it } from 'vitest';
import { createLogger, redact, scrubString } from '../../src/security/index.js';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyIiwidGVuYW50cyI6WyJhY21lIl19.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU';

describe('redaction', () => {
  it('replaces values under sensitive keys with size and hash; keeps ids', () => {
    const out = redact({ taskId: 't-1', tenant: 'acme', payload: 'top secret', headers: { authorization: `Bearer ${JWT}`, 'x-api-key': 'pfk_abc' }, parts: [{ text: 'hi' }] }) as Record<string, unknown>;
    expect(out.taskId).toBe('t-1');
    expect(out.tenant).toBe('acme');
    expect(out.payload).toEqual({ redacted: true, bytes: 10, sha256: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(JSON.stringify(out)).not.toContain('top secret');
    expect(JSON.stringify(out)).not.toContain(JWT);
    expect(JSON.stringify(out)).not.toContain('pfk_abc');
    expect(JSON.stringify(out)).not.toContain('"hi"');
  });

  it('masks token-shaped strings anywhere', () => {
    for (const s of [JWT, `Bearer abcdefgh12345678`, 'pfk_AAAAAAAAAAAAAAAAAAAAAAAA', 'sk_live_4f9aZQ7hT2mX8pL3vR6nW1cY', 'a'.repeat(48), 'deadbeef'.repeat(5)]) {
      expect(scrubString(`note: ${s} end`), s).not.toContain(s);
    }
    expect(scrubString('task task-ac8800c3993a9953-l failed')).toBe('task task-ac8800c3993a9953-l failed');
  });

  it('logs errors as name, code and a message hash, with their cause chain', () => {
    const lines: string[] = [];
    const log = createLogger({ sink: (l) => lines.push(l), unsafeDebug: false });
    const err = Object.assign(new Error('could not parse "my password is hunter2"', { cause: new TypeError('inner hunter2') }), { code: 'E_PARSE' });
    log.error('failed', { taskId: 't-9', error: err });
    expect(lines[0]).not.toContain('hunter2');
    const rec = JSON.parse(lines[0]!) as { error: { name: string; code: string; messageSha256: string; cause: { name: string } }; taskId: string };
    expect(rec).toMatchObject({ taskId: 't-9', error: { name: 'Error', code: 'E_PARSE', cause: { name: 'TypeError' } } });
    expect(rec.error.messageSha256).toMatch(/^[0-9a-f]{16}$/);
  });

  it('levels, child fields; unsafeDebug logs everything and says so', () => {
    const lines: string[] = [];
    const log = createLogger({ sink: (l) => lines.push(l), level: 'warn', unsafeDebug: false }).child({ component: 'x' });
    log.info('dropped');
    log.warn('kept', { n: 1 });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', msg: 'kept', component: 'x', n: 1 });
    const raw: string[] = [];
    createLogger({ sink: (l) => raw.push(l), unsafeDebug: true }).error('x', { payload: 'visible', error: new Error('hunter2') });
    expect(raw[0]).toContain('visible');
    expect(raw[0]).toContain('hunter2');
    expect(JSON.parse(raw[0]!).unsafe).toBe(true);
  });
});
