/**
 * Bounded table of per-key state, least recently active evicted first.
 *
 * Keys are looked up in one Map per stream (no composite strings to build),
 * and all keys of all streams share one recency list threaded through the
 * states themselves: touching a key is a lookup plus a few pointer moves, and
 * eviction takes the list head. A key with messages in flight, or inside a
 * processing window, is never evicted: it is moved to the recent end instead.
 */

/** How many producers' sequence numbers one key remembers besides the latest. */
const MAX_EXTRA_PRODUCERS_PER_KEY = 8;

/** Candidates examined per insertion before the table is allowed to stay over its cap. */
const EVICTION_SCAN_LIMIT = 16;

/** What `observeSequence` found: a new highest seq, the same seq again, or a lower one. */
export const SEQ_FORWARD = 0;
export const SEQ_REPEATED = 1;
export const SEQ_BACKWARDS = 2;
export type SequenceOrder = typeof SEQ_FORWARD | typeof SEQ_REPEATED | typeof SEQ_BACKWARDS;

/**
 * Redeliveries of one key that this process caused or saw coming (a nack, a
 * consumer closing with messages in flight, an ack timeout), which the broker
 * may report with redelivery count 0. O(1) per key: how many are expected,
 * the lowest seq among them, and when the expectation lapses.
 */
export class PendingRedeliveries {
  count = 0;
  lowestSeq = Number.POSITIVE_INFINITY;
  expiresAt = 0;
}

export class KeyState {
  /** Producer whose sequence number is kept in `seq` (the common single-producer case). */
  producer: string | undefined = undefined;
  seq = 0;
  /** Further producers as flat pairs `[producer, seq, producer, seq, ...]`, only when a key has several. */
  otherProducers: Array<string | number> | undefined = undefined;
  inflight = 0;
  /** Oldest and newest in-flight deliveries of this key, in receive order. */
  oldestInflight: InflightLink | undefined = undefined;
  newestInflight: InflightLink | undefined = undefined;
  processingWindows = 0;
  /** Allocated on the first locally known redelivery of this key; undefined otherwise. */
  pendingRedeliveries: PendingRedeliveries | undefined = undefined;
  /** Neighbours in the table's recency list (older, newer). */
  older: KeyState | undefined = undefined;
  newer: KeyState | undefined = undefined;

  constructor(
    readonly keys: Map<string, KeyState>,
    readonly key: string,
  ) {}

  get isBusy(): boolean {
    return this.inflight > 0 || this.processingWindows > 0;
  }

  /**
   * Records `seq` from `producer` and reports how it compares with the
   * highest one already seen for this (key, producer) pair.
   */
  observeSequence(producer: string, seq: number): SequenceOrder {
    if (this.producer === undefined || this.producer === producer) {
      this.producer = producer;
      if (seq < this.seq) return SEQ_BACKWARDS;
      if (seq === this.seq) return SEQ_REPEATED;
      this.seq = seq;
      return SEQ_FORWARD;
    }
    const others = this.otherProducers;
    if (others !== undefined) {
      for (let i = 0; i < others.length; i += 2) {
        if (others[i] === producer) {
          const last = others[i + 1] as number;
          if (seq < last) return SEQ_BACKWARDS;
          if (seq === last) return SEQ_REPEATED;
          others[i + 1] = seq;
          return SEQ_FORWARD;
        }
      }
    }
    // A new producer for this key becomes the primary one; the previous
    // primary moves to the overflow list (bounded, oldest dropped first).
    const list = others ?? (this.otherProducers = []);
    list.push(this.producer, this.seq);
    if (list.length > MAX_EXTRA_PRODUCERS_PER_KEY * 2) list.splice(0, 2);
    this.producer = producer;
    this.seq = seq;
    return SEQ_FORWARD;
  }
}

/** The part of an in-flight record the key table links through. */
export interface InflightLink {
  previousOfKey: InflightLink | undefined;
  nextOfKey: InflightLink | undefined;
}

export class KeyTable {
  private count = 0;
  /** Least and most recently active keys. */
  private oldest: KeyState | undefined = undefined;
  private newest: KeyState | undefined = undefined;
  evictions = 0;

  constructor(readonly maxKeys: number) {}

  get size(): number {
    return this.count;
  }

  /** A lookup map for one stream's keys; every map made here shares this table's bound. */
  createScope(): Map<string, KeyState> {
    return new Map();
  }

  /** Returns the state of `key` in `scope`, creating it, and marks it most recently active. */
  touch(scope: Map<string, KeyState>, key: string): KeyState {
    const existing = scope.get(key);
    if (existing !== undefined) {
      if (existing !== this.newest) this.moveToNewest(existing);
      return existing;
    }
    // Room is made before inserting, so the new key is never its own eviction candidate.
    if (this.count >= this.maxKeys) this.evict(this.maxKeys - 1, EVICTION_SCAN_LIMIT);
    const created = new KeyState(scope, key);
    scope.set(key, created);
    this.count++;
    this.append(created);
    return created;
  }

  /** Full trim, used by the periodic sweep (bounded by the table size). */
  trim(): void {
    if (this.count > this.maxKeys) this.evict(this.maxKeys, this.count);
  }

  /** Busy keys met on the way are moved to the recent end, so later scans start at idle keys. */
  private evict(targetSize: number, scanLimit: number): void {
    let scanned = 0;
    while (this.count > targetSize && scanned < scanLimit) {
      const candidate = this.oldest;
      if (candidate === undefined) return;
      scanned++;
      if (candidate.isBusy) {
        this.moveToNewest(candidate);
        continue;
      }
      this.unlink(candidate);
      candidate.keys.delete(candidate.key);
      this.count--;
      this.evictions++;
    }
  }

  private moveToNewest(state: KeyState): void {
    this.unlink(state);
    this.append(state);
  }

  private append(state: KeyState): void {
    const tail = this.newest;
    state.older = tail;
    state.newer = undefined;
    if (tail === undefined) this.oldest = state;
    else tail.newer = state;
    this.newest = state;
  }

  private unlink(state: KeyState): void {
    const { older, newer } = state;
    if (older === undefined) this.oldest = newer;
    else older.newer = newer;
    if (newer === undefined) this.newest = older;
    else newer.older = older;
    state.older = state.newer = undefined;
  }
}
