import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from '../../peers/amqplib.js';
import { BusUnavailableError } from '../../errors/index.js';
import { busUnavailable, sleep, withTimeout } from '../../distributed/bus-consumer.js';
import { H_PUBLISH } from './rabbitmq-names.js';

export interface RabbitConnectionOptions {
  url: string;
  host: string;
  connectTimeoutMs: number;
  /** How long a publish may take in all, including waiting for a lost connection to come back (ms). */
  publishTimeoutMs: number;
}

/** A publish the broker handed back with `basic.return`: no queue was bound to take it. */
export class UnroutableError extends Error {
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    readonly replyText: string,
  ) {
    super(`RabbitMQ returned the publish to "${exchange || routingKey}": ${replyText}`);
    this.name = 'UnroutableError';
  }
}

/**
 * One AMQP connection that comes back after it is lost: reconnects with
 * backoff, emits `reconnected` so consumers re-subscribe, and gives publishers
 * a confirm channel (waiting, time-bound, while the connection is down).
 * Publishes are `mandatory`: a `basic.return` (nothing bound) rejects the
 * publish with {@link UnroutableError}; a broker nack or a channel lost before
 * the confirm rejects it with {@link BusUnavailableError}.
 */
export class RabbitConnection extends EventEmitter {
  private model: ChannelModel | undefined;
  private publisher: ConfirmChannel | undefined;
  private ready: Promise<void> | undefined;
  private closed = false;
  /** Set while the publish channel's write buffer is full. */
  private drained: Promise<void> | undefined;
  private serial = 0;
  /** Serials of publishes the broker returned, until their confirm arrives. */
  private readonly returned = new Map<number, UnroutableError>();

  constructor(private readonly options: RabbitConnectionOptions) {
    super();
  }

  /** The live amqplib connection (undefined while reconnecting). */
  get current(): ChannelModel | undefined {
    return this.model;
  }

  /** Closed (or crashed): nothing reconnects any more. */
  get isClosed(): boolean {
    return this.closed;
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
    if (this.closed) {
      await model.close().catch(() => {});
      throw new BusUnavailableError('The RabbitMQ bus is closed');
    }
    try {
      this.publisher = await this.openPublisher(model);
    } catch (error) {
      await model.close().catch(() => {});
      throw busUnavailable('RabbitMQ', host, error);
    }
    this.model = model;
  }

  private async openPublisher(model: ChannelModel): Promise<ConfirmChannel> {
    const publisher = await model.createConfirmChannel();
    publisher.on('error', () => {});
    publisher.on('close', () => {
      if (this.publisher === publisher) this.publisher = undefined;
    });
    publisher.on('return', (msg: ConsumeMessage) => {
      const serial = Number(msg.properties.headers?.[H_PUBLISH]);
      const fields = msg.fields as unknown as { exchange: string; routingKey: string; replyText?: string };
      if (Number.isFinite(serial)) this.returned.set(serial, new UnroutableError(fields.exchange, fields.routingKey, fields.replyText ?? 'NO_ROUTE'));
    });
    return publisher;
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

  /** The live connection, waiting (until `deadline`, default `publishTimeoutMs` from now) while it is being re-established. */
  async connected(deadline = Date.now() + this.options.publishTimeoutMs): Promise<ChannelModel> {
    for (;;) {
      if (this.closed) throw new BusUnavailableError('The RabbitMQ bus is closed');
      if (this.model) return this.model;
      if (Date.now() > deadline) throw busUnavailable('RabbitMQ', this.options.host);
      await Promise.race([this.ready, sleep(100)]);
    }
  }

  /** A live confirm channel for publishing, waiting (until `deadline`) for a reconnect when needed. */
  async publishChannel(deadline = Date.now() + this.options.publishTimeoutMs): Promise<ConfirmChannel> {
    for (;;) {
      if (this.closed) throw new BusUnavailableError('The RabbitMQ bus is closed');
      const model = this.model;
      if (model && !this.publisher) {
        try {
          const publisher = await withTimeout(this.openPublisher(model), Math.max(1, deadline - Date.now()), () => busUnavailable('RabbitMQ', this.options.host));
          if (this.model === model && !this.publisher) this.publisher = publisher;
          else await publisher.close().catch(() => {});
        } catch (error) {
          if (Date.now() > deadline) throw error instanceof BusUnavailableError ? error : busUnavailable('RabbitMQ', this.options.host, error);
        }
      }
      if (this.publisher) return this.publisher;
      if (Date.now() > deadline) throw busUnavailable('RabbitMQ', this.options.host);
      await Promise.race([this.ready, sleep(100)]);
    }
  }

  /**
   * Publishes and waits for the broker's confirm, all within `publishTimeoutMs`.
   * A publish caught by a lost connection is sent again on the next one while
   * time remains (at-least-once; consumers deduplicate by envelope id); once
   * the time is up nothing more is sent. A return rejects with
   * {@link UnroutableError}, a nack with {@link BusUnavailableError}, at once.
   */
  async publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<void> {
    const deadline = Date.now() + this.options.publishTimeoutMs;
    for (;;) {
      try {
        return await this.publishOnce(exchange, routingKey, content, options, deadline);
      } catch (error) {
        if (error instanceof UnroutableError) throw error;
        if (error instanceof BusUnavailableError || this.closed || Date.now() > deadline) {
          throw error instanceof BusUnavailableError ? error : busUnavailable('RabbitMQ', this.options.host, error);
        }
        await sleep(100);
      }
    }
  }

  private async publishOnce(exchange: string, routingKey: string, content: Buffer, options: Options.Publish, deadline: number): Promise<void> {
    if (this.drained) await Promise.race([this.drained, sleep(Math.max(1, Math.min(1_000, deadline - Date.now())))]);
    const channel = await this.publishChannel(deadline);
    if (Date.now() > deadline) throw busUnavailable('RabbitMQ', this.options.host);
    const serial = ++this.serial;
    const headers = { ...(options.headers as Record<string, unknown> | undefined), [H_PUBLISH]: serial };
    const confirmed = new Promise<void>((resolve, reject) => {
      const ok = channel.publish(exchange, routingKey, content, { ...options, headers, mandatory: true }, (err) => {
        const returned = this.returned.get(serial);
        this.returned.delete(serial);
        if (err) {
          // a nack is the broker's answer (e.g. a full reject-publish queue): no point in sending again
          const nacked = err instanceof Error && /nack/i.test(err.message);
          reject(nacked ? new BusUnavailableError(`RabbitMQ refused the publish to "${exchange || routingKey}" (nack; a holding queue may be full)`) : err);
        } else if (returned) reject(returned);
        else resolve();
      });
      if (!ok && !this.drained) {
        this.drained = new Promise<void>((r) => channel.once('drain', r)).finally(() => (this.drained = undefined));
      }
    });
    try {
      await withTimeout(confirmed, Math.max(1, deadline - Date.now()), () => busUnavailable('RabbitMQ', this.options.host));
    } finally {
      confirmed.catch(() => {});
    }
  }

  /** As if the process died: the socket is dropped without closing anything, and nothing reconnects. For tests. */
  crash(): void {
    this.closed = true;
    const model = this.model;
    this.model = undefined;
    this.publisher = undefined;
    (model?.connection as unknown as { stream?: Socket } | undefined)?.stream?.destroy();
  }

  async close(): Promise<void> {
    this.closed = true;
    const model = this.model;
    this.model = undefined;
    this.publisher = undefined;
    if (model) await withTimeout(model.close(), 5_000, () => new Error('close timed out')).catch(() => {});
  }
}
