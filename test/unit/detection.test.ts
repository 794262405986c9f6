import { afterEach, describe, expect, it } from 'vitest';
import type { FakeConsumer, FakeMessage } from '../../testing/fake-pulsar.js';
import { harness, metricValue, orderingViolations, publishStamped, settle, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(() => h?.keyscope.close());

const labels = { topic: 't', subscription: 's' };

describe('zero false positives', () => {
  it('a clean ordered run with two producers and interleaved keys reports no violation', async () => {
    h = harness();
    const processed: string[] = [];
    await h.client.subscribe({
      topic: 't',
      subscription: 's',
      subscriptionType: 'KeyShared',
      listener: async (msg: FakeMessage, consumer: FakeConsumer) => {
        processed.push(msg.getData().toString());
        await consumer.acknowledge(msg);
      },
    });
    const p1 = await h.client.createProducer({ topic: 't' });
    const p2 = await h.client.createProducer({ topic: 't' });
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < 200; i++) {
      const key = `user-${i % 7}`;
      sends.push((i % 3 === 0 ? p2 : p1).send({ data: Buffer.from(`${i}`), partitionKey: key }));
    }
    await Promise.all(sends);
    await settle(20);
    expect(processed).toHaveLength(200);
    h.keyscope.sweep();
    for (const kind of ['reorder', 'redelivery_reorder', 'concurrent']) expect(await orderingViolations(h, labels, kind)).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_messages_received_total', labels)).toBe(200);
    expect(await metricValue(h.registry, 'keyscope_messages_acked_total', labels)).toBe(200);
    expect(await metricValue(h.registry, 'keyscope_stalls_total', labels)).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(0);
    expect(
      await metricValue(h.registry, 'keyscope_context_errors_total', { topic: 't', reason: 'malformed_trace_context' }),
    ).toBeUndefined();
  });
});

describe('reorder', () => {
  it('counts a first delivery that goes backwards within (key, producer) and marks its span', async () => {
    h = harness();
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    publishStamped(h, 'k', 'producerA', 2);
    publishStamped(h, 'k', 'producerA', 1);
    publishStamped(h, 'k', 'producerB', 1);
    for (let i = 0; i < 3; i++) {
      const msg = await consumer.receive();
      await h.keyscope.process(msg, () => consumer.acknowledge(msg));
    }
    expect(await orderingViolations(h, labels, 'reorder')).toBe(1);
    expect(await orderingViolations(h, labels, 'redelivery_reorder')).toBe(0);
    const flagged = h.tracing.byName('process t').filter((s) => s.attributes['keyscope.violation'] === 'reorder');
    expect(flagged).toHaveLength(1);
    expect(flagged[0]?.attributes['keyscope.seq']).toBe(1);
  });
});

describe('redelivery_reorder', () => {
  it('counts a nacked message redelivered after a later one apart from reorder', async () => {
    h = harness();
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Shared' });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('1'), partitionKey: 'k' });
    await producer.send({ data: Buffer.from('2'), partitionKey: 'k' });
    const first = await consumer.receive();
    consumer.negativeAcknowledge(first); // synchronous, like pulsar-client; redelivered behind '2'
    const second = await consumer.receive();
    await consumer.acknowledge(second);
    const redelivered = await consumer.receive();
    expect(redelivered.getData().toString()).toBe('1');
    expect(redelivered.getRedeliveryCount()).toBe(1);
    await consumer.acknowledge(redelivered);
    expect(await orderingViolations(h, labels, 'redelivery_reorder')).toBe(1);
    expect(await orderingViolations(h, labels, 'reorder')).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_messages_nacked_total', labels)).toBe(1);
    expect(await metricValue(h.registry, 'keyscope_redeliveries_total', labels)).toBe(1);
    const nackSpan = h.tracing.byName('process t').find((s) => s.events.some((e) => e.attributes?.['messaging.operation.name'] === 'nack'));
    expect(nackSpan).toBeDefined();
  });
});

describe('concurrent', () => {
  it('counts overlapping processing windows of one key (explicit process())', async () => {
    h = harness();
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Shared' });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('1'), partitionKey: 'k' });
    await producer.send({ data: Buffer.from('2'), partitionKey: 'k' });
    await producer.send({ data: Buffer.from('3'), partitionKey: 'other' });
    const [a, b, c] = [await consumer.receive(), await consumer.receive(), await consumer.receive()];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const windowA = h.keyscope.process(a, () => gate);
    const windowB = h.keyscope.process(b, () => gate);
    const windowC = h.keyscope.process(c, () => gate);
    release();
    await Promise.all([windowA, windowB, windowC]);
    expect(await orderingViolations(h, labels, 'concurrent')).toBe(1);
    // Sequential windows of the same key are fine.
    await producer.send({ data: Buffer.from('4'), partitionKey: 'k' });
    const d = await consumer.receive();
    await h.keyscope.process(d, async () => undefined);
    expect(await orderingViolations(h, labels, 'concurrent')).toBe(1);
  });

  it('counts overlapping listener runs of one key across two listener consumers in one process', async () => {
    h = harness();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const listener = async (msg: FakeMessage, consumer: FakeConsumer) => {
      await gate;
      await consumer.acknowledge(msg);
    };
    // Shared subscription: the same key goes to both consumers (the split-brain case).
    await h.client.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Shared', listener });
    await h.client.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Shared', listener });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('1'), partitionKey: 'k' });
    await producer.send({ data: Buffer.from('2'), partitionKey: 'k' });
    await settle();
    release();
    await settle();
    expect(await orderingViolations(h, labels, 'concurrent')).toBe(1);
    expect(await metricValue(h.registry, 'keyscope_messages_acked_total', labels)).toBe(2);
  });
});

describe('stalls, head-of-line blocking and top-K', () => {
  it('reports stalled messages, new stalls once, HOL and the oldest stalled keys with an injected clock', async () => {
    h = harness({ stallThresholdMs: 1000, topStalledKeys: 2, keyPolicy: 'plain' });
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    const received: FakeMessage[] = [];
    for (const key of ['a', 'a', 'a', 'b', 'c', 'd']) {
      await producer.send({ data: Buffer.from(key), partitionKey: key });
      received.push(await consumer.receive());
      h.clock.advance(100);
    }
    // Keyless messages are in flight too, but not a key.
    await producer.send({ data: Buffer.from('keyless') });
    received.push(await consumer.receive());

    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(7);
    expect(await metricValue(h.registry, 'keyscope_inflight_keys', labels)).toBe(4);
    expect(await metricValue(h.registry, 'keyscope_stalled_messages', labels)).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_oldest_inflight_seconds', labels)).toBeCloseTo(0.6);

    h.clock.advance(1000); // a#1 received at 0 is now 1600 old; everything received until 600 is stalled
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_stalled_messages', labels)).toBe(7);
    expect(await metricValue(h.registry, 'keyscope_stalls_total', labels)).toBe(7);
    expect(await metricValue(h.registry, 'keyscope_head_of_line_blocked_messages', labels)).toBe(2);
    expect(await metricValue(h.registry, 'keyscope_stalled_key_age_seconds', { ...labels, key: 'a' })).toBeCloseTo(1.6);
    expect(await metricValue(h.registry, 'keyscope_stalled_key_age_seconds', { ...labels, key: 'b' })).toBeCloseTo(1.3);
    expect(await metricValue(h.registry, 'keyscope_stalled_key_age_seconds', { ...labels, key: 'c' })).toBeUndefined();

    // Stalls are counted once per message.
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_stalls_total', labels)).toBe(7);

    // Settling key a (ack, nack, cumulative ack all settle) makes room in the top K.
    await consumer.acknowledge(received[0] as FakeMessage);
    consumer.negativeAcknowledge(received[1] as FakeMessage);
    await consumer.acknowledgeId((received[2] as FakeMessage).getMessageId());
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_stalled_key_age_seconds', { ...labels, key: 'a' })).toBeUndefined();
    expect(await metricValue(h.registry, 'keyscope_stalled_key_age_seconds', { ...labels, key: 'c' })).toBeCloseTo(1.2);
    expect(await metricValue(h.registry, 'keyscope_head_of_line_blocked_messages', labels)).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(4);
  });

  it('labels top-K keys with their hash under the default policy and with the rank under "none"', async () => {
    h = harness({ stallThresholdMs: 10 });
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('x'), partitionKey: 'user-42' });
    await consumer.receive();
    h.clock.advance(50);
    h.keyscope.sweep();
    expect(
      await metricValue(h.registry, 'keyscope_stalled_key_age_seconds', { ...labels, key: h.keyscope.hashKey('user-42') }),
    ).toBeCloseTo(0.05);
    h.keyscope.close();

    h = harness({ stallThresholdMs: 10, keyPolicy: 'none' });
    const c2 = await h.client.subscribe({ topic: 't', subscription: 's' });
    const p2 = await h.client.createProducer({ topic: 't' });
    await p2.send({ data: Buffer.from('x'), partitionKey: 'user-42' });
    await c2.receive();
    h.clock.advance(50);
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_stalled_key_age_seconds', { ...labels, key: '1' })).toBeCloseTo(0.05);
  });

  it('stops tracking what a closed consumer held', async () => {
    h = harness({ stallThresholdMs: 10 });
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('x'), partitionKey: 'k' });
    await consumer.receive();
    await consumer.close();
    h.clock.advance(50);
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_stalled_messages', labels)).toBe(0);
    expect(h.tracing.byName('process t')).toHaveLength(1);
  });
});
