/**
 * `messaging.message.id` in the form the Pulsar Java client prints and the
 * OpenTelemetry Java agent records: `ledger:entry:partition`, plus
 * `:batchIndex` for a message of a batch. A trace search by message id then
 * finds the Java and the Node side of one message alike.
 *
 * pulsar-client's MessageId offers only `toString()` (`(ledger,entry,partition,batchIndex)`,
 * batchIndex -1 outside a batch) and `serialize()`; the WebSocket client's id
 * also has the fields themselves. Only recording spans pay for this.
 */

/** A message id that exposes its fields (the WebSocket client's). */
interface MessageIdFields {
  readonly ledgerId: bigint | number;
  readonly entryId: bigint | number;
  readonly partition: number;
  readonly batchIndex: number;
}

/** The agent's form of a message id; any other shape is recorded as its own `toString()`. Never throws. */
export function formatMessageId(id: unknown): string | undefined {
  if (id === undefined || id === null) return undefined;
  try {
    if (hasFields(id)) return joinParts(String(id.ledgerId), String(id.entryId), id.partition, id.batchIndex);
    return fromTuple(String(id));
  } catch {
    return undefined;
  }
}

/**
 * The partition index in a formatted id (its third part) as a string, or
 * undefined for a non-partitioned topic or an id of another shape.
 */
export function partitionOfMessageId(formatted: string): string | undefined {
  const first = formatted.indexOf(':');
  if (first < 0) return undefined;
  const second = formatted.indexOf(':', first + 1);
  if (second < 0) return undefined;
  const third = formatted.indexOf(':', second + 1);
  const partition = formatted.slice(second + 1, third < 0 ? formatted.length : third);
  return isDigits(partition) ? partition : undefined;
}

function hasFields(id: unknown): id is MessageIdFields {
  if (typeof id !== 'object' || id === null || !('ledgerId' in id) || !('batchIndex' in id)) return false;
  const fields = id as Partial<MessageIdFields>;
  return (
    (typeof fields.ledgerId === 'bigint' || typeof fields.ledgerId === 'number') &&
    typeof fields.partition === 'number' &&
    typeof fields.batchIndex === 'number'
  );
}

/**
 * `(ledger,entry,partition,batchIndex)` to the agent's form in one pass over
 * the characters (this runs for every recorded message); anything else unchanged.
 */
function fromTuple(text: string): string {
  const last = text.length - 1;
  if (last < 8 || text.charCodeAt(0) !== 0x28 /* ( */ || text.charCodeAt(last) !== 0x29 /* ) */) return text;
  let c1 = -1;
  let c2 = -1;
  let c3 = -1;
  let previous = 0x28;
  for (let i = 1; i < last; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2c /* , */) {
      if (previous === 0x28 || previous === 0x2c || previous === 0x2d || c3 >= 0) return text;
      if (c1 < 0) c1 = i;
      else if (c2 < 0) c2 = i;
      else c3 = i;
    } else if (c === 0x2d /* - */) {
      if (previous !== 0x28 && previous !== 0x2c) return text;
    } else if (c < 0x30 || c > 0x39) {
      return text;
    }
    previous = c;
  }
  if (c3 < 0 || previous === 0x2c || previous === 0x2d) return text;
  const base = text.slice(1, c1) + ':' + text.slice(c1 + 1, c2) + ':' + text.slice(c2 + 1, c3);
  // A negative batch index (-1) means the message is not part of a batch.
  return text.charCodeAt(c3 + 1) === 0x2d ? base : base + ':' + text.slice(c3 + 1, last);
}

function joinParts(ledger: string, entry: string, partition: number, batchIndex: number): string {
  const base = ledger + ':' + entry + ':' + partition;
  return batchIndex >= 0 ? base + ':' + batchIndex : base;
}

function isDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
