/**
 * Counter increments kept in a plain number on the hot path and handed to the
 * prom-client counter in one `inc` when the registry collects (and on every
 * sweep). prom-client's own `inc` hashes its label object on every call.
 */
import type { Counter } from 'prom-client';

const pendingByCounter = new WeakMap<object, Set<PendingCount>>();

export class PendingCount {
  value = 0;

  constructor(
    private readonly counter: Counter<string>,
    private readonly labels: Readonly<Record<string, string>>,
  ) {
    let set = pendingByCounter.get(counter);
    if (set === undefined) {
      set = new Set();
      pendingByCounter.set(counter, set);
    }
    set.add(this);
    // The series exists from the start, so rates and alerts work from the first scrape.
    counter.inc(this.labels, 0);
  }

  inc(by = 1): void {
    this.value += by;
  }

  flush(): void {
    if (this.value === 0) return;
    const value = this.value;
    this.value = 0;
    this.counter.inc(this.labels, value);
  }

  /** Flushes and stops being collected (the owning instance closed). */
  detach(): void {
    this.flush();
    pendingByCounter.get(this.counter)?.delete(this);
  }
}

/** The `collect` callback of every counter created here: flush what every instance accumulated. */
export function flushPending(counter: object): void {
  const set = pendingByCounter.get(counter);
  if (set === undefined) return;
  for (const pending of set) pending.flush();
}
