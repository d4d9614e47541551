#!/usr/bin/env node
/** The `penguiflow` command. Each command lives in its own module under commands/, imported only when it runs. */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { registerFor } from './commands/catalog.js';

// `penguiflow history … | head`: a closed pipe ends the command quietly, as in other CLIs.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

// dist/cli/bin.js and src/cli/bin.ts both sit two levels under the package root.
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command();
program
  .name('penguiflow')
  .description('Typed async flows of nodes, in one process or across many workers.')
  .version(version, '-V, --version', 'print the penguiflow version')
  .showHelpAfterError();
try {
  await registerFor(program, process.argv.slice(2));
  await program.parseAsync(process.argv);
} catch (error: unknown) {
  console.error(`penguiflow: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
