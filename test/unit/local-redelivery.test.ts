/**
 * Exclusive and Failover subscriptions (and Shared ones after a consumer
 * restart) redeliver with redelivery count 0. The redeliveries this process
 * caused or saw coming (nack, close with messages in flight, ack timeout)
 * still count as redelivery_reorder, not as reorder.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeMessage, type FakeConsumer } from '../../testing/fake-pulsar.js';
import { harness, orderingViolations, publishStamped, settle, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(() => h?.keyscope.close());

const labels = { topic: 't', subscription: 's' };

/** The same stored message delivered again with redelivery count 0, as the broker does on Exclusive subscriptions. */
function againWithoutCount(message: FakeMessage): FakeMessage {
  return new FakeMessage((message as unknown as { stored: ConstructorParameters<typeof FakeMessage>[0] }).stored, 0);
}

/** An Exclusive-style stand-in: a nacked message comes back behind what is queued, with redelivery count 0. */
function redeliverNacksWithoutCount(consumer: FakeConsumer): void {
  consumer.negativeAcknowledge = (message: FakeMessage) => {
    consumer.nacked.push(message.getMessageId());
    queueMicrotask(() => consumer.enqueue(againWithoutCount(message)));
  };
}

describe('nack on an Exclusive subscription', () => {
  it('counts the nacked message coming back with count 0 behind newer ones as redelivery_reorder', async () => {
    h = harness();
    const raw = await h.rawClient.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Exclusive' });
    redeliverNacksWithoutCount(raw);
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's', subscriptionType: 'Exclusive' });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('1'), partitionKey: 'k' });
    await producer.send({ data: Buffer.from('2'), partitionKey: 'k' });
    const first = await consumer.receive();
    consumer.negativeAcknowledge(first);
    await settle();
    const second = await consumer.receive();
    await consumer.acknowledge(second);
    const redelivered = await consumer.receive();
    expect(redelivered.getData().toString()).toBe('1');
    expect(redelivered.getRedeliveryCount()).toBe(0);
    await consumer.acknowledge(redelivered);

    expect(await orderingViolations(h, labels, 'redelivery_reorder')).toBe(1);
    expect(await orderingViolations(h, labels, 'reorder')).toBe(0);
    expect(raw.nacked).toEqual([first.getMessageId()]);
    const flagged = h.tracing.byName('process t').filter((s) => s.attributes['keyscope.violation'] !== undefined);
    expect(flagged.map((s) => s.attributes['keyscope.violation'])).toEqual(['redelivery_reorder']);
  });

  it('still counts a genuine reorder as reorder, on a key without a pending redelivery and on the nacked key below it', async () => {
    h = harness();
    const raw = await h.rawClient.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Exclusive' });
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's', subscriptionType: 'Exclusive' });
    publishStamped(h, 'k', 'p', 5);
    publishStamped(h, 'other', 'p', 6);
    publishStamped(h, 'k', 'p', 7);
    const nacked = await consumer.receive();
    await consumer.acknowledge(await consumer.receive());
    await consumer.acknowledge(await consumer.receive());
    consumer.negativeAcknowledgeId(nacked.getMessageId()); // k#5 is expected back
    publishStamped(h, 'other', 'p', 3); // genuine: 'other' has nothing pending
    publishStamped(h, 'k', 'p', 2); // genuine: below the nacked seq 5
    raw.enqueue(againWithoutCount(nacked));
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const message = await consumer.receive();
      seen.push(message.getData().toString());
      await consumer.acknowledge(message);
    }
    expect(seen).toEqual(['other-3', 'k-2', 'k-5']);
    expect(await orderingViolations(h, labels, 'reorder')).toBe(2);
    expect(await orderingViolations(h, labels, 'redelivery_reorder')).toBe(1);
  });

  it('waits the configured nack delay plus the stall threshold, then judges strictly again', async () => {
    h = harness({ stallThresholdMs: 1000 });
    const raw = await h.rawClient.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Exclusive' });
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's', nAckRedeliverTimeoutMs: 5000 });
    publishStamped(h, 'k', 'p', 1);
    publishStamped(h, 'k', 'p', 2);
    const first = await consumer.receive();
    consumer.negativeAcknowledgeId(first.getMessageId()); // the stand-in does not redeliver id nacks
    await consumer.acknowledge(await consumer.receive());
    h.clock.advance(5999);
    raw.enqueue(againWithoutCount(first));
    await consumer.acknowledge(await consumer.receive());
    expect(await orderingViolations(h, labels, 'redelivery_reorder')).toBe(1);

    consumer.negativeAcknowledgeId((await receiveStamped(h, consumer, 'k', 3)).getMessageId());
    publishStamped(h, 'k', 'p', 5);
    await consumer.acknowledge(await consumer.receive());
    h.clock.advance(6001); // past 5000 + 1000: the redelivery went elsewhere
    // Seq 4 (never delivered, so no repeat) would have been taken for the expected one; now it is judged strictly.
    publishStamped(h, 'k', 'p', 4);
    await consumer.acknowledge(await consumer.receive());
    expect(await orderingViolations(h, labels, 'reorder')).toBe(1);
    expect(await orderingViolations(h, labels, 'redelivery_reorder')).toBe(1);
  });
});

async function receiveStamped(current: Harness, consumer: FakeConsumer, key: string, seq: number): Promise<FakeMessage> {
  publishStamped(current, key, 'p', seq);
  return consumer.receive();
}

describe('consumer closed with messages in flight', () => {
  it('counts those messages coming to another consumer with count 0 as redelivery_reorder', async () => {
    h = harness();
    const rawA = await h.rawClient.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Shared' });
    const rawB = await h.rawClient.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Shared' });
    const a = h.keyscope.instrumentConsumer(rawA, { subscription: 's', subscriptionType: 'Shared' });
    const b = h.keyscope.instrumentConsumer(rawB, { subscription: 's', subscriptionType: 'Shared' });
    publishStamped(h, 'k', 'p', 1); // to A (round robin)
    publishStamped(h, 'k', 'p', 2); // to B
    const heldByA = await a.receive();
    await b.acknowledge(await b.receive());
    await a.close();
    rawB.enqueue(againWithoutCount(heldByA));
    const redelivered = await b.receive();
    expect(redelivered.getData().toString()).toBe('k-1');
    await b.acknowledge(redelivered);
    expect(await orderingViolations(h, labels, 'redelivery_reorder')).toBe(1);
    expect(await orderingViolations(h, labels, 'reorder')).toBe(0);
  });

  it('without id memory, expects nothing back after unsubscribe', async () => {
    h = harness({ recentSettledIds: 0 });
    const rawA = await h.rawClient.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Shared' });
    const rawB = await h.rawClient.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Shared' });
    const a = h.keyscope.instrumentConsumer(rawA, { subscription: 's', subscriptionType: 'Shared' });
    const b = h.keyscope.instrumentConsumer(rawB, { subscription: 's', subscriptionType: 'Shared' });
    publishStamped(h, 'k', 'p', 1);
    publishStamped(h, 'k', 'p', 2);
    const heldByA = await a.receive();
    await b.acknowledge(await b.receive());
    await a.unsubscribe();
    rawB.enqueue(againWithoutCount(heldByA));
    await b.acknowledge(await b.receive());
    expect(await orderingViolations(h, labels, 'reorder')).toBe(1);
  });
});

// Messages still in flight, or remembered as settled, are recognised by id; the
// ack-timeout policy covers redeliveries that arrive after both were forgotten.
describe('ack timeout from the subscribe config, without id memory', () => {
  it('on an Exclusive subscription, expects everything in flight back once the oldest times out', async () => {
    h = harness({ stallThresholdMs: 60_000, recentSettledIds: 0 });
    const config = { topic: 't', subscription: 's', subscriptionType: 'Exclusive' as const, ackTimeoutMs: 10_000 };
    const consumer = await h.client.subscribe(config);
    const producer = await h.client.createProducer({ topic: 't' });
    for (const data of ['1', '2', '3']) await producer.send({ data: Buffer.from(data), partitionKey: 'k' });
    const held = [await consumer.receive(), await consumer.receive()];
    await consumer.acknowledge(await consumer.receive());
    h.clock.advance(9_999);
    h.keyscope.sweep();
    h.clock.advance(2);
    h.keyscope.sweep();
    h.keyscope.sweep(); // recorded once, not again
    // Acked late; the client had already redelivered every unacknowledged message, with count 0.
    for (const message of held) await consumer.acknowledge(message);
    for (const message of held) consumer.enqueue(againWithoutCount(message));
    for (let i = 0; i < 2; i++) await consumer.acknowledge(await consumer.receive());
    expect(await orderingViolations(h, labels, 'redelivery_reorder')).toBe(2);
    expect(await orderingViolations(h, labels, 'reorder')).toBe(0);

    // Used up: a later backwards delivery of k is a reorder again.
    consumer.enqueue(againWithoutCount(held[0] as FakeMessage));
    await consumer.acknowledge(await consumer.receive());
    expect(await orderingViolations(h, labels, 'reorder')).toBe(1);
  });

  it('does nothing before the timeout, nor without one', async () => {
    h = harness({ stallThresholdMs: 60_000, recentSettledIds: 0 });
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Exclusive' });
    const producer = await h.client.createProducer({ topic: 't' });
    for (const data of ['1', '2']) await producer.send({ data: Buffer.from(data), partitionKey: 'k' });
    const held = await consumer.receive();
    await consumer.acknowledge(await consumer.receive());
    h.clock.advance(100_000);
    h.keyscope.sweep();
    await consumer.acknowledge(held);
    consumer.enqueue(againWithoutCount(held));
    await consumer.acknowledge(await consumer.receive());
    expect(await orderingViolations(h, labels, 'reorder')).toBe(1);
  });
});
