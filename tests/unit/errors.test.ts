import { describe, expect, it } from 'vitest';
import {
  ERROR_TABLE,
  NodeExceptionError,
  NodeTimeoutError,
  PenguiflowError,
  TraceCancelledError,
  createError,
  isCancellation,
  isPenguiflowError,
  type ErrorCode,
} from '../../src/index.js';

describe('errors', () => {
  it('every code builds its own subclass with the table retry semantics', () => {
    for (const code of Object.keys(ERROR_TABLE) as ErrorCode[]) {
      const e = createError(code);
      expect(e.code).toBe(code);
      expect(e.name).toBe(ERROR_TABLE[code].name);
      expect(e.retryable).toBe(ERROR_TABLE[code].retryable);
      expect(e).toBeInstanceOf(PenguiflowError);
    }
  });

  it('instanceof a subclass checks the code, not only the brand', () => {
    const timeout = new NodeTimeoutError();
    expect(timeout instanceof NodeTimeoutError).toBe(true);
    expect(timeout instanceof NodeExceptionError).toBe(false);
    expect(new Error('x') instanceof PenguiflowError).toBe(false);
  });

  it('round-trips through JSON with its subclass, retryable flag and cause chain', () => {
    const root = new TypeError('socket hang up');
    const inner = new NodeTimeoutError('slow', { cause: root, details: { node: 'n' } });
    const outer = new NodeExceptionError('wrapped', { cause: inner, retryable: true });
    const back = PenguiflowError.fromJSON(JSON.parse(JSON.stringify(outer)));
    expect(back).toBeInstanceOf(NodeExceptionError);
    expect(back.retryable).toBe(true);
    expect(back.cause).toBeInstanceOf(NodeTimeoutError);
    expect((back.cause as PenguiflowError).details).toEqual({ node: 'n' });
    expect(((back.cause as PenguiflowError).cause as Error).message).toBe('socket hang up');
    expect(((back.cause as PenguiflowError).cause as Error).name).toBe('TypeError');
  });

  it('guards look through the cause chain and tell signals from failures', () => {
    const wrapped = new Error('outer', { cause: new NodeTimeoutError() });
    expect(isPenguiflowError(wrapped, 'NODE_TIMEOUT')).toBe(true);
    expect(isPenguiflowError(wrapped, 'NODE_EXCEPTION')).toBe(false);
    expect(isCancellation(new TraceCancelledError())).toBe(true);
    expect(isCancellation(new NodeTimeoutError())).toBe(false);
  });
});

describe('docs/errors.md', () => {
  it('documents every code with an anchor', async () => {
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    for (const code of Object.keys(ERROR_TABLE)) expect(doc).toContain(`### ${code.toLowerCase()}`);
  });
});
