import { describe, expect, it } from 'vitest';
import { exponentialBackoff, KeyedExecutor, type ExecutorClock, type KeyedExecutorOptions } from './keyed-executor.js';

/** A manual clock: timers run only when the test advances time. */
class ManualClock implements ExecutorClock {
  private time = 0;
  private timers: { at: number; callback: () => void; id: number }[] = [];
  private nextId = 0;
  now = (): number => this.time;
  setTimeout = (callback: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, callback, id });
    return id;
  };
  clearTimeout = (handle: unknown): void => {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  };
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await flush();
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (next === undefined || next.at > end) break;
      this.timers.shift();
      this.time = next.at;
      next.callback();
    }
    this.time = end;
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** A handler whose calls the test finishes one by one. */
class Gate {
  readonly started: string[] = [];
  private readonly pending = new Map<string, { resolve(): void; reject(error: Error): void }>();
  handle = (item: string): Promise<void> => {
    this.started.push(item);
    return new Promise((resolve, reject) => this.pending.set(item, { resolve, reject }));
  };
  finish(item: string): void {
    this.pending.get(item)?.resolve();
    this.pending.delete(item);
  }
  fail(item: string): void {
    this.pending.get(item)?.reject(new Error(`${item} failed`));
    this.pending.delete(item);
  }
  running(): string[] {
    return [...this.pending.keys()];
  }
}

function executor(
  overrides: Partial<KeyedExecutorOptions<string>> & Pick<KeyedExecutorOptions<string>, 'handle'>,
  clock = new ManualClock(),
) {
  const done: string[] = [];
  const deadLettered: string[] = [];
  const stalled: string[] = [];
  const retries: string[] = [];
  const instance = new KeyedExecutor<string>({
    maxInFlight: 100,
    maxKeyDepth: 10,
    maxAttempts: 3,
    retryDelayMs: () => 100,
    deadlineMs: 10_000,
    onDone: (item) => {
      done.push(item);
    },
    onDeadLetter: async (item) => {
      deadLettered.push(item);
    },
    onStalled: (item) => stalled.push(item),
    onRetry: (item, _error, info) => retries.push(`${item}#${info.attempt}`),
    clock,
    ...overrides,
  });
  return { instance, done, deadLettered, stalled, retries, clock };
}

const keyOf = (item: string): string => item.split(':')[0]!;

describe('KeyedExecutor', () => {
  it('runs keys concurrently, each key one message at a time and in order', async () => {
    const gate = new Gate();
    const { instance, done } = executor({ handle: gate.handle });
    for (const item of ['a:1', 'b:1', 'a:2', 'c:1', 'b:2', 'a:3']) await instance.submit(keyOf(item), item);
    await flush();
    expect(gate.running().sort()).toEqual(['a:1', 'b:1', 'c:1']);
    gate.finish('a:1');
    await flush();
    expect(gate.running().sort()).toEqual(['a:2', 'b:1', 'c:1']);
    gate.finish('b:1');
    gate.finish('a:2');
    await flush();
    expect(gate.running().sort()).toEqual(['a:3', 'b:2', 'c:1']);
    for (const item of ['a:3', 'b:2', 'c:1']) gate.finish(item);
    await instance.idle();
    expect(done.filter((item) => item.startsWith('a:'))).toEqual(['a:1', 'a:2', 'a:3']);
    expect(done).toHaveLength(6);
    expect(instance.inFlight).toBe(0);
    expect(instance.activeKeys).toBe(0);
  });

  it('stops taking messages while maxInFlight are unsettled', async () => {
    const gate = new Gate();
    const { instance } = executor({ handle: gate.handle, maxInFlight: 2 });
    await instance.submit('a', 'a:1');
    await instance.submit('b', 'b:1');
    let third = false;
    const submitted = instance.submit('c', 'c:1').then(() => {
      third = true;
    });
    await flush();
    expect(third).toBe(false);
    expect(instance.offer('d', 'd:1')).toBe(false);
    gate.finish('a:1');
    await submitted;
    expect(third).toBe(true);
    expect(instance.inFlight).toBe(2);
  });

  it('stops taking messages of a key at maxKeyDepth while other keys still get room', async () => {
    const gate = new Gate();
    const { instance } = executor({ handle: gate.handle, maxKeyDepth: 2 });
    await instance.submit('a', 'a:1');
    await instance.submit('a', 'a:2');
    expect(instance.hasRoom('a')).toBe(false);
    expect(instance.hasRoom('b')).toBe(true);
    expect(instance.offer('b', 'b:1')).toBe(true);
    let taken = false;
    const submitted = instance.submit('a', 'a:3').then(() => {
      taken = true;
    });
    await flush();
    expect(taken).toBe(false);
    gate.finish('a:1');
    await submitted;
    expect(instance.depth('a')).toBe(2);
  });

  it('retries a failing message in place, blocking only its key, then dead-letters it and moves on', async () => {
    const clock = new ManualClock();
    const attempts: string[] = [];
    const { instance, done, deadLettered, retries } = executor(
      {
        handle: async (item, info) => {
          attempts.push(`${item}#${info.attempt}`);
          if (item === 'a:1') throw new Error('poison');
        },
        retryDelayMs: exponentialBackoff(100, 1_000, () => 1),
      },
      clock,
    );
    await instance.submit('a', 'a:1');
    await instance.submit('a', 'a:2');
    await instance.submit('b', 'b:1');
    await flush();
    // b is not held up by a's retries; a:2 waits behind a:1.
    expect(done).toEqual(['b:1']);
    expect(attempts).toEqual(['a:1#1', 'b:1#1']);
    await clock.advance(100);
    expect(attempts).toContain('a:1#2');
    expect(done).toEqual(['b:1']);
    await clock.advance(200);
    expect(attempts).toContain('a:1#3');
    await instance.idle();
    expect(deadLettered).toEqual(['a:1']);
    expect(retries).toEqual(['a:1#1', 'a:1#2']);
    expect(done).toEqual(['b:1', 'a:2']);
  });

  it('reports a message past its deadline as stalled, once, and still settles it', async () => {
    const clock = new ManualClock();
    const gate = new Gate();
    const { instance, stalled, done } = executor({ handle: gate.handle, deadlineMs: 1_000 }, clock);
    await instance.submit('a', 'a:1');
    await instance.submit('b', 'b:1');
    gate.finish('b:1');
    await clock.advance(999);
    expect(stalled).toEqual([]);
    await clock.advance(5_000);
    expect(stalled).toEqual(['a:1']);
    gate.finish('a:1');
    await instance.idle();
    expect(done).toEqual(['b:1', 'a:1']);
  });

  it('gives a message back through onAbandon when dead-lettering fails', async () => {
    const abandoned: string[] = [];
    const { instance } = executor({
      handle: async () => {
        throw new Error('always');
      },
      maxAttempts: 1,
      onDeadLetter: async () => {
        throw new Error('dead-letter topic unavailable');
      },
      onAbandon: (item) => abandoned.push(item),
    });
    await instance.submit('a', 'a:1');
    await instance.idle();
    expect(abandoned).toEqual(['a:1']);
    expect(instance.inFlight).toBe(0);
  });

  it('hands a message back at once, without retries, when handBack says so, and frees its key', async () => {
    const handedBack: string[] = [];
    const attempts: string[] = [];
    const { instance, done } = executor({
      handle: async (item) => {
        attempts.push(item);
        if (item === 'a:2') throw new Error('too early');
      },
      handBack: (error) => error instanceof Error && error.message === 'too early',
      onAbandon: (item) => handedBack.push(item),
    });
    await instance.submit('a', 'a:2');
    await instance.submit('a', 'a:1');
    await instance.idle();
    expect(handedBack).toEqual(['a:2']);
    expect(attempts).toEqual(['a:2', 'a:1']);
    expect(done).toEqual(['a:1']);
  });

  it('rejects bounds that would make it unbounded or stuck', () => {
    expect(() => executor({ handle: async () => {}, maxInFlight: 0 })).toThrow(/maxInFlight/);
    expect(() => executor({ handle: async () => {}, maxKeyDepth: 1.5 })).toThrow(/maxKeyDepth/);
  });

  it('backs off exponentially up to the cap', () => {
    const delay = exponentialBackoff(10, 100, () => 1);
    expect([1, 2, 3, 4, 5, 6].map(delay)).toEqual([10, 20, 40, 80, 100, 100]);
    expect(exponentialBackoff(10, 100, () => 0)(1)).toBe(5);
  });
});
