import type { Command } from 'commander';
import { InvalidOptionsError } from '../../errors/index.js';
import { formatTimeline } from '../timeline.js';
import { action, parseCount, print, withStore, withStoreOptions, type StoreCliOptions } from '../store-cli.js';
import { loadTrace } from './history.js';

interface ReplayOptions extends StoreCliOptions {
  speed: string;
  maxWait: string;
  json?: boolean;
}

/**
 * `penguiflow replay <traceId> [--store <url>] [--tenant T] [--speed X] [--max-wait ms]`:
 * prints a trace's events with their original spacing divided by the speed.
 */
export function registerReplay(program: Command): void {
  withStoreOptions(program.command('replay <traceId>').description("replay a trace's events with their original timing"))
    .option('--speed <x>', 'playback speed (2 = twice as fast)', '1')
    .option('--max-wait <ms>', 'longest pause between two events, after the speed-up', '5000')
    .option('--json', 'one JSON event per line, with the same timing')
    .action(
      action(async (traceId: string, options: ReplayOptions) => {
        const speed = Number(options.speed);
        if (!(speed > 0) || !Number.isFinite(speed)) throw new InvalidOptionsError(`--speed must be a positive number, got ${JSON.stringify(options.speed)}`);
        const maxWait = parseCount('max-wait', options.maxWait);
        await withStore(options, async (store, url) => {
          const events = await loadTrace(store, traceId, options, url);
          const lines = formatTimeline(events).split('\n');
          if (!options.json) print(`replaying trace ${traceId} (${events.length} events) at ${speed}x`);
          for (let i = 0; i < events.length; i++) {
            if (i > 0) {
              const wait = Math.min(maxWait, Math.max(0, (events[i]!.ts - events[i - 1]!.ts) / speed));
              if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
            }
            print(options.json ? JSON.stringify(events[i]) : lines[i]);
          }
        });
      }),
    );
}

export { registerReplay as register };
