/**
 * Native-call discipline: on pulsar-client every `Message` getter is a call
 * into the addon that builds a fresh value, so the consumer path calls each
 * getter at most once per message, and only those it needs. The stand-in
 * counts every call; each case fails on any call beyond the expected ones.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageLike } from '../../src/index.js';
import { CallCounts, type FakeConsumer, type FakeMessage } from '../../testing/fake-pulsar.js';
import { harness, settle, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(() => h?.keyscope.close());

const MESSAGES = 20;

/** What every delivery reads: where it goes, its stamps and context, key, redelivery count and publish time. */
const ALWAYS = {
  getTopicName: 1,
  getProperties: 1,
  getOrderingKey: 1,
  getPartitionKey: 1,
  getRedeliveryCount: 1,
  getPublishTimestamp: 1,
};
/** The message id, read once and rendered once. */
const WITH_ID = { ...ALWAYS, getMessageId: 1, 'MessageId.toString': 1 };

/** Calls per message: the counts divided by the number of messages, which must divide them exactly. */
function perMessage(calls: CallCounts, messages: number): Record<string, number> {
  const counts = calls.snapshot();
  for (const [method, count] of Object.entries(counts)) {
    if (count % messages !== 0) throw new Error(`${method} was called ${count} times for ${messages} messages`);
    counts[method] = count / messages;
  }
  return counts;
}

function sorted(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/** Sends through the instrumented producer (stamped, keyed), receives and acks each message. */
async function sendReceiveAck(current: Harness, partitionKey: string | undefined, orderingKey?: string): Promise<CallCounts> {
  const calls = new CallCounts();
  current.broker.calls = calls;
  const producer = await current.client.createProducer({ topic: 't' });
  const consumer = (await current.client.subscribe({
    topic: 't',
    subscription: 's',
    subscriptionType: 'KeyShared',
  })) as unknown as FakeConsumer;
  for (let i = 0; i < MESSAGES; i++) {
    await producer.send({
      data: Buffer.from(String(i)),
      ...(partitionKey === undefined ? {} : { partitionKey }),
      ...(orderingKey === undefined ? {} : { orderingKey }),
    });
    const message = await consumer.receive();
    await current.keyscope.process(message as unknown as MessageLike, () => consumer.acknowledge(message));
  }
  await settle();
  return calls;
}

describe('Message getters called per message on the consumer path', () => {
  it('tracing off: each needed getter once; no message id, no data', async () => {
    h = harness({ sampled: false });
    expect(perMessage(await sendReceiveAck(h, 'customer-1'), MESSAGES)).toEqual(sorted(ALWAYS));
  });

  it('recording spans: the message id too, read once and rendered once for the process span', async () => {
    h = harness();
    // The second toString is the send span's, on the id send() resolved with.
    expect(perMessage(await sendReceiveAck(h, 'customer-1'), MESSAGES)).toEqual(sorted({ ...WITH_ID, 'MessageId.toString': 2 }));
  });

  it('a receive span takes what the delivery read: nothing more is asked of the message', async () => {
    h = harness({ receiveSpans: true });
    expect(perMessage(await sendReceiveAck(h, 'customer-1'), MESSAGES)).toEqual(sorted({ ...WITH_ID, 'MessageId.toString': 2 }));
    expect(h.tracing.byName('receive t')).toHaveLength(MESSAGES);
  });

  it('an ordering key makes the partition key unnecessary', async () => {
    h = harness({ sampled: false });
    const { getPartitionKey: _unused, ...withoutPartitionKey } = ALWAYS;
    expect(perMessage(await sendReceiveAck(h, 'customer-1', 'order-7'), MESSAGES)).toEqual(sorted(withoutPartitionKey));
  });

  it('a keyless message is recognised by its id: read and rendered once', async () => {
    h = harness({ sampled: false });
    expect(perMessage(await sendReceiveAck(h, undefined), MESSAGES)).toEqual(sorted(WITH_ID));
  });

  it('a listener reads the same, once per message', async () => {
    h = harness({ sampled: false });
    const calls = new CallCounts();
    h.broker.calls = calls;
    let acked = 0;
    await h.client.subscribe({
      topic: 't',
      subscription: 's',
      listener: async (message: FakeMessage, consumer: FakeConsumer) => {
        acked++;
        await consumer.acknowledge(message);
      },
    });
    const producer = await h.client.createProducer({ topic: 't' });
    for (let i = 0; i < MESSAGES; i++) await producer.send({ data: Buffer.from(String(i)), partitionKey: 'customer-1' });
    await settle(20);
    expect(acked).toBe(MESSAGES);
    expect(perMessage(calls, MESSAGES)).toEqual(sorted(ALWAYS));
  });

  it('after an ack by id, each message of that consumer reads its id once (to be found by it)', async () => {
    h = harness({ sampled: false });
    const producer = await h.client.createProducer({ topic: 't' });
    const consumer = (await h.client.subscribe({ topic: 't', subscription: 's' })) as unknown as FakeConsumer;
    await producer.send({ data: Buffer.from('first'), partitionKey: 'customer-1' });
    const first = await consumer.receive();
    await consumer.acknowledgeId(first.getMessageId());
    const calls = new CallCounts();
    h.broker.calls = calls;
    for (let i = 0; i < MESSAGES; i++) {
      await producer.send({ data: Buffer.from(String(i)), partitionKey: 'customer-1' });
      const message = await consumer.receive();
      await consumer.acknowledgeId(message.getMessageId());
    }
    await settle();
    // One getMessageId by the test, one by keyscope; one toString by keyscope, one by the id-based ack's lookup.
    expect(perMessage(calls, MESSAGES)).toEqual(sorted({ ...ALWAYS, getMessageId: 2, 'MessageId.toString': 2 }));
    h.keyscope.sweep();
    expect(h.keyscope.internalPipeline.tracker.inflight).toBe(0);
  });
});
