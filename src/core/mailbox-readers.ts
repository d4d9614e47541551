import { NoResultError, TraceCancelledError } from '../errors/index.js';
import type { FlowOutput, Mailbox, MailboxEntry, Reader } from './mailbox.js';
import type { Message } from './message.js';

/** Reader behind `flow.fetch`: skips chunks, settles on the next result or error, or NO_RESULT at the end of a round. */
export class FetchReader implements Reader {
  constructor(
    readonly resolve: (message: Message) => void,
    readonly reject: (error: unknown) => void,
    private readonly onDone?: () => void,
  ) {}

  offer(entry: MailboxEntry, mailbox: Mailbox): boolean {
    const out = entry.output;
    if (out === null) {
      if (mailbox.isStaleEnd(entry)) return false;
      this.onDone?.();
      this.reject(new NoResultError(`Trace ${mailbox.traceId} finished without a result`, { details: { traceId: mailbox.traceId } }));
      return true;
    }
    if (out.kind === 'chunk') return false;
    if (entry.round > mailbox.consumedRound) mailbox.consumedRound = entry.round;
    this.onDone?.();
    if (out.kind === 'result') this.resolve(out.message);
    else this.reject(out.error);
    return true;
  }
}

/**
 * `flow.fetch`: the next result of the trace. Without a signal or timeout
 * this allocates one promise and one reader, nothing else (the hot path).
 */
export function readResult(mailbox: Mailbox, options: { traceId: string; signal?: AbortSignal; timeoutMs?: number }): Promise<Message> {
  const { traceId, signal, timeoutMs } = options;
  if (signal === undefined && timeoutMs === undefined) {
    return new Promise<Message>((resolve, reject) => mailbox.read(new FetchReader(resolve, reject)));
  }
  return new Promise<Message>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const reader = new FetchReader(resolve, reject, done);
    const giveUp = (error: unknown) => {
      mailbox.forget(reader);
      done();
      reject(error);
    };
    const onAbort = () => giveUp(signal?.reason ?? new TraceCancelledError('fetch aborted'));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () => giveUp(new NoResultError(`No result for trace ${traceId} within ${timeoutMs} ms`, { details: { traceId, timeoutMs } })),
        timeoutMs,
      );
    }
    mailbox.read(reader);
  });
}

/** `flow.outputs`: every output of the trace in order, until its round ends. */
export async function* readOutputs(mailbox: Mailbox, signal: AbortSignal | undefined): AsyncGenerator<FlowOutput, void, undefined> {
  for (;;) {
    const entry = await new Promise<MailboxEntry>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const reader: Reader = {
        offer(e) {
          signal?.removeEventListener('abort', onAbort);
          resolve(e);
          return true;
        },
      };
      const onAbort = () => {
        mailbox.forget(reader);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      mailbox.read(reader);
    });
    if (entry.output === null) {
      if (mailbox.active !== undefined && mailbox.active.round > entry.round) continue;
      return;
    }
    // No consumedRound here: this reader takes the round's end marker itself, and must get it
    // even when it arrives while the loop body is still busy with the previous output.
    yield entry.output;
  }
}
