import type { Command } from 'commander';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Run the demo on the embedded default (SQLite history, in-process flow)')
    .option('--store-path <file>', 'SQLite file for the history', '.penguiflow/state.db')
    .action(async (opts: { storePath: string }) => {
      const { runDemo } = await import('../demo/index.js');
      await runDemo({ storePath: opts.storePath });
    });
}
