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
  return (typeof fields.ledgerId === 'bigint' || typeof fields.ledgerId === 'number') && typeof fields.partition === 'number' && typeof fields.batchIndex === 'number';
}

/** `(ledger,entry,partition,batchIndex)` to the agent's form; anything else unchanged. */
function fromTuple(text: string): string {
  const length = text.length;
  if (length < 9 || text.charCodeAt(0) !== 0x28 /* ( */ || text.charCodeAt(length - 1) !== 0x29 /* ) */) return text;
  const c1 = text.indexOf(',', 1);
  const c2 = c1 < 0 ? -1 : text.indexOf(',', c1 + 1);
  const c3 = c2 < 0 ? -1 : text.indexOf(',', c2 + 1);
  if (c3 < 0 || text.indexOf(',', c3 + 1) >= 0) return text;
  const ledger = text.slice(1, c1);
  const entry = text.slice(c1 + 1, c2);
  const partition = text.slice(c2 + 1, c3);
  const batchIndex = text.slice(c3 + 1, length - 1);
  if (!isInteger(ledger) || !isInteger(entry) || !isInteger(partition) || !isInteger(batchIndex)) return text;
  return joinParts(ledger, entry, Number(partition), Number(batchIndex));
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

function isInteger(text: string): boolean {
  return text.charCodeAt(0) === 0x2d /* - */ ? isDigits(text.slice(1)) : isDigits(text);
}
