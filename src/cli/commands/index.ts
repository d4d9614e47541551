import type { Command } from 'commander';
import { registerDemo } from './demo.js';

/** Every CLI command; one module each. */
export function registerCommands(program: Command): void {
  registerDemo(program);
}
