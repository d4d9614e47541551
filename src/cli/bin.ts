#!/usr/bin/env node
/** The `penguiflow` command. Each command lives in its own module under commands/. */
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';

// `penguiflow history … | head`: a closed pipe ends the command quietly, as in other CLIs.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command();
program.name('penguiflow').description('Typed async flows of nodes, in one process or across many workers.').showHelpAfterError();
registerCommands(program);
program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`penguiflow: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
