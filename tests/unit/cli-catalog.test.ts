import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, registerFor } from '../../src/cli/commands/catalog.js';
import { describeTarget, requireUrl } from '../../src/cli/connect-url.js';

describe('the CLI command catalog', () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))('%s: the help line matches what the module registers', async (_name, entry) => {
    const program = new Command();
    (await entry.load())(program);
    const command = program.commands.find((c) => c.name() === entry.name);
    expect(command, `module registers ${entry.name}`).toBeDefined();
    expect(command!.description()).toBe(entry.description);
    const args = command!.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`));
    expect([entry.name, ...args].join(' ')).toBe(entry.usage);
  });

  it('loads only the command that runs; the top-level help gets one stub per command', async () => {
    const one = new Command();
    await registerFor(one, ['history', 'abc', '--json']);
    expect(one.commands.map((c) => c.name())).toEqual(['history']);
    const help = new Command();
    await registerFor(help, ['--help']);
    expect(help.commands.map((c) => c.name())).toEqual(COMMANDS.map((c) => c.name));
    const helpFor = new Command();
    await registerFor(helpFor, ['help', 'worker']);
    expect(helpFor.commands.map((c) => c.name())).toEqual(['worker']);
  });
});

describe('bus and registry URLs', () => {
  it('are required: no hidden default', () => {
    const saved = { ...process.env };
    delete process.env.PENGUIFLOW_BUS;
    delete process.env.PENGUIFLOW_BUS_URL;
    try {
      expect(() => requireUrl('bus', undefined, 'redis://127.0.0.1:6379')).toThrow(/pass --bus <url>.*or set PENGUIFLOW_BUS/);
      expect(requireUrl('bus', 'nats://n:4222', 'x')).toBe('nats://n:4222');
      process.env.PENGUIFLOW_BUS_URL = 'amqp://h';
      expect(requireUrl('bus', undefined, 'x')).toBe('amqp://h');
    } finally {
      process.env = saved;
    }
  });

  it('print host and port only, never credentials', () => {
    expect(describeTarget('redis://:s3cret@10.0.0.5:6379/0?prefix=a')).toBe('redis://10.0.0.5:6379');
    expect(describeTarget('amqp://guest:guest@mq:5672/vhost')).toBe('amqp://mq:5672');
    expect(describeTarget('sqlite:./q.db?x=1')).toBe('sqlite:./q.db');
  });
});
