import { InvalidOptionsError } from '../errors/index.js';
import type { ConsumableBus, ConsumeOptions, Delivery, Subscription } from '../protocols/message-bus.js';

/** Opens a bus from a URL. Provided by the adapters layer (`openMessageBus`); core never imports an adapter. */
export type BusOpener = (url: string) => Promise<ConsumableBus>;

let opener: BusOpener | undefined;

/** @internal Called once by `penguiflow` (src/adapters/url-openers.ts) so `run({ distributed: { bus: 'redis://…' } })` works. */
export function provideBusOpener(open: BusOpener): void {
  opener = open;
}

/**
 * A bus the flow opened itself from a URL: usable at once (calls wait for the
 * connection), owned by the flow, closed by `flow.stop()`.
 */
export class UrlBus implements ConsumableBus {
  private readonly opening: Promise<ConsumableBus>;

  constructor(url: string) {
    if (opener === undefined) throw new InvalidOptionsError('A bus URL needs the adapters layer: import from "penguiflow", or pass a bus object (openMessageBus)');
    this.opening = opener(url);
    this.opening.catch(() => undefined); // the first call that needs the bus reports the failure
  }

  async publish(envelope: Parameters<ConsumableBus['publish']>[0]): Promise<void> {
    return (await this.opening).publish(envelope);
  }

  async consume(topic: string, group: string, handler: (delivery: Delivery) => Promise<void>, options?: ConsumeOptions): Promise<Subscription> {
    return (await this.opening).consume(topic, group, handler, options);
  }

  async close(): Promise<void> {
    const bus = await this.opening.catch(() => undefined);
    await bus?.close();
  }
}
