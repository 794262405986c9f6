/**
 * maxInflightMessages: an application that never acks (Exclusive/Failover
 * subscriptions let it) must not grow tracked deliveries and open spans
 * without limit. Beyond the bound the oldest is dropped from tracking; acks
 * keep reaching the client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Keyscope, KeyscopeConfigError } from '../../src/index.js';
import type { FakeMessage } from '../../testing/fake-pulsar.js';
import { harness, metricValue, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(() => h?.keyscope.close());

const labels = { topic: 't', subscription: 's' };

/** The settle records on the ended process span of the message stamped with `seq`. */
function settleOperations(current: Harness, seq: number): unknown[] {
  const span = current.tracing.byName('process t').find((s) => s.attributes['keyscope.seq'] === seq);
  return span?.events.filter((e) => e.name === 'settle').map((e) => e.attributes?.['messaging.operation.name']) ?? [];
}

describe('maxInflightMessages', () => {
  it('drops the oldest tracked delivery beyond the bound, ends its span as untracked and counts it', async () => {
    h = harness({ maxInflightMessages: 3 });
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Exclusive' });
    const producer = await h.client.createProducer({ topic: 't' });
    const received: FakeMessage[] = [];
    for (let i = 1; i <= 5; i++) {
      await producer.send({ data: Buffer.from(String(i)), partitionKey: `k${i % 2}` });
      received.push(await consumer.receive());
      h.clock.advance(10);
    }
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(3);
    expect(await metricValue(h.registry, 'keyscope_inflight_evictions_total', labels)).toBe(2);
    expect(await metricValue(h.registry, 'keyscope_oldest_inflight_seconds', labels)).toBeCloseTo(0.03);
    const seqs = received.map((m) => Number(m.getProperties()['keyscope-seq']));
    expect(settleOperations(h, seqs[0] as number)).toEqual(['untracked']);
    expect(settleOperations(h, seqs[1] as number)).toEqual(['untracked']);
    expect(h.tracing.byName('process t')).toHaveLength(2); // the three tracked ones are still open

    // The application's acks and nacks of dropped messages still reach the client, uncounted.
    const [first, second, third] = received as [FakeMessage, FakeMessage, FakeMessage];
    await consumer.acknowledge(first);
    consumer.negativeAcknowledge(second);
    await consumer.acknowledge(third);
    const raw = h.broker.subscription(['t'], 's', 'Exclusive').consumers[0];
    expect(raw?.acked).toEqual([first.getMessageId(), third.getMessageId()]);
    expect(raw?.nacked).toEqual([second.getMessageId()]);
    expect(await metricValue(h.registry, 'keyscope_messages_acked_total', labels)).toBe(1);
    expect(await metricValue(h.registry, 'keyscope_messages_nacked_total', labels)).toBe(0);
    expect(settleOperations(h, seqs[0] as number)).toEqual(['untracked']);
    expect(settleOperations(h, seqs[2] as number)).toEqual(['ack']);
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(2);
  });

  it('drops the oldest across consumers and topics', async () => {
    h = harness({ maxInflightMessages: 2 });
    const onA = await h.client.subscribe({ topic: 'a', subscription: 's' });
    const onB = await h.client.subscribe({ topic: 'b', subscription: 's' });
    const producerA = await h.client.createProducer({ topic: 'a' });
    const producerB = await h.client.createProducer({ topic: 'b' });
    await producerA.send({ data: Buffer.from('a1'), partitionKey: 'k' });
    await onA.receive();
    h.clock.advance(1);
    await producerB.send({ data: Buffer.from('b1'), partitionKey: 'k' });
    await onB.receive();
    h.clock.advance(1);
    await producerB.send({ data: Buffer.from('b2'), partitionKey: 'k' });
    await onB.receive();
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_inflight_evictions_total', { topic: 'a', subscription: 's' })).toBe(1);
    expect(await metricValue(h.registry, 'keyscope_inflight_evictions_total', { topic: 'b', subscription: 's' })).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', { topic: 'a', subscription: 's' })).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', { topic: 'b', subscription: 's' })).toBe(2);
  });

  it('holds under a flood: tracked deliveries and open spans never exceed the bound', async () => {
    const bound = 100;
    h = harness({ maxInflightMessages: bound });
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    const tracker = h.keyscope.internalPipeline.tracker;
    let highest = 0;
    for (let i = 0; i < 5000; i++) {
      await producer.send({ data: Buffer.from(String(i)), partitionKey: `k${i % 37}` });
      await consumer.receive();
      highest = Math.max(highest, tracker.inflight);
    }
    expect(highest).toBe(bound);
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(bound);
    expect(await metricValue(h.registry, 'keyscope_inflight_evictions_total', labels)).toBe(5000 - bound);
    expect(await metricValue(h.registry, 'keyscope_messages_received_total', labels)).toBe(5000);
    // Every dropped delivery's span has ended; only the tracked ones are open.
    expect(h.tracing.byName('process t')).toHaveLength(5000 - bound);
  });

  it('lets a processing window of a dropped delivery finish before its span ends', async () => {
    h = harness({ maxInflightMessages: 1 });
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('1'), partitionKey: 'k' });
    const first = await consumer.receive();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const window = h.keyscope.process(first, () => gate);
    await producer.send({ data: Buffer.from('2'), partitionKey: 'k' });
    await consumer.receive();
    expect(h.tracing.byName('process t')).toHaveLength(0);
    release();
    await window;
    const ended = h.tracing.byName('process t');
    expect(ended).toHaveLength(1);
    expect(ended[0]?.events.map((e) => e.attributes?.['messaging.operation.name'])).toEqual(['untracked']);
  });

  it('is validated like the other bounds', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, '10']) {
      expect(() => new Keyscope({ maxInflightMessages: bad as number })).toThrow(KeyscopeConfigError);
    }
    expect(() => new Keyscope({ maxInflightMessages: 0 })).toThrow(/maxInflightMessages.*positive integer/);
  });
});
