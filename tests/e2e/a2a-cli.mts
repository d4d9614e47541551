/**
 * Runs the A2A CLI commands (`serve`, `cancel`) from source, registered on a
 * commander program exactly as src/cli/bin.ts registers them.
 */
import { Command } from 'commander';
import { register as registerServe } from '../../src/cli/commands/serve.js';
import { register as registerCancel } from '../../src/cli/commands/cancel.js';

const program = new Command().name('penguiflow');
registerServe(program);
registerCancel(program);
await program.parseAsync(process.argv);
