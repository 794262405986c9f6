/**
 * A keyed executor, modelled on Confluent parallel-consumer's KEY ordering:
 * different keys run concurrently, each key strictly in order with one
 * message at a time.
 *
 * - Two bounds with backpressure: messages taken and not finished across all
 *   keys (`maxInFlight`), and per key (`maxKeyDepth`). `submit()` waits while
 *   either is full, so the consumer stops receiving; no queue is unbounded.
 * - Each message is settled as soon as it is done (`onDone`, e.g. an
 *   individual ack), never cumulatively.
 * - A failing handler is retried in place after a backoff, blocking only its
 *   own key; after `maxAttempts` the message goes to `onDeadLetter` (publish
 *   to a dead-letter topic, then ack), and the key moves on.
 * - A message running past `deadlineMs` (retries included) is reported once
 *   through `onStalled`; it keeps running (work cannot be cancelled safely).
 */

export interface ExecutorClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: ExecutorClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface TaskInfo {
  key: string;
  /** 1 for the first run. */
  attempt: number;
}

export interface SettledInfo {
  key: string;
  attempts: number;
  /** From being taken to being settled, including the wait behind its key. */
  totalMs: number;
  /** From its first attempt's start to being settled. */
  runMs: number;
}

export interface KeyedExecutorOptions<T> {
  maxInFlight: number;
  maxKeyDepth: number;
  maxAttempts: number;
  /** Delay before attempt `attempt + 1`, after `error`. */
  retryDelayMs(attempt: number, error: unknown): number;
  deadlineMs: number;
  handle(item: T, info: TaskInfo): Promise<void>;
  /** The message is done (settle it, e.g. ack). */
  onDone(item: T, info: SettledInfo): Promise<void> | void;
  /** The message failed maxAttempts times: dead-letter it and settle it. A throw here goes to onAbandon. */
  onDeadLetter(item: T, error: unknown, info: SettledInfo): Promise<void>;
  /** Give the message back (e.g. nack) so the broker redelivers it: when dead-lettering failed too, or when `handBack` says so. */
  onAbandon?(item: T, error: unknown, info: SettledInfo): void;
  /**
   * true: this error hands the message back to the broker (onAbandon) at
   * once, without retries, freeing its key; e.g. an event that arrived
   * before its predecessor on a Shared subscription, when the predecessor
   * may be queued behind it.
   */
  handBack?(error: unknown): boolean;
  onRetry?(item: T, error: unknown, info: TaskInfo & { delayMs: number }): void;
  onStalled?(item: T, info: { key: string; runningMs: number }): void;
  clock?: ExecutorClock;
}

interface Entry<T> {
  item: T;
  takenAt: number;
}

interface KeyQueue<T> {
  entries: Entry<T>[];
  running: boolean;
}

interface Waiter {
  key: string | undefined;
  resolve(): void;
}

export class KeyedExecutor<T> {
  private readonly queues = new Map<string, KeyQueue<T>>();
  private readonly waiters: Waiter[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private readonly clock: ExecutorClock;
  private taken = 0;
  private closed = false;

  constructor(private readonly options: KeyedExecutorOptions<T>) {
    for (const name of ['maxInFlight', 'maxKeyDepth', 'maxAttempts'] as const) {
      const value = options[name];
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`KeyedExecutor: ${name} must be an integer >= 1, got ${value}`);
    }
    if (!(options.deadlineMs > 0)) throw new RangeError(`KeyedExecutor: deadlineMs must be > 0, got ${options.deadlineMs}`);
    this.clock = options.clock ?? systemClock;
  }

  /** Messages taken and not settled. */
  get inFlight(): number {
    return this.taken;
  }

  /** Keys with messages taken and not settled. */
  get activeKeys(): number {
    return this.queues.size;
  }

  depth(key: string): number {
    return this.queues.get(key)?.entries.length ?? 0;
  }

  /** Room for one more message (of `key`, when given)? */
  hasRoom(key?: string): boolean {
    return this.taken < this.options.maxInFlight && (key === undefined || this.depth(key) < this.options.maxKeyDepth);
  }

  /** Resolves once there is room (for `key`, when given). */
  waitForRoom(key?: string): Promise<void> {
    if (this.hasRoom(key)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ key, resolve }));
  }

  /** Waits for room, then takes the message; resolves when it is taken (not when it is done). */
  async submit(key: string, item: T): Promise<void> {
    while (!this.hasRoom(key)) await this.waitForRoom(key);
    this.take(key, item);
  }

  /** Takes the message if there is room now; false otherwise. */
  offer(key: string, item: T): boolean {
    if (!this.hasRoom(key)) return false;
    this.take(key, item);
    return true;
  }

  /** Resolves when nothing is in flight. */
  idle(): Promise<void> {
    if (this.taken === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Takes nothing more; resolves when what was taken is settled. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  private take(key: string, item: T): void {
    if (this.closed) throw new Error('KeyedExecutor is closed: stop submitting before close()');
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = { entries: [], running: false };
      this.queues.set(key, queue);
    }
    queue.entries.push({ item, takenAt: this.clock.now() });
    this.taken += 1;
    if (!queue.running) this.runNext(key, queue);
  }

  private runNext(key: string, queue: KeyQueue<T>): void {
    const entry = queue.entries[0];
    if (entry === undefined) {
      this.queues.delete(key);
      return;
    }
    queue.running = true;
    void this.runEntry(key, entry).then(() => {
      queue.entries.shift();
      queue.running = false;
      this.taken -= 1;
      this.runNext(key, queue);
      this.wake();
    });
  }

  /** Runs one message to its end (done, dead-lettered or abandoned); never rejects. */
  private async runEntry(key: string, entry: Entry<T>): Promise<void> {
    const options = this.options;
    const startedAt = this.clock.now();
    let stallTimer: unknown = this.clock.setTimeout(() => {
      stallTimer = undefined;
      safely(() => options.onStalled?.(entry.item, { key, runningMs: this.clock.now() - startedAt }));
    }, options.deadlineMs);
    const settled = (attempts: number): SettledInfo => {
      if (stallTimer !== undefined) this.clock.clearTimeout(stallTimer);
      stallTimer = undefined;
      const now = this.clock.now();
      return { key, attempts, totalMs: now - entry.takenAt, runMs: now - startedAt };
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await options.handle(entry.item, { key, attempt });
      } catch (error) {
        if (options.handBack?.(error) === true) {
          safely(() => options.onAbandon?.(entry.item, error, settled(attempt)));
          return;
        }
        if (attempt < options.maxAttempts) {
          const delayMs = Math.max(0, options.retryDelayMs(attempt, error));
          safely(() => options.onRetry?.(entry.item, error, { key, attempt, delayMs }));
          await this.sleep(delayMs);
          continue;
        }
        const info = settled(attempt);
        try {
          await options.onDeadLetter(entry.item, error, info);
        } catch (deadLetterError) {
          safely(() => options.onAbandon?.(entry.item, deadLetterError, info));
        }
        return;
      }
      const info = settled(attempt);
      try {
        await options.onDone(entry.item, info);
      } catch (error) {
        safely(() => options.onAbandon?.(entry.item, error, info));
      }
      return;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  private wake(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i]!;
      if (this.hasRoom(waiter.key)) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      } else {
        i++;
      }
    }
    if (this.taken === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

function safely(callback: () => void): void {
  try {
    callback();
  } catch {
    // Observers (metrics, logs) must not break the message's processing.
  }
}

/** Exponential backoff with full jitter from `random` (0..1), capped. */
export function exponentialBackoff(initialMs: number, maxMs: number, random: () => number = Math.random): (attempt: number) => number {
  return (attempt) => {
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  };
}
