/**
 * Pure per-key rules over small records: ordering, processing windows,
 * in-flight bookkeeping and the stall sweep. No I/O, no timers, no telemetry:
 * every method takes the current time from its caller, so tests drive it with
 * an injected clock.
 */
import { KeyState, KeyTable, PendingRedeliveries, SEQ_BACKWARDS, SEQ_FORWARD, type InflightLink, type SequenceOrder } from './key-table.js';
import { RecentlySettled } from './recently-settled.js';

export type ViolationKind = 'reorder' | 'redelivery_reorder' | 'concurrent';

export interface TrackerOptions {
  maxTrackedKeys: number;
  stallThresholdMs: number;
  topStalledKeys: number;
  /** Upper bound of deliveries tracked in flight across all streams. Default: unbounded. */
  maxInflightMessages?: number;
  /** Settled message ids (batch entries) remembered per stream to recognise redeliveries. Default 0: none. */
  recentSettledIds?: number;
}

/**
 * How long a locally known redelivery stays expected past the time it is due
 * (now, or after the nack delay): the stall threshold. A redelivery not seen
 * by then went to another consumer, and the key's order is judged strictly again.
 */
const redeliveryGraceMs = (options: TrackerOptions): number => options.stallThresholdMs;

/** Upper bound on distinct producer ids kept as shared strings. */
const MAX_INTERNED_PRODUCERS = 4096;

/** One (topic, subscription) pair as seen by this process. */
export class Stream {
  inflight = 0;
  inflightKeys = 0;
  /** In-flight deliveries of this stream in receive order (oldest first). */
  oldest: Delivery | undefined = undefined;
  newest: Delivery | undefined = undefined;
  /** In-flight deliveries by message id: a delivery of an id held here is a redelivery. */
  readonly held = new Map<string, Delivery>();
  readonly recentlySettled: RecentlySettled;

  constructor(
    readonly topic: string,
    readonly subscription: string,
    /** This stream's keys; the bound and the eviction clock are shared across streams. */
    readonly keys: Map<string, KeyState>,
    recentSettledIds: number,
  ) {
    this.recentlySettled = new RecentlySettled(recentSettledIds);
  }
}

/**
 * One delivery of a message to the application, from receive until settle.
 * Wrappers may extend it with their own per-delivery state, so a message
 * costs one object.
 */
export class Delivery implements InflightLink {
  keyState: KeyState | undefined = undefined;
  previousOfKey: Delivery | undefined = undefined;
  nextOfKey: Delivery | undefined = undefined;
  previousOfStream: Delivery | undefined = undefined;
  nextOfStream: Delivery | undefined = undefined;
  inflight = false;
  stallCounted = false;
  inWindow = false;
  /** The stamped sequence number, when the message carries valid stamps and a key. (Undefined rather than NaN keeps the field tagged: no number box per delivery.) */
  seq: number | undefined = undefined;
  /** The stamped producer, with `seq`: together they name the message, so no id is needed to recognise it again. */
  producer: string | undefined = undefined;
  /** Set by `register` when this delivery broke the order of its key. */
  violation: ViolationKind | undefined = undefined;
  /**
   * The message id as text: how a redelivery of a message without stamps or
   * key is recognised (read for the others only when something needs it).
   */
  messageId: string | undefined = undefined;

  constructor(
    readonly stream: Stream,
    /** Undefined for keyless messages, which are counted in flight but not tracked per key. */
    readonly key: string | undefined,
    readonly receivedAt: number,
  ) {}
}

export interface StreamSweep {
  stream: Stream;
  inflightMessages: number;
  inflightKeys: number;
  oldestInflightMs: number;
  stalledMessages: number;
  newStalls: number;
  headOfLineBlocked: number;
}

export interface StalledKey {
  stream: Stream;
  key: string;
  ageMs: number;
}

export interface SweepResult {
  streams: StreamSweep[];
  /** The oldest stalled keys across all streams, oldest first, at most `topStalledKeys`. */
  topStalledKeys: StalledKey[];
  trackedKeys: number;
  evictions: number;
}

/** The delivery of `keyState` in flight with these stamps, if any (newest first: a repeat is usually recent). */
function heldWithStamps(keyState: KeyState, producer: string, seq: number): Delivery | undefined {
  for (let d = keyState.newestInflight as Delivery | undefined; d !== undefined; d = d.previousOfKey) {
    if (d.seq === seq && d.producer === producer) return d;
  }
  return undefined;
}

export class Tracker {
  readonly keys: KeyTable;
  private readonly streams = new Map<string, Stream>();
  private readonly producers = new Map<string, string>();
  /** Deliveries in flight across all streams. */
  inflight = 0;
  /** What the last `register` found: whether its message came before, and the in-flight delivery it replaced. */
  redelivered = false;
  superseded: Delivery | undefined = undefined;
  readonly maxInflightMessages: number;

  constructor(readonly options: TrackerOptions) {
    this.keys = new KeyTable(options.maxTrackedKeys);
    this.maxInflightMessages = options.maxInflightMessages ?? Number.POSITIVE_INFINITY;
  }

  /** True when more deliveries are in flight than `maxInflightMessages`: the caller drops the oldest (`oldestInflight`). */
  get overInflightBound(): boolean {
    return this.inflight > this.maxInflightMessages;
  }

  /**
   * The delivery in flight longest across all streams, other than `except`
   * (the one just registered). Compares the streams' oldest deliveries, so it
   * costs one step per stream; it only runs beyond the in-flight bound.
   */
  oldestInflight(except: Delivery): Delivery | undefined {
    let oldest: Delivery | undefined;
    for (const stream of this.streams.values()) {
      let head = stream.oldest;
      if (head === except) head = head.nextOfStream;
      if (head !== undefined && (oldest === undefined || head.receivedAt < oldest.receivedAt)) oldest = head;
    }
    return oldest;
  }

  stream(topic: string, subscription: string): Stream {
    const id = `${topic}\u0000${subscription}`;
    let stream = this.streams.get(id);
    if (stream === undefined) {
      stream = new Stream(topic, subscription, this.keys.createScope(), this.options.recentSettledIds ?? 0);
      this.streams.set(id, stream);
    }
    return stream;
  }

  /** Creates and registers a delivery; see `register`. */
  deliver(
    stream: Stream,
    key: string | undefined,
    producer: string | undefined,
    seq: number,
    redeliveryCount: number,
    now: number,
  ): Delivery {
    return this.register(new Delivery(stream, key, now), producer, seq, redeliveryCount > 0);
  }

  /**
   * Puts a delivery in flight and checks its order. `seq` is NaN and
   * `producer` undefined when the message carries no valid stamps.
   * `countSaysRedelivered`: the broker's redelivery count is above zero.
   *
   * A delivery of a message this stream holds in flight, or settled
   * recently, is a redelivery whatever the count says: going backwards it is
   * `redelivery_reorder`, and the delivery in flight of that message is
   * settled here and left in `superseded` for the caller. A keyed message
   * with stamps is named by them (looked up among its key's deliveries in
   * flight and the recently settled stamps), and only when its seq does not
   * move its key forward, since otherwise it cannot repeat a message of that
   * key; any other message is named by its id. The answer is in
   * `redelivered` until the next call.
   */
  register<D extends Delivery>(delivery: D, producer: string | undefined, seq: number, countSaysRedelivered: boolean): D {
    const stream = delivery.stream;
    const key = delivery.key;
    let keyState: KeyState | undefined;
    let order: SequenceOrder | undefined;
    if (key !== undefined) {
      keyState = this.keys.touch(stream.keys, key);
      if (producer !== undefined && !Number.isNaN(seq)) {
        delivery.seq = seq;
        delivery.producer = this.intern(producer);
        order = keyState.observeSequence(delivery.producer, seq);
      }
    }
    let redelivered = countSaysRedelivered;
    let superseded: Delivery | undefined;
    const messageId = delivery.messageId;
    if (order !== undefined) {
      // Named by its stamps: only a seq that does not move its key forward can repeat a message.
      if (order !== SEQ_FORWARD) {
        superseded = heldWithStamps(keyState as KeyState, delivery.producer as string, seq);
        if (superseded !== undefined) {
          this.settle(superseded);
          redelivered = true;
        } else if (!redelivered && stream.recentlySettled.hasStamp(delivery.producer as string, seq)) redelivered = true;
      }
    } else if (messageId !== undefined) {
      superseded = stream.held.get(messageId);
      if (superseded !== undefined) {
        this.settle(superseded);
        redelivered = true;
      } else if (!redelivered && stream.recentlySettled.has(messageId)) redelivered = true;
    }
    this.superseded = superseded;
    this.redelivered = redelivered;
    // A repeated or lower seq is a message coming again (or a genuine reorder):
    // the rare path, where locally known redeliveries are consulted.
    if (keyState !== undefined && order !== undefined && order !== SEQ_FORWARD) {
      const expected = keyState.pendingRedeliveries !== undefined && this.consumeExpectedRedelivery(keyState, seq, delivery.receivedAt);
      if (order === SEQ_BACKWARDS) delivery.violation = redelivered || expected ? 'redelivery_reorder' : 'reorder';
    }
    delivery.keyState = keyState;
    delivery.inflight = true;
    if (order === undefined && messageId !== undefined) stream.held.set(messageId, delivery);

    this.inflight++;
    stream.inflight++;
    const tail = stream.newest;
    if (tail === undefined) stream.oldest = delivery;
    else {
      tail.nextOfStream = delivery;
      delivery.previousOfStream = tail;
    }
    stream.newest = delivery;

    if (keyState !== undefined) {
      const keyTail = keyState.newestInflight as Delivery | undefined;
      if (keyTail === undefined) stream.inflightKeys++;
      else {
        keyTail.nextOfKey = delivery;
        delivery.previousOfKey = keyTail;
      }
      keyState.newestInflight = delivery;
    }
    return delivery;
  }

  /** Ends the in-flight period of a delivery (ack, nack, or its consumer closing). Idempotent. */
  settle(delivery: Delivery): void {
    if (!delivery.inflight) return;
    delivery.inflight = false;
    const stream = delivery.stream;
    this.inflight--;
    stream.inflight--;
    const { previousOfStream, nextOfStream } = delivery;
    if (previousOfStream === undefined) stream.oldest = nextOfStream;
    else previousOfStream.nextOfStream = nextOfStream;
    if (nextOfStream === undefined) stream.newest = previousOfStream;
    else nextOfStream.previousOfStream = previousOfStream;
    delivery.previousOfStream = delivery.nextOfStream = undefined;
    const messageId = delivery.messageId;
    if (delivery.producer !== undefined && delivery.seq !== undefined)
      stream.recentlySettled.rememberStamp(delivery.producer, delivery.seq);
    else if (messageId !== undefined) {
      if (stream.held.get(messageId) === delivery) stream.held.delete(messageId);
      stream.recentlySettled.remember(messageId);
    }

    const keyState = delivery.keyState;
    if (keyState !== undefined) {
      const { previousOfKey, nextOfKey } = delivery;
      if (previousOfKey !== undefined) previousOfKey.nextOfKey = nextOfKey;
      if (nextOfKey === undefined) keyState.newestInflight = previousOfKey;
      else nextOfKey.previousOfKey = previousOfKey;
      delivery.previousOfKey = delivery.nextOfKey = undefined;
      if (keyState.newestInflight === undefined) stream.inflightKeys--;
    }
  }

  /**
   * Notes that `delivery`'s message will come again although the broker may
   * report redelivery count 0 (Exclusive and Failover subscriptions keep no
   * count): it was nacked, its consumer closed while it was in flight, or its
   * ack timeout passed. `dueInMs` is when it is expected (the nack delay, or 0).
   * A later lower-seq delivery of its key then counts as `redelivery_reorder`.
   */
  expectRedelivery(delivery: Delivery, now: number, dueInMs: number): void {
    const keyState = delivery.keyState;
    const seq = delivery.seq;
    if (keyState === undefined || seq === undefined) return;
    let pending = keyState.pendingRedeliveries;
    if (pending === undefined) pending = keyState.pendingRedeliveries = new PendingRedeliveries();
    else if (now > pending.expiresAt) {
      pending.count = 0;
      pending.lowestSeq = Number.POSITIVE_INFINITY;
    }
    pending.count++;
    if (seq < pending.lowestSeq) pending.lowestSeq = seq;
    pending.expiresAt = Math.max(pending.expiresAt, now + dueInMs + redeliveryGraceMs(this.options));
  }

  /**
   * Whether a message of `keyState` coming again with `seq` is one of its
   * expected redeliveries; if so it is taken off the record, which is dropped
   * once every expected one came back (the key caught up) or it lapsed.
   */
  private consumeExpectedRedelivery(keyState: KeyState, seq: number, now: number): boolean {
    const pending = keyState.pendingRedeliveries as PendingRedeliveries;
    if (now > pending.expiresAt) {
      keyState.pendingRedeliveries = undefined;
      return false;
    }
    // Older than anything expected back: not explained by those redeliveries.
    if (seq < pending.lowestSeq) return false;
    if (--pending.count === 0) keyState.pendingRedeliveries = undefined;
    return true;
  }

  /**
   * Opens a processing window for a delivery. Returns true when another
   * window of the same key is already open in this process (`concurrent`).
   */
  beginWindow(delivery: Delivery): boolean {
    if (delivery.inWindow) return false;
    delivery.inWindow = true;
    const keyState = delivery.keyState;
    if (keyState === undefined) return false;
    return keyState.processingWindows++ > 0;
  }

  endWindow(delivery: Delivery): void {
    if (!delivery.inWindow) return;
    delivery.inWindow = false;
    if (delivery.keyState !== undefined) delivery.keyState.processingWindows--;
  }

  /**
   * Computes in-flight, stall and head-of-line figures. Cost is one pass over
   * the stalled prefix of each stream's in-flight list (deliveries are kept in
   * receive order, so the stalled ones are exactly a prefix), plus the
   * deliveries queued behind each stalled key's oldest one.
   */
  sweep(now: number): SweepResult {
    this.keys.trim();
    const cutoff = now - this.options.stallThresholdMs;
    const limit = this.options.topStalledKeys;
    const streams: StreamSweep[] = [];
    const candidates: StalledKey[] = [];
    for (const stream of this.streams.values()) {
      let stalledMessages = 0;
      let newStalls = 0;
      let headOfLineBlocked = 0;
      let stalledKeysListed = 0;
      for (let d = stream.oldest; d !== undefined && d.receivedAt <= cutoff; d = d.nextOfStream) {
        stalledMessages++;
        if (!d.stallCounted) {
          d.stallCounted = true;
          newStalls++;
        }
        // The oldest in-flight delivery of its key holds back the key's later ones.
        if (d.keyState !== undefined && d.previousOfKey === undefined) {
          for (let behind = d.nextOfKey; behind !== undefined; behind = behind.nextOfKey) headOfLineBlocked++;
          if (stalledKeysListed < limit && d.key !== undefined) {
            stalledKeysListed++;
            candidates.push({ stream, key: d.key, ageMs: now - d.receivedAt });
          }
        }
      }
      streams.push({
        stream,
        inflightMessages: stream.inflight,
        inflightKeys: stream.inflightKeys,
        oldestInflightMs: stream.oldest === undefined ? 0 : Math.max(0, now - stream.oldest.receivedAt),
        stalledMessages,
        newStalls,
        headOfLineBlocked,
      });
    }
    candidates.sort((a, b) => b.ageMs - a.ageMs);
    if (candidates.length > limit) candidates.length = limit;
    return {
      streams,
      topStalledKeys: candidates,
      trackedKeys: this.keys.size,
      evictions: this.keys.evictions,
    };
  }

  /** Producer ids repeat on every message; keeping one copy each keeps key state small. */
  private intern(producer: string): string {
    const shared = this.producers.get(producer);
    if (shared !== undefined) return shared;
    if (this.producers.size < MAX_INTERNED_PRODUCERS) this.producers.set(producer, producer);
    return producer;
  }
}

export { KeyState, KeyTable };
