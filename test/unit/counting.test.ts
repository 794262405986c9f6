/**
 * What the README says is counted, is counted: a message keyscope cannot
 * read, an empty producer id, keys that differ only in a lone surrogate,
 * and every safe integer as a seq.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PRODUCER_PROPERTY, SEQ_PROPERTY } from '../../src/index.js';
import { FakeMessage, type StoredMessage } from '../../testing/fake-pulsar.js';
import { harness, metricValue, orderingViolations, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(() => h?.keyscope.close());

const labels = { topic: 't', subscription: 's' };

function stored(key: string, properties: unknown, entry: number): StoredMessage {
  return {
    topic: 't',
    properties,
    data: Buffer.from(String(entry)),
    partitionKey: key,
    orderingKey: '',
    publishTimestamp: 1,
    eventTimestamp: 0,
    producerName: 'p',
    messageId: { ledgerId: 1, entryId: entry, partition: -1, toString: () => `1:${entry}:-1`, serialize: () => Buffer.alloc(0) } as never,
  };
}

function contextErrors(current: Harness, reason: string): Promise<number | undefined> {
  return metricValue(current.registry, 'keyscope_context_errors_total', { topic: 't', reason });
}

describe('a message whose accessor throws', () => {
  for (const accessor of ['getProperties', 'getPartitionKey', 'getMessageId', 'getPublishTimestamp', 'getTopicName'] as const) {
    it(`(${accessor}) reaches the application unchanged and is counted as received and unreadable_message`, async () => {
      h = harness();
      const raw = await h.rawClient.subscribe({ topic: 't', subscription: 's' });
      const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's', topic: 't' });
      const hostile = new FakeMessage(stored('k', {}, 1), 0);
      Object.defineProperty(hostile, accessor, {
        value: () => {
          throw new Error(`${accessor} broke`);
        },
      });
      raw.enqueue(hostile);
      const received = await consumer.receive();
      expect(received).toBe(hostile);
      expect(await metricValue(h.registry, 'keyscope_messages_received_total', labels)).toBe(1);
      expect(await contextErrors(h, 'unreadable_message')).toBe(1);
    });
  }
});

describe('stamps', () => {
  it('an empty keyscope-producer is invalid_producer, and its seq is not used for ordering', async () => {
    h = harness();
    const raw = await h.rawClient.subscribe({ topic: 't', subscription: 's' });
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's' });
    raw.enqueue(new FakeMessage(stored('k', { [PRODUCER_PROPERTY]: '', [SEQ_PROPERTY]: '5' }, 1), 0));
    raw.enqueue(new FakeMessage(stored('k', { [PRODUCER_PROPERTY]: '', [SEQ_PROPERTY]: '4' }, 2), 0));
    await consumer.acknowledge(await consumer.receive());
    await consumer.acknowledge(await consumer.receive());
    expect(await contextErrors(h, 'invalid_producer')).toBe(2);
    expect(await orderingViolations(h, labels, 'reorder')).toBe(0);
  });

  it('accepts every safe integer as a seq, up to 9007199254740991, and nothing above', async () => {
    h = harness();
    const raw = await h.rawClient.subscribe({ topic: 't', subscription: 's' });
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's' });
    const seqs = ['9007199254740991', '9007199254740990', '9007199254740992', '9999999999999999', '10000000000000000'];
    for (const [i, seq] of seqs.entries())
      raw.enqueue(new FakeMessage(stored('k', { [PRODUCER_PROPERTY]: 'producer-1', [SEQ_PROPERTY]: seq }, i), 0));
    for (let i = 0; i < seqs.length; i++) await consumer.acknowledge(await consumer.receive());
    expect(await contextErrors(h, 'invalid_seq')).toBe(3);
    expect(await orderingViolations(h, labels, 'reorder')).toBe(1);
  });
});

describe('long keys that differ only in a lone surrogate', () => {
  it('are two keys: no reorder across them, and different hashes on spans', async () => {
    h = harness();
    const raw = await h.rawClient.subscribe({ topic: 't', subscription: 's' });
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's' });
    const base = 'x'.repeat(600);
    const first = `${base}\ud800`;
    const second = `${base}\udc00`;
    raw.enqueue(new FakeMessage(stored(first, { [PRODUCER_PROPERTY]: 'producer-1', [SEQ_PROPERTY]: '2' }, 1), 0));
    raw.enqueue(new FakeMessage(stored(second, { [PRODUCER_PROPERTY]: 'producer-1', [SEQ_PROPERTY]: '1' }, 2), 0));
    await consumer.acknowledge(await consumer.receive());
    await consumer.acknowledge(await consumer.receive());
    expect(await orderingViolations(h, labels, 'reorder')).toBe(0);
    const keys = new Set(h.tracing.byName('process t').map((span) => span.attributes['messaging.pulsar.message.key']));
    expect(keys.size).toBe(2);
    expect(h.keyscope.hashKey('a\ud800')).not.toBe(h.keyscope.hashKey('a\udc00'));
    // Well-formed keys keep the hashes they always had.
    expect(h.keyscope.hashKey('customer-42')).toBe('0b1307ad13d72814');
  });
});
