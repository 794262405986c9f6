/**
 * Message ids of one stream that were settled recently, so that a message
 * coming again is recognised as a redelivery whatever its redelivery count
 * says (Pulsar sends count 0 after a reconnect, on Exclusive and Failover
 * always, and for the siblings of a nacked batch message).
 *
 * A batch costs one record: its messages share the entry (ledger, entry,
 * partition) and are delivered in batch-index order, so the highest index
 * settled tells which of them were delivered before.
 *
 * Bounded in two generations of `capacity / 2` entries each: a full current
 * generation becomes the previous one, and the previous one is dropped whole.
 * So the last `capacity / 2` to `capacity` entries settled are remembered,
 * and the hot path never deletes from a Map (deleting the oldest entry of a
 * large Map one by one leaves holes that cost a rehash every few thousand
 * messages).
 */

/** A message id's text cut into its entry and batch index (`(ledger,entry,partition,batchIndex)`, as pulsar-client and the WebSocket client write it). */
export interface EntryOfId {
  entry: string;
  /** -1 for a message not in a batch, or an id of another form (then the whole text is the entry). */
  batchIndex: number;
}

export class RecentlySettled {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private readonly generationSize: number;
  /** Reused by every call: reading an id allocates only the entry string. */
  private readonly scratch: EntryOfId = { entry: '', batchIndex: -1 };

  constructor(readonly capacity: number) {
    this.generationSize = Math.max(1, Math.ceil(capacity / 2));
  }

  get size(): number {
    return this.current.size + this.previous.size;
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
