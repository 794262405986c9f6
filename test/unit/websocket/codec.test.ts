import { describe, expect, it } from 'vitest';
import {
  decodeConsumerFrame,
  decodeProducerAck,
  encodeAck,
  encodeNegativeAck,
  encodePermit,
  encodeProducerFrame,
  messageKeyOf,
  withContext,
} from '../../../src/websocket/codec.js';
import { InvalidConfigurationError } from '../../../src/websocket/errors.js';
import { WebSocketMessageId, toWebSocketMessageId } from '../../../src/websocket/message-id.js';
import { WebSocketMessage } from '../../../src/websocket/message.js';
import { parseTopicName } from '../../../src/websocket/topic.js';
import { messageIdBase64 } from './fake-broker.js';

describe('producer frames', () => {
  it('encodes payload, properties, key, event time and delivery time', () => {
    const frame = JSON.parse(
      withContext(
        encodeProducerFrame({
          data: Buffer.from('héllo'),
          properties: { a: '1' },
          partitionKey: 'user-1',
          eventTimestamp: 1_700_000_000_123,
          deliverAt: 1_700_000_100_000,
          deliverAfter: 250,
        }),
        '42',
      ),
    );
    expect(frame).toEqual({
      context: '42',
      payload: Buffer.from('héllo').toString('base64'),
      properties: { a: '1' },
      key: 'user-1',
      eventTime: '2023-11-14T22:13:20.123Z',
      deliverAt: 1_700_000_100_000,
      deliverAfterMs: 250,
    });
  });

  it('sends the ordering key as the message key; it wins over the partition key', () => {
    expect(messageKeyOf({ data: Buffer.alloc(0), orderingKey: 'o' })).toBe('o');
    expect(messageKeyOf({ data: Buffer.alloc(0), orderingKey: 'o', partitionKey: 'p' })).toBe('o');
    expect(messageKeyOf({ data: Buffer.alloc(0), partitionKey: 'p' })).toBe('p');
    expect(messageKeyOf({ data: Buffer.alloc(0) })).toBeUndefined();
  });

  it('maps disableReplication onto local-only replication', () => {
    const frame = JSON.parse(encodeProducerFrame({ data: Buffer.from('x'), disableReplication: true }));
    expect(frame.replicationClusters).toEqual(['__local__']);
  });

  it('rejects non-Buffer data and non-string properties', () => {
    expect(() => encodeProducerFrame({ data: 'text' as unknown as Buffer })).toThrow(InvalidConfigurationError);
    expect(() => encodeProducerFrame({ data: Buffer.from('x'), properties: { n: 1 as unknown as string } })).toThrow(/strings/);
  });

  it('decodes acks and send errors', () => {
    const ok = decodeProducerAck(JSON.stringify({ result: 'ok', messageId: messageIdBase64(5), context: '3' }));
    expect(ok.ok && ok.messageId.toString()).toBe('(7,5,-1,-1)');
    const failed = decodeProducerAck(JSON.stringify({ result: 'send-error:8', errorMsg: 'boom', context: '4' }));
    expect(failed).toEqual({ ok: false, context: '4', code: 'send-error:8', errorMessage: 'boom' });
  });
});

describe('consumer frames', () => {
  it('decodes a message; payload is decoded on demand', () => {
    const decoded = decodeConsumerFrame(
      JSON.stringify({
        messageId: messageIdBase64(9),
        payload: Buffer.from('data').toString('base64'),
        properties: { p: 'v' },
        publishTime: '2024-05-01T10:00:00.5+02:00',
        eventTime: '2024-05-01T08:00:00.25Z',
        redeliveryCount: 2,
        key: 'k',
      }),
    );
    expect(decoded.kind).toBe('message');
    if (decoded.kind !== 'message') return;
    const message = new WebSocketMessage(decoded.frame, 'persistent://public/default/t');
    expect(message.getData().toString()).toBe('data');
    expect(message.getProperties()).toEqual({ p: 'v' });
    expect(message.getPublishTimestamp()).toBe(Date.parse('2024-05-01T08:00:00.500Z'));
    expect(message.getEventTimestamp()).toBe(Date.parse('2024-05-01T08:00:00.250Z'));
    expect(message.getRedeliveryCount()).toBe(2);
    expect(message.getPartitionKey()).toBe('k');
    expect(message.getOrderingKey()).toBe('');
    expect(message.getTopicName()).toBe('persistent://public/default/t');
  });

  it('returns 0 event time and empty key when absent', () => {
    const decoded = decodeConsumerFrame(
      JSON.stringify({ messageId: messageIdBase64(1), payload: '', publishTime: '2024-01-01T00:00:00Z' }),
    );
    if (decoded.kind !== 'message') throw new Error('expected a message');
    const message = new WebSocketMessage(decoded.frame, 't');
    expect(message.getEventTimestamp()).toBe(0);
    expect(message.getPartitionKey()).toBe('');
    expect(message.getData().length).toBe(0);
  });

  it('encodes ack, nack and permit commands', () => {
    const id = WebSocketMessageId.fromBase64(messageIdBase64(3));
    expect(JSON.parse(encodeAck(id))).toEqual({ messageId: messageIdBase64(3) });
    expect(JSON.parse(encodeNegativeAck(id))).toEqual({ type: 'negativeAcknowledge', messageId: messageIdBase64(3) });
    expect(JSON.parse(encodePermit(500))).toEqual({ type: 'permit', permitMessages: 500 });
  });
});

describe('message ids', () => {
  it('round-trips through serialize/deserialize and keeps the broker bytes', () => {
    const id = WebSocketMessageId.fromBase64(messageIdBase64(300));
    expect(id.ledgerId).toBe(7n);
    expect(id.entryId).toBe(300n);
    expect(id.partition).toBe(-1);
    const copy = WebSocketMessageId.deserialize(id.serialize());
    expect(copy.equals(id)).toBe(true);
    expect(copy.toBase64()).toBe(messageIdBase64(300));
  });

  it('decodes partition and batch index, including negative values', () => {
    // ledger 1, entry 2, partition 3, batch_index 4
    const id = WebSocketMessageId.deserialize(Buffer.from([0x08, 1, 0x10, 2, 0x18, 3, 0x20, 4]));
    expect(id.toString()).toBe('(1,2,3,4)');
    const earliest = WebSocketMessageId.earliest();
    expect(WebSocketMessageId.deserialize(earliest.serialize()).toString()).toBe('(-1,-1,-1,-1)');
    expect(WebSocketMessageId.latest().toString()).toBe('(9223372036854775807,9223372036854775807,-1,-1)');
  });

  it('shows the partition topic name for partitioned topics', () => {
    const decoded = decodeConsumerFrame(
      JSON.stringify({ messageId: Buffer.from([0x08, 1, 0x10, 2, 0x18, 3]).toString('base64'), payload: '', publishTime: '' }),
    );
    if (decoded.kind !== 'message') throw new Error('expected a message');
    expect(new WebSocketMessage(decoded.frame, 'persistent://a/b/c').getTopicName()).toBe('persistent://a/b/c-partition-3');
  });

  it('rejects malformed ids and foreign objects', () => {
    expect(() => WebSocketMessageId.deserialize(Buffer.from([0x08]))).toThrow(/Malformed/);
    expect(() => toWebSocketMessageId({} as { serialize(): Buffer })).toThrow(InvalidConfigurationError);
    const foreign = { serialize: () => Buffer.from(Buffer.from(messageIdBase64(1), 'base64')) };
    expect(toWebSocketMessageId(foreign).entryId).toBe(1n);
  });
});

describe('topic names', () => {
  it('expands short names and encodes path segments', () => {
    expect(parseTopicName('orders')).toEqual({ full: 'persistent://public/default/orders', path: 'persistent/public/default/orders' });
    expect(parseTopicName('non-persistent://t/ns/a b').path).toBe('non-persistent/t/ns/a%20b');
    expect(parseTopicName('t/ns/x').full).toBe('persistent://t/ns/x');
  });

  it('rejects malformed names', () => {
    expect(() => parseTopicName('')).toThrow(InvalidConfigurationError);
    expect(() => parseTopicName('pulsar://x/y/z')).toThrow(/persistent/);
    expect(() => parseTopicName('persistent://only')).toThrow(/tenant/);
    expect(() => parseTopicName('a/b')).toThrow(/tenant/);
  });
});
