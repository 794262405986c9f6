/**
 * Messages received from the broker and not yet handed to the application,
 * shared by consumers and readers: FIFO hand-off to waiting `receive()` calls,
 * or one-at-a-time dispatch to a listener (a returned promise is awaited
 * before the next message). `onTaken` runs for every message handed out, so
 * the owner can grant flow control.
 */
import { ReceiveTimeoutError } from './errors.js';

interface Receiver<M> {
  resolve: (message: M) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export interface InboxOptions<M> {
  listener: ((message: M) => unknown) | undefined;
  onTaken: (message: M) => void;
  onListenerError: (message: M, error: unknown) => void;
}

export class Inbox<M> {
  private readonly options: InboxOptions<M>;
  private queue: (M | undefined)[] = [];
  private head = 0;
  private receivers: Receiver<M>[] = [];
  private dispatching = false;
  private closed = false;

  constructor(options: InboxOptions<M>) {
    this.options = options;
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  push(message: M): void {
    if (this.closed) return;
    const receiver = this.receivers.shift();
    if (receiver !== undefined) {
      if (receiver.timer !== undefined) clearTimeout(receiver.timer);
      this.options.onTaken(message);
      receiver.resolve(message);
      return;
    }
    this.queue.push(message);
    if (this.options.listener !== undefined && !this.dispatching) void this.dispatch(this.options.listener);
  }

  take(): M | undefined {
    if (this.head >= this.queue.length) return undefined;
    const message = this.queue[this.head] as M;
    this.queue[this.head] = undefined;
    this.head++;
    // Compact now and then instead of shift() per message.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.options.onTaken(message);
    return message;
  }

  /** The next message; waits for one, at most `timeoutMs` when given (> 0). */
  receive(timeoutMs?: number): Promise<M> {
    const message = this.take();
    if (message !== undefined) return Promise.resolve(message);
    return new Promise<M>((resolve, reject) => {
      const receiver: Receiver<M> = { resolve, reject, timer: undefined };
      if (timeoutMs !== undefined && timeoutMs > 0) {
        receiver.timer = setTimeout(() => {
          this.receivers = this.receivers.filter((r) => r !== receiver);
          reject(new ReceiveTimeoutError(timeoutMs));
        }, timeoutMs);
        receiver.timer.unref();
      }
      this.receivers.push(receiver);
    });
  }

  /** Drops buffered messages (waiting receivers keep waiting); returns how many. */
  clear(): number {
    const dropped = this.size;
    this.queue = [];
    this.head = 0;
    return dropped;
  }

  /** Rejects waiting receivers with `error` and drops buffered messages. */
  close(error: Error): void {
    this.closed = true;
    for (const receiver of this.receivers.splice(0)) {
      if (receiver.timer !== undefined) clearTimeout(receiver.timer);
      receiver.reject(error);
    }
    this.clear();
  }

  private async dispatch(listener: (message: M) => unknown): Promise<void> {
    this.dispatching = true;
    try {
      for (let message = this.take(); message !== undefined && !this.closed; message = this.take()) {
        try {
          await listener(message);
        } catch (error) {
          this.options.onListenerError(message, error);
        }
      }
    } finally {
      this.dispatching = false;
    }
  }
}

/** The log line for a listener that threw: whose listener, on which message, and what it threw. */
export function listenerThrewMessage(owner: string, messageId: { toString(): string }, error: unknown): string {
  return `${owner}: listener threw for message ${messageId.toString()}: ${error instanceof Error ? error.message : String(error)}`;
}
