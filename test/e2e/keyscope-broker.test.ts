/**
 * Keyscope's wrappers around WebSocketClient objects, through a real broker:
 * the trace context crosses the broker inside message properties, and a clean
 * Key_Shared run shows no ordering or exclusivity violations.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyscope } from '../../src/index.js';
import { NotSupportedByWebSocketError } from '../../src/websocket/index.js';
import type { WebSocketClient, WebSocketConsumer } from '../../src/websocket/index.js';
import { testTracing } from '../support/otel.js';
import type { TestTracing } from '../support/otel.js';
import { newClient, requireBroker, sleep, uniqueTopic, waitFor } from './helpers/broker.js';

let rawClient: WebSocketClient;
let client: WebSocketClient;
let keyscope: Keyscope;
let registry: Registry;
let tracing: TestTracing;

beforeAll(async () => {
  await requireBroker();
  tracing = testTracing();
  registry = new Registry();
  keyscope = new Keyscope({ registry, tracerProvider: tracing.provider, keyPolicy: 'plain', sweepIntervalMs: 200 });
  rawClient = newClient();
  client = keyscope.instrumentClient(rawClient);
});

afterAll(async () => {
  await rawClient?.close();
  keyscope?.close();
});

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('keyscope through the real broker', () => {
  it('keeps one trace from send to process across the broker', async () => {
    const topic = uniqueTopic('ks-trace');
    const processed: string[] = [];
    const consumer = await client.subscribe({
      topic,
      subscription: 'trace',
      subscriptionType: 'KeyShared',
      listener: async (message, c) => {
        processed.push(message.getData().toString());
        await c.acknowledge(message);
      },
    });
    const producer = await client.createProducer({ topic });
    const properties = { app: 'own-property' };
    const id = await producer.send({ data: Buffer.from('traced'), partitionKey: 'subscriber-7', properties });
    expect(properties).toEqual({ app: 'own-property' }); // the caller's object is not changed
    await waitFor(() => processed.length === 1, 10_000, 'the message to be processed');
    await waitFor(() => tracing.byName(`process ${topic}`).length === 1, 5000, 'the process span to end');

    const [send] = tracing.byName(`send ${topic}`);
    const [process] = tracing.byName(`process ${topic}`);
    expect(send).toBeDefined();
    expect(process!.spanContext().traceId).toBe(send!.spanContext().traceId);
    expect(process!.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
    // The Java client's form of the id the broker returned, on both spans.
    expect(process!.attributes['messaging.message.id']).toBe(`${id.ledgerId}:${id.entryId}:-1`);
    expect(send!.attributes['messaging.message.id']).toBe(process!.attributes['messaging.message.id']);
    expect(process!.attributes['messaging.pulsar.message.key']).toBe('subscriber-7');
    expect(process!.attributes['messaging.destination.subscription.name']).toBe('trace');
    await producer.close();
    await consumer.close();
  });

  it('a clean Key_Shared run shows zero reorder and concurrent violations', async () => {
    const topic = uniqueTopic('ks-clean');
    const subscription = 'clean';
    const total = 100 * 10;
    let processed = 0;
    const consumers: WebSocketConsumer[] = [];
    for (let c = 0; c < 3; c++) {
      consumers.push(
        await client.subscribe({
          topic,
          subscription,
          subscriptionType: 'KeyShared',
          subscriptionInitialPosition: 'Earliest',
          receiverQueueSize: 100,
          listener: async (message, consumer) => {
            if (Math.random() < 0.05) await sleep(1);
            await consumer.acknowledge(message);
            processed++;
          },
        }),
      );
    }
    const producer = await client.createProducer({ topic, blockIfQueueFull: true });
    const sends: Promise<unknown>[] = [];
    for (let round = 0; round < 10; round++) {
      for (let k = 0; k < 100; k++) sends.push(producer.send({ data: Buffer.from(`${k}:${round}`), partitionKey: `subscriber-${k}` }));
    }
    await Promise.all(sends);
    await waitFor(() => processed >= total, 60_000, `${total} messages processed (got ${processed})`);
    await sleep(300);

    const labels = { topic, subscription };
    expect(await metricValue('keyscope_messages_sent_total', { topic })).toBe(total);
    expect(await metricValue('keyscope_messages_received_total', labels)).toBe(total);
    expect(await metricValue('keyscope_messages_acked_total', labels)).toBe(total);
    expect(await metricValue('keyscope_ordering_violations_total', { ...labels, kind: 'reorder' })).toBe(0);
    expect(await metricValue('keyscope_ordering_violations_total', { ...labels, kind: 'concurrent' })).toBe(0);
    await producer.close();
    await Promise.all(consumers.map((c) => c.close()));
  });

  it('detects the split brain of Shared: one key processed concurrently by two consumers', async () => {
    const topic = uniqueTopic('ks-shared');
    const subscription = 'split';
    let processed = 0;
    const consumers = await Promise.all(
      [0, 1].map(() =>
        client.subscribe({
          topic,
          subscription,
          subscriptionType: 'Shared',
          receiverQueueSize: 5,
          listener: async (message, consumer) => {
            await sleep(5); // long enough for the other consumer's window to overlap
            await consumer.acknowledge(message);
            processed++;
          },
        }),
      ),
    );
    const producer = await client.createProducer({ topic });
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => producer.send({ data: Buffer.from(String(i)), partitionKey: 'hot-subscriber' })),
    );
    await waitFor(() => processed >= 100, 30_000, 'all Shared messages processed');
    expect(await metricValue('keyscope_ordering_violations_total', { topic, subscription, kind: 'concurrent' })).toBeGreaterThan(0);
    await producer.close();
    await Promise.all(consumers.map((c) => c.close()));
  });

  it('a cumulative ack through the wrapper fails with the typed error and leaves the message in flight', async () => {
    const topic = uniqueTopic('ks-cumulative');
    const subscription = 'cumulative';
    const consumer = await client.subscribe({ topic, subscription, subscriptionType: 'Exclusive' });
    const producer = await client.createProducer({ topic });
    await producer.send({ data: Buffer.from('held'), partitionKey: 'subscriber-5' });
    const message = await consumer.receive(10_000);
    await expect(consumer.acknowledgeCumulative(message)).rejects.toBeInstanceOf(NotSupportedByWebSocketError);
    keyscope.sweep();
    const labels = { topic, subscription };
    expect(await metricValue('keyscope_messages_acked_total', labels)).toBe(0);
    expect(await metricValue('keyscope_inflight_messages', labels)).toBe(1);
    await consumer.acknowledge(message);
    keyscope.sweep();
    expect(await metricValue('keyscope_messages_acked_total', labels)).toBe(1);
    expect(await metricValue('keyscope_inflight_messages', labels)).toBe(0);
    await producer.close();
    await consumer.close();
  });

  it('names a message by its ordering key on both sides of the broker', async () => {
    const topic = uniqueTopic('ks-ordering-key');
    const consumer = await client.subscribe({ topic, subscription: 'keys', subscriptionType: 'KeyShared' });
    const producer = await client.createProducer({ topic });
    await producer.send({ data: Buffer.from('x'), orderingKey: 'subscriber-3', partitionKey: 'routing-only' });
    const message = await consumer.receive(10_000);
    await keyscope.process(message, () => consumer.acknowledge(message));
    await waitFor(() => tracing.byName(`process ${topic}`).length === 1, 5000, 'the process span to end');
    const [send] = tracing.byName(`send ${topic}`);
    const [process] = tracing.byName(`process ${topic}`);
    expect(send!.attributes['messaging.pulsar.message.key']).toBe('subscriber-3');
    expect(process!.attributes['messaging.pulsar.message.key']).toBe('subscriber-3');
    await producer.close();
    await consumer.close();
  });

  it('counts a negative ack and the broker redelivery it causes', async () => {
    const topic = uniqueTopic('ks-nack');
    const subscription = 'retry';
    const consumer = await client.subscribe({ topic, subscription, subscriptionType: 'Shared', nAckRedeliverTimeoutMs: 100 });
    const producer = await client.createProducer({ topic });
    await producer.send({ data: Buffer.from('once more'), partitionKey: 'subscriber-9' });
    const first = await consumer.receive(10_000);
    consumer.negativeAcknowledge(first);
    const again = await consumer.receive(10_000);
    expect(again.getRedeliveryCount()).toBe(1);
    await consumer.acknowledge(again);
    const labels = { topic, subscription };
    expect(await metricValue('keyscope_messages_nacked_total', labels)).toBe(1);
    expect(await metricValue('keyscope_messages_acked_total', labels)).toBe(1);
    expect(await metricValue('keyscope_redeliveries_total', labels)).toBe(1);
    await producer.close();
    await consumer.close();
  });
});
