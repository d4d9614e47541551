import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Flow } from '../core/flow.js';
import { InvalidOptionsError } from '../errors/index.js';

/**
 * Loads a flow module for `worker` and `serve`: its default export (or export
 * named `flow`) is a Flow, or a function returning one. A `.ts` module needs
 * tsx, which is registered on demand when installed.
 */
export async function loadFlow(file: string): Promise<Flow> {
  const full = path.resolve(file);
  if (/\.[cm]?tsx?$/.test(full)) {
    try {
      const { register } = (await import('tsx/esm/api')) as { register: () => unknown };
      register();
    } catch {
      throw new InvalidOptionsError(`${file} is TypeScript: install tsx, or compile it and pass the .js file`);
    }
  }
  const mod = (await import(pathToFileURL(full).href)) as Record<string, unknown>;
  let candidate = mod.default ?? mod.flow;
  if (typeof candidate === 'function' && !(candidate instanceof Flow)) candidate = await (candidate as () => unknown)();
  if (!(candidate instanceof Flow)) {
    throw new InvalidOptionsError(`${file} must export a Flow (default export or \`flow\`), or a function returning one`);
  }
  return candidate;
}
