/**
 * Message ids as the WebSocket API carries them: base64 of the broker's
 * `MessageIdData` protobuf. `serialize()` returns those bytes, which is the same
 * format pulsar-client's `MessageId.serialize()` produces.
 */
import { InvalidConfigurationError } from './errors.js';

const UINT64_MASK = (1n << 64n) - 1n;
const INT64_MAX = (1n << 63n) - 1n;

// MessageIdData field numbers (PulsarApi.proto).
const FIELD_LEDGER_ID = 1;
const FIELD_ENTRY_ID = 2;
const FIELD_PARTITION = 3;
const FIELD_BATCH_INDEX = 4;

export class WebSocketMessageId {
  // Decoded lazily: a consumer that only acks never pays for protobuf parsing.
  private fields: MessageIdFields | undefined;
  private bytes: Buffer | undefined;
  private base64: string | undefined;
  private text: string | undefined;

  private constructor(source: { fields?: MessageIdFields; bytes?: Buffer; base64?: string }) {
    this.fields = source.fields;
    this.bytes = source.bytes;
    this.base64 = source.base64;
  }

  static earliest(): WebSocketMessageId {
    return new WebSocketMessageId({ fields: { ledgerId: -1n, entryId: -1n, partition: -1, batchIndex: -1 } });
  }

  static latest(): WebSocketMessageId {
    return new WebSocketMessageId({ fields: { ledgerId: INT64_MAX, entryId: INT64_MAX, partition: -1, batchIndex: -1 } });
  }

  static deserialize(data: Buffer): WebSocketMessageId {
    return new WebSocketMessageId({ fields: decodeMessageIdData(data), bytes: Buffer.from(data) });
  }

  /** From the `messageId` field of a WebSocket frame; validated on first use. */
  static fromBase64(text: string): WebSocketMessageId {
    return new WebSocketMessageId({ base64: text });
  }

  get ledgerId(): bigint {
    return this.decoded().ledgerId;
  }

  get entryId(): bigint {
    return this.decoded().entryId;
  }

  /** Partition index, -1 for a non-partitioned topic. */
  get partition(): number {
    return this.decoded().partition;
  }

  get batchIndex(): number {
    return this.decoded().batchIndex;
  }

  serialize(): Buffer {
    return Buffer.from(this.rawBytes());
  }

  /** The form the WebSocket API expects in ack and nack frames. */
  toBase64(): string {
    this.base64 ??= this.rawBytes().toString('base64');
    return this.base64;
  }

  /** Same format as pulsar-client: `(ledgerId,entryId,partition,batchIndex)`. */
  toString(): string {
    if (this.text === undefined) {
      const f = this.decoded();
      this.text = `(${f.ledgerId},${f.entryId},${f.partition},${f.batchIndex})`;
    }
    return this.text;
  }

  equals(other: WebSocketMessageId): boolean {
    const a = this.decoded();
    const b = other.decoded();
    return a.ledgerId === b.ledgerId && a.entryId === b.entryId && a.partition === b.partition && a.batchIndex === b.batchIndex;
  }

  private rawBytes(): Buffer {
    if (this.bytes === undefined) {
      this.bytes = this.base64 !== undefined ? Buffer.from(this.base64, 'base64') : encodeMessageIdData(this.decoded());
    }
    return this.bytes;
  }

  private decoded(): MessageIdFields {
    this.fields ??= decodeMessageIdData(this.rawBytes());
    return this.fields;
  }
}

/** Any pulsar-client-shaped MessageId: ours, or one that serializes to MessageIdData. */
export function toWebSocketMessageId(id: { serialize(): Buffer }): WebSocketMessageId {
  if (id instanceof WebSocketMessageId) return id;
  if (id === null || typeof id !== 'object' || typeof id.serialize !== 'function') {
    throw new InvalidConfigurationError(`Expected a MessageId (an object with serialize()), got ${String(id)}`);
  }
  return WebSocketMessageId.deserialize(id.serialize());
}

interface MessageIdFields {
  ledgerId: bigint;
  entryId: bigint;
  partition: number;
  batchIndex: number;
}

function decodeMessageIdData(data: Buffer): MessageIdFields {
  const fields: MessageIdFields = { ledgerId: 0n, entryId: 0n, partition: -1, batchIndex: -1 };
  let offset = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (offset >= data.length || shift > 63n) throw new InvalidConfigurationError('Malformed message id: truncated varint');
      const byte = data[offset++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result & UINT64_MASK;
      shift += 7n;
    }
  };
  while (offset < data.length) {
    const tag = Number(readVarint());
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === 0) {
      const value = readVarint();
      if (field === FIELD_LEDGER_ID) fields.ledgerId = BigInt.asIntN(64, value);
      else if (field === FIELD_ENTRY_ID) fields.entryId = BigInt.asIntN(64, value);
      else if (field === FIELD_PARTITION) fields.partition = Number(BigInt.asIntN(32, value));
      else if (field === FIELD_BATCH_INDEX) fields.batchIndex = Number(BigInt.asIntN(32, value));
    } else if (wireType === 2) {
      const length = Number(readVarint());
      offset += length; // ack_set packing, first_chunk_message_id: not needed by this client
    } else if (wireType === 1) {
      offset += 8;
    } else if (wireType === 5) {
      offset += 4;
    } else {
      throw new InvalidConfigurationError(`Malformed message id: unsupported wire type ${wireType}`);
    }
  }
  if (offset !== data.length) throw new InvalidConfigurationError('Malformed message id: truncated field');
  return fields;
}

function encodeMessageIdData(fields: MessageIdFields): Buffer {
  const bytes: number[] = [];
  const writeVarint = (value: bigint): void => {
    let v = value & UINT64_MASK;
    while (v >= 0x80n) {
      bytes.push(Number((v & 0x7fn) | 0x80n));
      v >>= 7n;
    }
    bytes.push(Number(v));
  };
  writeVarint(BigInt((FIELD_LEDGER_ID << 3) | 0));
  writeVarint(fields.ledgerId);
  writeVarint(BigInt((FIELD_ENTRY_ID << 3) | 0));
  writeVarint(fields.entryId);
  if (fields.partition !== -1) {
    writeVarint(BigInt((FIELD_PARTITION << 3) | 0));
    writeVarint(BigInt(fields.partition));
  }
  if (fields.batchIndex !== -1) {
    writeVarint(BigInt((FIELD_BATCH_INDEX << 3) | 0));
    writeVarint(BigInt(fields.batchIndex));
  }
  return Buffer.from(bytes);
}
