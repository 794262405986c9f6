/**
 * Message ids of one stream that were settled recently, so that a message
 * coming again is recognised as a redelivery whatever its redelivery count
 * says (Pulsar sends count 0 after a reconnect, on Exclusive and Failover
 * always, and for the siblings of a nacked batch message).
 *
 * A batch costs one record: its messages share the entry (ledger, entry,
 * partition) and are delivered in batch-index order, so the highest index
 * settled tells which of them were delivered before. Bounded: beyond
 * `capacity` entries the oldest is forgotten first.
 */

/** A message id's text cut into its entry and batch index (`(ledger,entry,partition,batchIndex)`, as pulsar-client and the WebSocket client write it). */
export interface EntryOfId {
  entry: string;
  /** -1 for a message not in a batch, or an id of another form (then the whole text is the entry). */
  batchIndex: number;
}

export class RecentlySettled {
  private readonly entries = new Map<string, number>();
  /** Reused by every call: reading an id allocates only the entry string. */
  private readonly scratch: EntryOfId = { entry: '', batchIndex: -1 };

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  remember(messageId: string): void {
    if (this.capacity <= 0) return;
    const { entry, batchIndex } = splitMessageId(messageId, this.scratch);
    const entries = this.entries;
    const known = entries.get(entry);
    if (known !== undefined) {
      if (batchIndex > known) entries.set(entry, batchIndex);
      return;
    }
    if (entries.size >= this.capacity) entries.delete(entries.keys().next().value as string);
    entries.set(entry, batchIndex);
  }

  /** Whether a delivery of `messageId` repeats one settled recently. */
  has(messageId: string): boolean {
    if (this.entries.size === 0) return false;
    const { entry, batchIndex } = splitMessageId(messageId, this.scratch);
    const known = this.entries.get(entry);
    return known !== undefined && batchIndex <= known;
  }
}

const OPEN_PAREN = 40;
const CLOSE_PAREN = 41;
const COMMA = 44;

/** Cuts `(ledger,entry,partition,batchIndex)` into its entry and batch index; any other text is an entry of its own. */
export function splitMessageId(messageId: string, into: EntryOfId = { entry: '', batchIndex: -1 }): EntryOfId {
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
