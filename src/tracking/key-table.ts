/**
 * Bounded table of per-key state: when it is full, an idle key that was not
 * used again since it was last looked at is evicted (the "clock" or
 * second-chance rule, a close approximation of least recently used).
 *
 * Keys are looked up in one Map per stream (no composite strings to build),
 * and the Maps' insertion order is the clock: eviction looks at the oldest
 * entry of one stream's Map after another; a key used since it was added or
 * last passed, or one with messages in flight or inside a processing window,
 * gets a second chance (moved to the end of its Map) instead. Touching a key
 * is one lookup and one flag, and a key costs its state and its Map entry
 * only: no recency links, no copy of the key or of its Map in the state.
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
  /**
   * Newest in-flight delivery of this key; the others are linked before it
   * in receive order (the oldest has no `previousOfKey`). Undefined: none in flight.
   */
  newestInflight: InflightLink | undefined = undefined;
  processingWindows = 0;
  /** Allocated on the first locally known redelivery of this key; undefined otherwise. */
  pendingRedeliveries: PendingRedeliveries | undefined = undefined;
  /** Used since the eviction clock last passed it (or since it was added): spared once. */
  usedAgain = false;

  get isBusy(): boolean {
    return this.newestInflight !== undefined || this.processingWindows > 0;
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
    this.otherProducers ??= [];
    const list = this.otherProducers;
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
  /** Every stream's lookup map, in creation order; the eviction clock goes round them. */
  private readonly scopes: Array<Map<string, KeyState>> = [];
  /**
   * Where the clock stands in each scope: a live iterator over its keys, kept
   * from one eviction to the next so that it never walks again over the
   * entries removed behind it (a Map keeps them as holes until it rehashes).
   */
  private readonly positions: Array<Iterator<string> | undefined> = [];
  /** The scope the eviction clock looks at next. */
  private hand = 0;
  evictions = 0;

  constructor(readonly maxKeys: number) {}

  get size(): number {
    return this.count;
  }

  /** A lookup map for one stream's keys; every map made here shares this table's bound. */
  createScope(): Map<string, KeyState> {
    const scope = new Map<string, KeyState>();
    this.scopes.push(scope);
    this.positions.push(undefined);
    return scope;
  }

  /** Returns the state of `key` in `scope`, creating it, and marks it used. */
  touch(scope: Map<string, KeyState>, key: string): KeyState {
    const existing = scope.get(key);
    if (existing !== undefined) {
      existing.usedAgain = true;
      return existing;
    }
    // Room is made before inserting, so the new key is never its own eviction candidate.
    if (this.count >= this.maxKeys) this.evict(this.maxKeys - 1, EVICTION_SCAN_LIMIT);
    const created = new KeyState();
    scope.set(key, created);
    this.count++;
    return created;
  }

  /** Full trim, used by the periodic sweep: two rounds, the first may only clear second chances. */
  trim(): void {
    if (this.count > this.maxKeys) this.evict(this.maxKeys, 2 * this.count);
  }

  /**
   * Evicts until `targetSize` keys are left or `scanLimit` candidates were
   * looked at; spared keys go to the end of their Map, so later scans start
   * at keys not looked at yet.
   */
  private evict(targetSize: number, scanLimit: number): void {
    const scopes = this.scopes;
    for (let scanned = 0; this.count > targetSize && scanned < scanLimit; scanned++) {
      let index = -1;
      for (let tried = 0; tried < scopes.length && index < 0; tried++) {
        if ((scopes[this.hand] as Map<string, KeyState>).size > 0) index = this.hand;
        this.hand = (this.hand + 1) % scopes.length;
      }
      if (index < 0) return;
      const scope = scopes[index] as Map<string, KeyState>;
      const key = this.nextKey(index, scope);
      const candidate = scope.get(key) as KeyState;
      scope.delete(key);
      if (candidate.usedAgain || candidate.isBusy) {
        candidate.usedAgain = false;
        scope.set(key, candidate);
        continue;
      }
      this.count--;
      this.evictions++;
    }
  }

  /** The key under the clock in a non-empty scope; past the end, the clock starts over. */
  private nextKey(index: number, scope: Map<string, KeyState>): string {
    let next = this.positions[index]?.next();
    if (next === undefined || next.done === true) {
      const position = scope.keys();
      this.positions[index] = position;
      next = position.next();
    }
    return next.value as string;
  }
}
