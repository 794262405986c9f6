/**
 * Messages of one stream that were settled recently, so that a message
 * coming again is recognised as a redelivery whatever its redelivery count
 * says (Pulsar sends count 0 after a reconnect, on Exclusive and Failover
 * always, and for the siblings of a nacked batch message).
 *
 * A message is named by its stamps (producer and seq) when it carries them:
 * no message id has to be read from the client for it. Other messages are
 * named by their id; a batch then costs one record: its messages share the
 * entry (ledger, entry, partition) and are delivered in batch-index order,
 * so the highest index settled tells which of them were delivered before.
 *
 * Bounded: the last `capacity` messages settled with stamps; ids in two
 * generations of `capacity / 2` entries each, a full current generation
 * becoming the previous one and the previous one dropped whole, so the last
 * `capacity / 2` to `capacity` entries are remembered and the hot path never
 * deletes from a Map (deleting the oldest entry of a large Map one by one
 * leaves holes that cost a rehash every few thousand messages).
 */

/** A message id's text cut into its entry and batch index (`(ledger,entry,partition,batchIndex)`, as pulsar-client and the WebSocket client write it). */
export interface EntryOfId {
  entry: string;
  /** -1 for a message not in a batch, or an id of another form (then the whole text is the entry). */
  batchIndex: number;
}

/** One generation of message id entries, with the highest batch index settled (-1 outside a batch). */
type Generation = Map<string, number>;

export class RecentlySettled {
  private current: Generation = new Map();
  private previous: Generation = new Map();
  private readonly generationSize: number;
  /** Reused by every call: reading an id allocates only the entry string. */
  private readonly scratch: EntryOfId = { entry: '', batchIndex: -1 };
  /**
   * The last `capacity` messages settled with stamps, as a ring of parallel
   * arrays: remembering one allocates nothing. Looking one up walks the ring,
   * which only a delivery that may repeat a message asks for (see Tracker.register).
   */
  private readonly stampSeqs: number[] = [];
  private readonly stampProducers: string[] = [];
  private nextStamp = 0;

  constructor(readonly capacity: number) {
    this.generationSize = Math.max(1, Math.ceil(capacity / 2));
  }

  /** Records remembered: id entries and stamps. */
  get size(): number {
    return this.current.size + this.previous.size + this.stampSeqs.length;
  }

  remember(messageId: string): void {
    if (this.capacity <= 0) return;
    const { entry, batchIndex } = splitMessageId(messageId, this.scratch);
    // A batch entry keeps its highest index; anything else is simply (re)set.
    if (batchIndex >= 0) {
      const known = this.current.get(entry) ?? this.previous.get(entry);
      if (known !== undefined && known >= batchIndex) return;
    }
    if (this.current.size >= this.generationSize) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(entry, batchIndex);
  }

  /** Whether a delivery of `messageId` repeats one settled recently. */
  has(messageId: string): boolean {
    if (this.current.size === 0) return false;
    const { entry, batchIndex } = splitMessageId(messageId, this.scratch);
    const known = this.current.get(entry) ?? this.previous.get(entry);
    return known !== undefined && batchIndex <= known;
  }

  /** Remembers a message settled with stamps (`producer` interned, as the tracker keeps it). */
  rememberStamp(producer: string, seq: number): void {
    if (this.capacity <= 0) return;
    if (this.stampSeqs.length < this.capacity) {
      this.stampSeqs.push(seq);
      this.stampProducers.push(producer);
      return;
    }
    this.stampSeqs[this.nextStamp] = seq;
    this.stampProducers[this.nextStamp] = producer;
    this.nextStamp = (this.nextStamp + 1) % this.capacity;
  }

  /** Whether a delivery with these stamps repeats a message settled recently. */
  hasStamp(producer: string, seq: number): boolean {
    const seqs = this.stampSeqs;
    for (let i = 0; i < seqs.length; i++) {
      if (seqs[i] === seq && this.stampProducers[i] === producer) return true;
    }
    return false;
  }
}

const NOT_IN_BATCH_SUFFIX = ',-1)';
const OPEN_PAREN = 40;
const CLOSE_PAREN = 41;
const COMMA = 44;

/** Cuts `(ledger,entry,partition,batchIndex)` into its entry and batch index; any other text is an entry of its own. */
export function splitMessageId(messageId: string, into: EntryOfId = { entry: '', batchIndex: -1 }): EntryOfId {
  // The common case, a message not in a batch: its whole id names its entry, nothing to cut.
  if (messageId.endsWith(NOT_IN_BATCH_SUFFIX)) {
    into.entry = messageId;
    into.batchIndex = -1;
    return into;
  }
  const last = messageId.length - 1;
  const separator = messageId.lastIndexOf(',');
  if (
    messageId.charCodeAt(0) === OPEN_PAREN &&
    messageId.charCodeAt(last) === CLOSE_PAREN &&
    separator > 0 &&
    commas(messageId, separator) === 2
  ) {
    const batchIndex = Number(messageId.slice(separator + 1, last));
    if (Number.isInteger(batchIndex)) {
      into.entry = messageId.slice(0, separator);
      into.batchIndex = batchIndex < 0 ? -1 : batchIndex;
      return into;
    }
  }
  into.entry = messageId;
  into.batchIndex = -1;
  return into;
}

function commas(text: string, before: number): number {
  let count = 0;
  for (let i = 1; i < before; i++) if (text.charCodeAt(i) === COMMA) count++;
  return count;
}
