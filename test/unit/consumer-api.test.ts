import { afterEach, describe, expect, it } from 'vitest';
import type { FakeMessage, FakeReader } from '../../testing/fake-pulsar.js';
import { harness, metricValue, settle, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(() => h?.keyscope.close());

const labels = { topic: 't', subscription: 's' };

describe('every consumer entry point settles what it delivered', () => {
  it('batchReceive delivers each message; acknowledgeCumulative settles everything up to the message', async () => {
    h = harness({ stallThresholdMs: 10 });
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Failover' });
    const producer = await h.client.createProducer({ topic: 't' });
    for (let i = 0; i < 4; i++) await producer.send({ data: Buffer.from(String(i)), partitionKey: `k${i}` });
    const batch = await consumer.batchReceive();
    expect(batch).toHaveLength(4);
    expect(await metricValue(h.registry, 'keyscope_messages_received_total', labels)).toBe(4);
    await consumer.acknowledgeCumulative(batch[2] as FakeMessage);
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_messages_acked_total', labels)).toBe(3);
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(1);
    await consumer.acknowledgeCumulativeId((batch[3] as FakeMessage).getMessageId());
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(0);
    const cumulative = h.tracing
      .byName('process t')
      .filter((s) => s.events.some((e) => e.attributes?.['messaging.operation.name'] === 'ack_cumulative'));
    expect(cumulative).toHaveLength(4);
  });

  it('a rejected cumulative ack (as over WebSocket) settles nothing and reaches the app unchanged', async () => {
    h = harness();
    const raw = await h.rawClient.subscribe({ topic: 't', subscription: 's' });
    const refusal = new Error('cumulative acknowledgement is not supported');
    raw.acknowledgeCumulative = () => Promise.reject(refusal);
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    for (let i = 0; i < 3; i++) await producer.send({ data: Buffer.from(String(i)), partitionKey: `k${i}` });
    const messages = [await consumer.receive(), await consumer.receive(), await consumer.receive()];
    await expect(consumer.acknowledgeCumulative(messages[2] as FakeMessage)).rejects.toBe(refusal);
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_messages_acked_total', labels)).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(3);
    // The messages are still in flight: acking them one by one counts them.
    for (const msg of messages) await consumer.acknowledge(msg);
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_messages_acked_total', labels)).toBe(3);
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(0);
  });

  it('a cumulative ack settles only what was received before it was issued', async () => {
    h = harness();
    const raw = await h.rawClient.subscribe({ topic: 't', subscription: 's' });
    let confirm!: () => void;
    raw.acknowledgeCumulative = () => new Promise<null>((resolve) => (confirm = () => resolve(null)));
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('1'), partitionKey: 'k' });
    await producer.send({ data: Buffer.from('2'), partitionKey: 'k' });
    const first = await consumer.receive();
    const acking = consumer.acknowledgeCumulative(first);
    const later = await consumer.receive(); // received while the cumulative ack is outstanding
    confirm();
    await acking;
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_messages_acked_total', labels)).toBe(1);
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(1);
    await consumer.acknowledge(later);
    expect(await metricValue(h.registry, 'keyscope_messages_acked_total', labels)).toBe(2);
  });

  it('negativeAcknowledgeId settles by id, and acking twice counts once', async () => {
    h = harness();
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('1'), partitionKey: 'k' });
    const msg = await consumer.receive();
    consumer.negativeAcknowledgeId(msg.getMessageId());
    await consumer.acknowledge(msg);
    expect(await metricValue(h.registry, 'keyscope_messages_nacked_total', labels)).toBe(1);
    expect(await metricValue(h.registry, 'keyscope_messages_acked_total', labels)).toBe(0);
  });

  it('a message acked through another wrapper of the same process is still settled', async () => {
    h = harness();
    const raw = await h.rawClient.subscribe({ topic: 't', subscription: 's' });
    const first = h.keyscope.instrumentConsumer(raw, { subscription: 's' });
    const second = h.keyscope.instrumentConsumer(raw, { subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('1'), partitionKey: 'k' });
    const msg = await first.receive();
    await second.acknowledge(msg);
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_messages_acked_total', labels)).toBe(1);
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(0);
  });

  it('a redelivery of a message still held (ack timeout) supersedes the earlier delivery', async () => {
    h = harness({ stallThresholdMs: 10 });
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('1'), partitionKey: 'k' });
    const first = await consumer.receive();
    // The broker redelivers the same message (as after an ack timeout) while the app still holds it.
    const stored = (first as unknown as { stored: Parameters<typeof h.broker.publish>[0] }).stored;
    const subscription = h.broker.subscription(['t'], 's', 'Exclusive');
    subscription.dispatch({ ...stored, messageId: first.getMessageId(), publishTimestamp: first.getPublishTimestamp() }, 1);
    const again = await consumer.receive();
    expect(again.getMessageId().toString()).toBe(first.getMessageId().toString());
    await consumer.acknowledge(again);
    h.clock.advance(100);
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_stalled_messages', labels)).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_redeliveries_total', labels)).toBe(1);
  });
});

describe('readers', () => {
  it('continue the producer trace on readNext and around a listener', async () => {
    h = harness();
    const reader = await h.client.createReader({ topic: 't' });
    const seen: string[] = [];
    await h.client.createReader({
      topic: 't',
      listener: (msg: FakeMessage, owner: FakeReader) => {
        seen.push(`${msg.getData().toString()}:${typeof owner.hasNext}`);
      },
    });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('r'), partitionKey: 'k' });
    const msg = await reader.readNext();
    await settle();
    expect(msg.getData().toString()).toBe('r');
    expect(seen).toEqual(['r:function']);
    const [send] = h.tracing.byName('send t');
    const processSpans = h.tracing.byName('process t');
    expect(processSpans).toHaveLength(2);
    for (const span of processSpans) expect(span.spanContext().traceId).toBe(send?.spanContext().traceId);
  });
});

describe('producer metrics', () => {
  it('counts failed sends and their duration', async () => {
    h = harness();
    const raw = await h.rawClient.createProducer({ topic: 't' });
    const producer = h.keyscope.instrumentProducer(raw);
    raw.failNextSend = new Error('queue full');
    await expect(producer.send({ data: Buffer.from('x') })).rejects.toThrow('queue full');
    await producer.send({ data: Buffer.from('y') });
    expect(await metricValue(h.registry, 'keyscope_send_errors_total', { topic: 't' })).toBe(1);
    expect(await metricValue(h.registry, 'keyscope_messages_sent_total', { topic: 't' })).toBe(1);
    const text = await h.registry.getSingleMetricAsString('keyscope_send_duration_seconds');
    expect(text).toContain('keyscope_send_duration_seconds_count{topic="t"} 2');
  });

  it('uses the topic option over getTopic()', async () => {
    h = harness();
    const producer = h.keyscope.instrumentProducer(await h.rawClient.createProducer({ topic: 't' }), { topic: 'orders' });
    await producer.send({ data: Buffer.from('x') });
    expect(h.tracing.byName('send orders')).toHaveLength(1);
  });
});
