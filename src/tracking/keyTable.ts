/**
 * Bounded table of per-key state, least recently active evicted first.
 *
 * Recency is the insertion order of a `Map`: touching a key moves it to the
 * end, so the first entries are the least recently active and eviction is
 * O(1) amortised. A key with messages in flight, or inside a processing
 * window, is never evicted: such a key is rotated to the end instead.
 */

/** How many producers' sequence numbers one key remembers besides the latest. */
const MAX_EXTRA_PRODUCERS_PER_KEY = 8;

/** Candidates examined per insertion before the table is allowed to stay over its cap. */
const EVICTION_SCAN_LIMIT = 16;

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

  get isBusy(): boolean {
    return this.inflight > 0 || this.processingWindows > 0;
  }

  /**
   * Records `seq` from `producer` and reports whether it is lower than one
   * already seen for this (key, producer) pair.
   */
  observeSequence(producer: string, seq: number): boolean {
    if (this.producer === undefined || this.producer === producer) {
      this.producer = producer;
      if (seq < this.seq) return true;
      this.seq = seq;
      return false;
    }
    const others = this.otherProducers;
    if (others !== undefined) {
      for (let i = 0; i < others.length; i += 2) {
        if (others[i] === producer) {
          const last = others[i + 1] as number;
          if (seq < last) return true;
          others[i + 1] = seq;
          return false;
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
    return false;
  }
}

/** The part of an in-flight record the key table links through. */
export interface InflightLink {
  previousOfKey: InflightLink | undefined;
  nextOfKey: InflightLink | undefined;
}

export class KeyTable {
  private readonly keys = new Map<string, KeyState>();
  private mostRecentId: string | undefined;
  evictions = 0;

  constructor(readonly maxKeys: number) {}

  get size(): number {
    return this.keys.size;
  }

  /** Returns the state for `id`, creating it, and marks it most recently active. */
  touch(id: string): KeyState {
    const existing = this.keys.get(id);
    if (existing !== undefined) {
      if (this.mostRecentId !== id) {
        this.keys.delete(id);
        this.keys.set(id, existing);
        this.mostRecentId = id;
      }
      return existing;
    }
    // Room is made before inserting, so the new key is never its own eviction candidate.
    if (this.keys.size >= this.maxKeys) this.evict(this.maxKeys - 1, EVICTION_SCAN_LIMIT);
    const created = new KeyState();
    this.keys.set(id, created);
    this.mostRecentId = id;
    return created;
  }

  get(id: string): KeyState | undefined {
    return this.keys.get(id);
  }

  /**
   * Brings the table back under its cap where possible. Busy keys met on the
   * way are rotated to the end so that later scans start at idle keys.
   */
  private evict(targetSize: number, scanLimit: number): void {
    let scanned = 0;
    while (this.keys.size > targetSize && scanned < scanLimit) {
      const first = this.keys.entries().next();
      if (first.done === true) return;
      const [id, state] = first.value;
      scanned++;
      this.keys.delete(id);
      if (state.isBusy) {
        this.keys.set(id, state);
      } else {
        this.evictions++;
      }
    }
  }

  /** Full trim, used by the periodic sweep (bounded by the table size). */
  trim(): void {
    if (this.keys.size > this.maxKeys) this.evict(this.maxKeys, this.keys.size);
  }
}
