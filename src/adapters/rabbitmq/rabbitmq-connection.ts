import { EventEmitter } from 'node:events';
import amqp, { type ChannelModel, type ConfirmChannel, type Options } from '../../peers/amqplib.js';
import { BusUnavailableError } from '../../errors/index.js';
import { busUnavailable, sleep, withTimeout } from '../../distributed/bus-consumer.js';

export interface RabbitConnectionOptions {
  url: string;
  host: string;
  connectTimeoutMs: number;
  /** How long a publish waits for a lost connection to come back (ms). */
  publishTimeoutMs: number;
}

/**
 * One AMQP connection that comes back after it is lost: reconnects with
 * backoff, emits `reconnected` so consumers re-subscribe, and gives publishers
 * a confirm channel (waiting, time-bound, while the connection is down).
 */
export class RabbitConnection extends EventEmitter {
  private model: ChannelModel | undefined;
  private publisher: ConfirmChannel | undefined;
  private ready: Promise<void> | undefined;
  private closed = false;
  /** Set while the publish channel's write buffer is full. */
  private drained: Promise<void> | undefined;

  constructor(private readonly options: RabbitConnectionOptions) {
    super();
  }

  /** The live amqplib connection (undefined while reconnecting). */
  get current(): ChannelModel | undefined {
    return this.model;
  }

  /** First connect: one clear error when the broker does not answer. */
  async open(): Promise<void> {
    await this.connectOnce();
  }

  private async connectOnce(): Promise<void> {
    const { url, host, connectTimeoutMs } = this.options;
    let model: ChannelModel;
    try {
      model = await withTimeout(amqp.connect(url, { timeout: connectTimeoutMs }), connectTimeoutMs + 500, () =>
        busUnavailable('RabbitMQ', host),
      );
    } catch (error) {
      throw error instanceof BusUnavailableError ? error : busUnavailable('RabbitMQ', host, error);
    }
    model.on('error', () => {});
    model.on('close', () => this.lost(model));
    const publisher = await model.createConfirmChannel();
    publisher.on('error', () => {});
    publisher.on('close', () => {
      if (this.publisher === publisher) this.publisher = undefined;
    });
    this.model = model;
    this.publisher = publisher;
  }

  private lost(model: ChannelModel): void {
    if (this.model !== model) return;
    this.model = undefined;
    this.publisher = undefined;
    if (this.closed) return;
    this.ready = this.reconnect();
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.connectOnce();
        this.ready = undefined;
        this.emit('reconnected');
        return;
      } catch {
        await sleep(Math.min(100 * 2 ** attempt, 5_000));
      }
    }
  }

  /** The live connection, waiting (bounded by `publishTimeoutMs`) while it is being re-established. */
  async connected(): Promise<ChannelModel> {
    const until = Date.now() + this.options.publishTimeoutMs;
    for (;;) {
      if (this.closed) throw new BusUnavailableError('The RabbitMQ bus is closed');
      if (this.model) return this.model;
      if (Date.now() > until) throw busUnavailable('RabbitMQ', this.options.host);
      await Promise.race([this.ready, sleep(100)]);
    }
  }

  /** A live confirm channel for publishing, waiting (bounded) for a reconnect when needed. */
  async publishChannel(): Promise<ConfirmChannel> {
    const until = Date.now() + this.options.publishTimeoutMs;
    for (;;) {
      if (this.closed) throw new BusUnavailableError('The RabbitMQ bus is closed');
      if (this.model && !this.publisher) {
        const publisher = await this.model.createConfirmChannel();
        publisher.on('error', () => {});
        publisher.on('close', () => {
          if (this.publisher === publisher) this.publisher = undefined;
        });
        this.publisher = publisher;
      }
      if (this.publisher) return this.publisher;
      if (Date.now() > until) throw busUnavailable('RabbitMQ', this.options.host);
      await Promise.race([this.ready, sleep(100)]);
    }
  }

  /**
   * Publishes and waits for the broker's confirm. A publish caught by a lost
   * connection is retried on the next one until `publishTimeoutMs` (at-least-once).
   */
  async publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<void> {
    const until = Date.now() + this.options.publishTimeoutMs;
    for (;;) {
      try {
        return await this.publishOnce(exchange, routingKey, content, options, until - Date.now());
      } catch (error) {
        if (error instanceof BusUnavailableError || this.closed || Date.now() > until) {
          throw error instanceof BusUnavailableError ? error : busUnavailable('RabbitMQ', this.options.host, error);
        }
        await sleep(100);
      }
    }
  }

  private async publishOnce(exchange: string, routingKey: string, content: Buffer, options: Options.Publish, budgetMs: number): Promise<void> {
    if (this.drained) await Promise.race([this.drained, sleep(1_000)]);
    const channel = await this.publishChannel();
    const confirmed = new Promise<void>((resolve, reject) => {
      const ok = channel.publish(exchange, routingKey, content, options, (err) => {
        if (err) reject(new Error('RabbitMQ did not confirm the publish'));
        else resolve();
      });
      if (!ok && !this.drained) {
        this.drained = new Promise<void>((r) => channel.once('drain', r)).finally(() => (this.drained = undefined));
      }
    });
    await withTimeout(confirmed, Math.max(1, budgetMs), () => busUnavailable('RabbitMQ', this.options.host));
  }

  async close(): Promise<void> {
    this.closed = true;
    const model = this.model;
    this.model = undefined;
    this.publisher = undefined;
    if (model) await withTimeout(model.close(), 5_000, () => new Error('close timed out')).catch(() => {});
  }
}
