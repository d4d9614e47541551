import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Flow } from '../core/flow.js';
import { InvalidOptionsError } from '../errors/index.js';
import { importPeer } from '../peers/peer.js';

/**
 * Loads a flow module for `worker` and `serve`: its default export (or export
 * named `flow`) is a Flow, or a function returning one. A `.ts` module needs
 * tsx, which is registered on demand when installed.
 */
export async function loadFlow(file: string): Promise<Flow> {
  const full = path.resolve(file);
  if (/\.[cm]?tsx?$/.test(full)) {
    // A .ts flow needs tsx (MISSING_PEER names `npm install --save-dev tsx`); or compile it and pass the .js file.
    const { register } = await importPeer<{ register: () => unknown }>('tsx', 'tsx/esm/api');
    register();
  }
  const mod = (await import(pathToFileURL(full).href)) as Record<string, unknown>;
  let candidate = mod.default ?? mod.flow;
  if (typeof candidate === 'function' && !(candidate instanceof Flow)) candidate = await (candidate as () => unknown)();
  if (!(candidate instanceof Flow)) {
    throw new InvalidOptionsError(`${file} must export a Flow (default export or \`flow\`), or a function returning one`);
  }
  return candidate;
}
