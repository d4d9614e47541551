/** Returned by `take()` once the queue is closed and empty. */
export const CLOSED: unique symbol = Symbol('penguiflow.queue.closed');

/**
 * A bounded FIFO with async `put` (waits for space: backpressure) and async
 * `take` (waits for an item). Single-threaded JS needs no locks; waiters are
 * served in arrival order.
 */
export class BoundedQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private takers: ((value: T | typeof CLOSED) => void)[] = [];
  private putters: (() => void)[] = [];
  private closed = false;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get isFull(): boolean {
    return this.size >= this.capacity;
  }

  /** Adds without waiting; false when full. */
  tryPut(item: T): boolean {
    const taker = this.takers.shift();
    if (taker !== undefined) {
      taker(item);
      return true;
    }
    if (this.size >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  /** Adds, waiting while the queue is full. */
  async put(item: T): Promise<void> {
    while (!this.tryPut(item)) {
      await new Promise<void>((resolve) => this.putters.push(resolve));
    }
  }

  /** Takes without waiting; `undefined` when empty. */
  tryTake(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.putters.shift()?.();
    return item;
  }

  /** Takes the next item, waiting while empty; {@link CLOSED} once closed and drained. */
  take(): Promise<T | typeof CLOSED> | T | typeof CLOSED {
    const item = this.tryTake();
    if (item !== undefined) return item;
    if (this.closed) return CLOSED;
    return new Promise((resolve) => this.takers.push(resolve));
  }

  /** Removes every queued item matching `predicate`; returns them. */
  removeWhere(predicate: (item: T) => boolean): T[] {
    const removed: T[] = [];
    const kept: (T | undefined)[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i] as T;
      if (predicate(item)) removed.push(item);
      else kept.push(item);
    }
    if (removed.length > 0) {
      this.items = kept;
      this.head = 0;
      for (let i = 0; i < removed.length; i++) this.putters.shift()?.();
    }
    return removed;
  }

  /** Wakes every waiting taker with {@link CLOSED} once the queue is empty. */
  close(): void {
    this.closed = true;
    if (this.size === 0) for (const taker of this.takers.splice(0)) taker(CLOSED);
  }

  get waitingTakers(): number {
    return this.takers.length;
  }
}
