/**
 * How the steps start `penguiflow` as a process: the installed package's bin
 * (what `npx penguiflow` runs), with tsx so it can load .ts flow files. Inside
 * the penguiflow repository, from source.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export function penguiflowCommand(): string[] {
  const source = path.resolve(import.meta.dirname, '../../src/cli/bin.ts');
  if (existsSync(source)) return ['--import', 'tsx', source];
  const manifest = createRequire(import.meta.url).resolve('penguiflow/package.json');
  return ['--import', 'tsx', path.join(path.dirname(manifest), 'dist/cli/bin.js')];
}
