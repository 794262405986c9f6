import { SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { PRODUCER_PROPERTY, SEQ_PROPERTY } from '../../src/index.js';
import type { FakeConsumer, FakeMessage } from '../../testing/fake-pulsar.js';
import { harness, settle, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(() => h?.keyscope.close());

async function roundTrip(
  current: Harness,
  message: { data: Buffer; partitionKey?: string; orderingKey?: string; properties?: Record<string, string> },
) {
  const received: FakeMessage[] = [];
  await current.client.subscribe({
    topic: 'persistent://public/default/orders',
    subscription: 'billing',
    subscriptionType: 'KeyShared',
    listener: async (msg: FakeMessage, consumer: FakeConsumer) => {
      received.push(msg);
      await consumer.acknowledge(msg);
    },
  });
  const producer = await current.client.createProducer({ topic: 'persistent://public/default/orders' });
  await producer.send(message);
  await settle();
  return received;
}

describe('trace propagation producer -> consumer', () => {
  it('continues the producer trace in the consumer span (parent relation, default)', async () => {
    h = harness();
    const received = await roundTrip(h, { data: Buffer.from('x'), partitionKey: 'user-1' });
    expect(received).toHaveLength(1);
    const [send] = h.tracing.byName('send persistent://public/default/orders');
    const [processSpan] = h.tracing.byName('process persistent://public/default/orders');
    expect(send?.kind).toBe(SpanKind.PRODUCER);
    expect(processSpan?.kind).toBe(SpanKind.CONSUMER);
    expect(processSpan?.spanContext().traceId).toBe(send?.spanContext().traceId);
    expect(processSpan?.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
    // Parent and link, as the conventions and the Java agent's opt-in mode have it.
    expect(processSpan?.links.map((link) => link.context.spanId)).toEqual([send?.spanContext().spanId]);
  });

  it('starts a new trace linked to the producer span with consumerSpanRelation "link"', async () => {
    h = harness({ consumerSpanRelation: 'link' });
    await roundTrip(h, { data: Buffer.from('x'), partitionKey: 'user-1' });
    const [send] = h.tracing.byName('send persistent://public/default/orders');
    const [processSpan] = h.tracing.byName('process persistent://public/default/orders');
    expect(processSpan?.spanContext().traceId).not.toBe(send?.spanContext().traceId);
    expect(processSpan?.parentSpanContext).toBeUndefined();
    expect(processSpan?.links.map((l) => l.context.spanId)).toEqual([send?.spanContext().spanId]);
  });

  it('makes the send span a child of the active span and keeps baggage', async () => {
    h = harness();
    const tracer = h.tracing.provider.getTracer('app');
    const outer = tracer.startSpan('handle-request');
    const withBaggage = propagation.setBaggage(
      trace.setSpan(context.active(), outer),
      propagation.createBaggage({ tenant: { value: 'acme' } }),
    );
    let seenTenant: string | undefined;
    await h.client.subscribe({
      topic: 't',
      subscription: 's',
      listener: async (msg: FakeMessage, consumer: FakeConsumer) => {
        seenTenant = propagation.getActiveBaggage()?.getEntry('tenant')?.value;
        await consumer.acknowledge(msg);
      },
    });
    const producer = await h.client.createProducer({ topic: 't' });
    await context.with(withBaggage, () => producer.send({ data: Buffer.from('x'), partitionKey: 'k' }));
    outer.end();
    await settle();
    const [send] = h.tracing.byName('send t');
    expect(send?.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(seenTenant).toBe('acme');
  });

  it("makes the message's baggage active while the listener runs", async () => {
    h = harness();
    let seenTenant: string | undefined;
    await h.client.subscribe({
      topic: 't',
      subscription: 's',
      listener: (msg: FakeMessage, consumer: FakeConsumer) => {
        seenTenant = propagation.getActiveBaggage()?.getEntry('tenant')?.value;
        void consumer.acknowledge(msg);
      },
    });
    // Published outside any context: only the message properties carry the baggage.
    h.broker.publish({
      topic: 't',
      properties: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', baggage: 'tenant=globex' },
      data: Buffer.from('x'),
      partitionKey: 'k',
      orderingKey: '',
      eventTimestamp: 0,
      producerName: 'p',
    });
    await settle();
    expect(seenTenant).toBe('globex');
  });

  it('runs the listener inside the process span', async () => {
    h = harness();
    let activeInListener: string | undefined;
    await h.client.subscribe({
      topic: 't',
      subscription: 's',
      listener: (msg: FakeMessage, consumer: FakeConsumer) => {
        activeInListener = trace.getActiveSpan()?.spanContext().spanId;
        void consumer.acknowledge(msg);
      },
    });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('x') });
    await settle();
    const [processSpan] = h.tracing.byName('process t');
    expect(activeInListener).toBe(processSpan?.spanContext().spanId);
  });
});

describe('stamps', () => {
  it('writes propagator fields, keyscope-producer and a strictly increasing keyscope-seq into a copy', async () => {
    h = harness();
    const raw = await h.rawClient.createProducer({ topic: 't' });
    const producer = h.keyscope.instrumentProducer(raw);
    const callerProperties = { app: 'value' };
    const message = { data: Buffer.from('payload'), partitionKey: 'k', properties: callerProperties };
    const frozenCopy = JSON.stringify({ ...message, data: message.data.toString() });
    await producer.send(message);
    await producer.send(message);
    await producer.send({ data: Buffer.from('no properties') });

    // The caller's objects are untouched.
    expect(JSON.stringify({ ...message, data: message.data.toString() })).toBe(frozenCopy);
    expect(callerProperties).toEqual({ app: 'value' });

    const sent = raw.sentMessages;
    expect(sent).toHaveLength(3);
    expect(sent[0]).not.toBe(message);
    expect(sent[0]?.data).toBe(message.data);
    expect(sent[0]?.partitionKey).toBe('k');
    expect(sent[0]?.properties?.app).toBe('value');
    expect(sent[0]?.properties?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const producerIds = new Set(sent.map((m) => m.properties?.[PRODUCER_PROPERTY]));
    expect(producerIds.size).toBe(1);
    expect([...producerIds][0]).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(sent.map((m) => m.properties?.[SEQ_PROPERTY])).toEqual(['1', '2', '3']);
  });

  it('gives every wrapped producer its own id', async () => {
    h = harness();
    const a = h.keyscope.instrumentProducer(await h.rawClient.createProducer({ topic: 't' }));
    const rawB = await h.rawClient.createProducer({ topic: 't' });
    const b = h.keyscope.instrumentProducer(rawB);
    await a.send({ data: Buffer.from('1') });
    await b.send({ data: Buffer.from('2') });
    const [send1, send2] = h.tracing.byName('send t');
    expect(send1?.attributes['keyscope.producer']).not.toBe(send2?.attributes['keyscope.producer']);
    expect(rawB.sentMessages[0]?.properties?.[SEQ_PROPERTY]).toBe('1');
  });
});

describe('span attributes', () => {
  it('follows the messaging semantic conventions on send and process spans', async () => {
    h = harness({ keyPolicy: 'plain' });
    await h.client.subscribe({
      topic: 'persistent://public/default/orders-partition-3',
      subscription: 'billing',
      subscriptionType: 'KeyShared',
      listener: async (msg: FakeMessage, consumer: FakeConsumer) => {
        await consumer.acknowledge(msg);
      },
    });
    const producer = await h.client.createProducer({ topic: 'persistent://public/default/orders-partition-3' });
    const messageId = await producer.send({ data: Buffer.from('x'), orderingKey: 'user-7', partitionKey: 'ignored' });
    // pulsar-client prints `(ledger,entry,partition,batchIndex)`; spans carry the Java client's `ledger:entry:partition`.
    const agentFormat = messageId.toString().replace(/^\((\d+),(\d+),(-?\d+),-1\)$/, '$1:$2:$3');
    expect(agentFormat).toMatch(/^\d+:\d+:-1$/);
    await settle();
    const [send] = h.tracing.byName('send persistent://public/default/orders');
    const [processSpan] = h.tracing.byName('process persistent://public/default/orders');
    expect(send?.attributes).toMatchObject({
      'messaging.system': 'pulsar',
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'persistent://public/default/orders',
      'messaging.destination.partition.id': '3',
      'messaging.message.id': agentFormat,
      'messaging.pulsar.message.key': 'user-7',
      'keyscope.seq': 1,
    });
    expect(typeof send?.attributes['keyscope.producer']).toBe('string');
    expect(processSpan?.attributes).toMatchObject({
      'messaging.system': 'pulsar',
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'persistent://public/default/orders',
      'messaging.destination.partition.id': '3',
      'messaging.destination.subscription.name': 'billing',
      'messaging.message.id': agentFormat,
      'messaging.pulsar.message.key': 'user-7',
      'messaging.pulsar.redelivery_count': 0,
      'messaging.pulsar.subscription.type': 'KeyShared',
      'keyscope.seq': 1,
      'keyscope.producer': send?.attributes['keyscope.producer'],
    });
    expect(typeof processSpan?.attributes['keyscope.consumer']).toBe('string');
    // Ack recorded as a settle event.
    expect(
      processSpan?.events.map((e) => [e.name, e.attributes?.['messaging.operation.name'], e.attributes?.['messaging.operation.type']]),
    ).toEqual([['settle', 'ack', 'settle']]);
  });

  it('hashes keys by default with a short stable keyed hash, and omits them with keyPolicy none', async () => {
    h = harness();
    await roundTrip(h, { data: Buffer.from('x'), partitionKey: 'user-1' });
    const [send] = h.tracing.byName('send persistent://public/default/orders');
    const hashed = send?.attributes['messaging.pulsar.message.key'];
    expect(hashed).toBe(h.keyscope.hashKey('user-1'));
    expect(hashed).toMatch(/^[0-9a-f]{16}$/);
    h.keyscope.close();

    h = harness({ keyPolicy: 'none' });
    await roundTrip(h, { data: Buffer.from('x'), partitionKey: 'user-1' });
    for (const span of h.tracing.spans()) expect(span.attributes['messaging.pulsar.message.key']).toBeUndefined();
    h.keyscope.close();

    h = harness({ keyHashSecret: 'other-secret' });
    await roundTrip(h, { data: Buffer.from('x'), partitionKey: 'user-1' });
    const [otherSend] = h.tracing.byName('send persistent://public/default/orders');
    expect(otherSend?.attributes['messaging.pulsar.message.key']).not.toBe(hashed);
  });

  it('never exports payloads', async () => {
    h = harness({ keyPolicy: 'plain' });
    await roundTrip(h, { data: Buffer.from('secret-payload-text'), partitionKey: 'k' });
    const everything = JSON.stringify(h.tracing.spans().map((s) => ({ a: s.attributes, e: s.events })));
    expect(everything).not.toContain('secret-payload-text');
  });

  it('records send failures with error.type and counts them', async () => {
    h = harness();
    const raw = await h.rawClient.createProducer({ topic: 't' });
    const producer = h.keyscope.instrumentProducer(raw);
    class BrokerDownError extends Error {
      override name = 'BrokerDownError';
    }
    raw.failNextSend = new BrokerDownError('down');
    await expect(producer.send({ data: Buffer.from('x') })).rejects.toBeInstanceOf(BrokerDownError);
    const [send] = h.tracing.byName('send t');
    expect(send?.attributes['error.type']).toBe('BrokerDownError');
    expect(send?.status.code).toBe(2);
  });
});
