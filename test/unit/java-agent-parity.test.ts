/**
 * The conventions shared with the OpenTelemetry Java agent's messaging
 * opt-in mode: message ids in the Java client's form, the schema URL, parent
 * plus link, server address, partition on send, body size by option, receive
 * spans by option; and messages from producers keyscope does not wrap.
 */
import { ROOT_CONTEXT, SpanKind, context, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry, type RegistryContentType } from 'prom-client';
import { KeyscopeConfigError, PulsarInstrumentation, SEQ_PROPERTY, type ProducerLike } from '../../src/index.js';
import { SCHEMA_URL } from '../../src/semconv.js';
import { formatMessageId, partitionOfMessageId } from '../../src/telemetry/message-id.js';
import { parseServiceUrl } from '../../src/telemetry/server-address.js';
import { WebSocketMessageId } from '../../src/websocket/index.js';
import { FakeBroker, FakeClient, type FakeConsumer, type FakeMessage } from '../../testing/fake-pulsar.js';
import { harness, metricValue, orderingViolations, settle, type Harness } from '../support/harness.js';
import { testTracing } from '../support/otel.js';

let h: Harness | undefined;
afterEach(() => h?.keyscope.close());

const idOf = (text: string) => ({ toString: () => text });

/** MessageIdData bytes: ledger 910, entry 3, partition / batch index when given (protobuf varints). */
function webSocketId(partition: number, batchIndex: number): WebSocketMessageId {
  const bytes = [0x08, 0x8e, 0x07, 0x10, 0x03];
  if (partition >= 0) bytes.push(0x18, partition);
  if (batchIndex >= 0) bytes.push(0x20, batchIndex);
  return WebSocketMessageId.fromBase64(Buffer.from(bytes).toString('base64'));
}

describe('message ids in the Java client form', () => {
  it("turns pulsar-client's (ledger,entry,partition,batchIndex) into ledger:entry:partition[:batchIndex]", () => {
    expect(formatMessageId(idOf('(910,0,-1,-1)'))).toBe('910:0:-1');
    expect(formatMessageId(idOf('(910,7,2,-1)'))).toBe('910:7:2');
    expect(formatMessageId(idOf('(910,7,-1,4)'))).toBe('910:7:-1:4');
    expect(formatMessageId(idOf('(12345678901234,0,3,0)'))).toBe('12345678901234:0:3:0');
  });

  it('reads the WebSocket client ids from their fields, toString unchanged', () => {
    expect(formatMessageId(webSocketId(-1, -1))).toBe('910:3:-1');
    expect(formatMessageId(webSocketId(2, -1))).toBe('910:3:2');
    expect(formatMessageId(webSocketId(-1, 5))).toBe('910:3:-1:5');
    expect(webSocketId(-1, 5).toString()).toBe('(910,3,-1,5)');
  });

  it('keeps any other shape as its own text and never throws', () => {
    expect(formatMessageId(idOf('910:0:-1'))).toBe('910:0:-1');
    expect(formatMessageId(idOf('(1,2,3)'))).toBe('(1,2,3)');
    expect(formatMessageId(idOf('(a,b,c,d)'))).toBe('(a,b,c,d)');
    expect(formatMessageId(idOf('(1,2,3,4,5)'))).toBe('(1,2,3,4,5)');
    expect(formatMessageId(undefined)).toBeUndefined();
    expect(formatMessageId(null)).toBeUndefined();
    expect(
      formatMessageId({
        toString() {
          throw new Error('hostile');
        },
      }),
    ).toBeUndefined();
  });

  it('finds the partition in a formatted id', () => {
    expect(partitionOfMessageId('910:0:2')).toBe('2');
    expect(partitionOfMessageId('910:0:2:7')).toBe('2');
    expect(partitionOfMessageId('910:0:-1')).toBeUndefined();
    expect(partitionOfMessageId('(1,2,3,4)')).toBeUndefined();
  });

  it('puts the same id on the send and process spans of one message', async () => {
    h = harness();
    await h.client.subscribe({ topic: 't', subscription: 's', listener: (m: FakeMessage, c: FakeConsumer) => void c.acknowledge(m) });
    const producer = await h.client.createProducer({ topic: 't' });
    const id = await producer.send({ data: Buffer.from('x') });
    await settle();
    const expected = formatMessageId(id);
    expect(expected).toMatch(/^\d+:\d+:-1$/);
    expect(h.tracing.byName('send t')[0]?.attributes['messaging.message.id']).toBe(expected);
    expect(h.tracing.byName('process t')[0]?.attributes['messaging.message.id']).toBe(expected);
  });
});

describe('server address', () => {
  it('reads host and port from a service URL as the Java agent does', () => {
    expect(parseServiceUrl('pulsar://localhost:6650')).toEqual({ address: 'localhost', port: 6650 });
    expect(parseServiceUrl('pulsar+ssl://broker.example.com:6651/')).toEqual({ address: 'broker.example.com', port: 6651 });
    expect(parseServiceUrl('http://127.0.0.1:8080')).toEqual({ address: '127.0.0.1', port: 8080 });
    expect(parseServiceUrl('https://user:secret@broker:443/ws')).toEqual({ address: 'broker', port: 443 });
    expect(parseServiceUrl('pulsar://[::1]:6650')).toEqual({ address: '::1', port: 6650 });
    expect(parseServiceUrl('pulsar://broker')).toEqual({ address: 'broker', port: undefined });
    expect(parseServiceUrl('pulsar://broker:notaport')).toEqual({ address: 'broker', port: undefined });
    expect(parseServiceUrl('pulsar://a:6650,b:6650')).toBeUndefined();
    expect(parseServiceUrl('localhost:6650')).toBeUndefined();
    expect(parseServiceUrl(undefined)).toBeUndefined();
  });

  it('sets server.address and server.port on send and process spans of an instrumented client', async () => {
    h = harness();
    const client = h.keyscope.instrumentClient(new FakeClient(h.broker), { serviceUrl: 'pulsar://broker-1:6650' });
    await client.subscribe({ topic: 't', subscription: 's', listener: (m: FakeMessage, c: FakeConsumer) => void c.acknowledge(m) });
    await (await client.createProducer({ topic: 't' })).send({ data: Buffer.from('x') });
    await settle();
    for (const span of [...h.tracing.byName('send t'), ...h.tracing.byName('process t')]) {
      expect(span.attributes).toMatchObject({ 'server.address': 'broker-1', 'server.port': 6650 });
    }
    expect(h.tracing.spans()).toHaveLength(2);
  });

  it("takes a client's own serviceUrl property (the WebSocket client's) when none is given", async () => {
    h = harness();
    const raw = Object.assign(new FakeClient(h.broker), { serviceUrl: 'http://ws-broker:8080' });
    const client = h.keyscope.instrumentClient(raw);
    await (await client.createProducer({ topic: 't' })).send({ data: Buffer.from('x') });
    expect(h.tracing.byName('send t')[0]?.attributes).toMatchObject({ 'server.address': 'ws-broker', 'server.port': 8080 });
  });
});

describe('tracer and span relations', () => {
  it('records with a tracer that carries the schema URL of the conventions followed', async () => {
    h = harness();
    await (await h.client.createProducer({ topic: 't' })).send({ data: Buffer.from('x') });
    const scope = h.tracing.byName('send t')[0]?.instrumentationScope;
    expect(scope?.schemaUrl).toBe(SCHEMA_URL);
    expect(SCHEMA_URL).toBe('https://opentelemetry.io/schemas/1.43.0');
    expect(scope?.name).toBe('pulsar-keyscope');
  });

  it('links link-mode process spans to the producer without a parent, as before', async () => {
    h = harness({ consumerSpanRelation: 'link' });
    await h.client.subscribe({ topic: 't', subscription: 's', listener: (m: FakeMessage, c: FakeConsumer) => void c.acknowledge(m) });
    await (await h.client.createProducer({ topic: 't' })).send({ data: Buffer.from('x') });
    await settle();
    const [send] = h.tracing.byName('send t');
    const [processSpan] = h.tracing.byName('process t');
    expect(processSpan?.parentSpanContext).toBeUndefined();
    expect(processSpan?.spanContext().traceId).not.toBe(send?.spanContext().traceId);
    expect(processSpan?.links.map((link) => link.context.spanId)).toEqual([send?.spanContext().spanId]);
  });
});

describe('send spans', () => {
  /** A producer of a partitioned topic: the broker's id names the partition it chose. */
  function partitionedProducer(): ProducerLike {
    return {
      send: () => Promise.resolve(idOf('(77,5,2,-1)')),
      flush: () => Promise.resolve(null),
      close: () => Promise.resolve(null),
      getProducerName: () => 'p',
      getTopic: () => 'persistent://public/default/orders',
      isConnected: () => true,
    };
  }

  it('learn the partition from the id the broker returns', async () => {
    h = harness();
    await h.keyscope.instrumentProducer(partitionedProducer()).send({ data: Buffer.from('x') });
    expect(h.tracing.byName('send persistent://public/default/orders')[0]?.attributes).toMatchObject({
      'messaging.message.id': '77:5:2',
      'messaging.destination.partition.id': '2',
    });
  });

  it('name the topic as the client reports it, fully qualified, when the producer was created with a short name', async () => {
    h = harness();
    const raw = {
      createProducer: (_config: { topic: string }) => Promise.resolve(partitionedProducer()),
      subscribe: h.rawClient.subscribe.bind(h.rawClient),
      createReader: h.rawClient.createReader.bind(h.rawClient),
    };
    const producer = await h.keyscope.instrumentClient(raw).createProducer({ topic: 'orders' });
    await producer.send({ data: Buffer.from('x') });
    expect(h.tracing.byName('send persistent://public/default/orders')).toHaveLength(1);
    expect(await metricValue(h.registry, 'keyscope_messages_sent_total', { topic: 'persistent://public/default/orders' })).toBe(1);
  });

  it('carry messaging.message.body.size only when asked for', async () => {
    h = harness();
    await h.client.subscribe({ topic: 't', subscription: 's', listener: (m: FakeMessage, c: FakeConsumer) => void c.acknowledge(m) });
    await (await h.client.createProducer({ topic: 't' })).send({ data: Buffer.from('twelve bytes') });
    await settle();
    for (const span of h.tracing.spans()) expect(span.attributes['messaging.message.body.size']).toBeUndefined();
    h.keyscope.close();

    h = harness({ messageBodySize: true });
    await h.client.subscribe({ topic: 't', subscription: 's', listener: (m: FakeMessage, c: FakeConsumer) => void c.acknowledge(m) });
    await (await h.client.createProducer({ topic: 't' })).send({ data: Buffer.from('twelve bytes') });
    await settle();
    expect(
      h.tracing
        .spans()
        .map((span) => [span.name, span.attributes['messaging.message.body.size']])
        .sort(),
    ).toEqual([
      ['process t', 12],
      ['send t', 12],
    ]);
  });
});

describe('receive spans', () => {
  async function setUp(options: { receiveSpans?: boolean }) {
    h = harness(options ?? {});
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    return { consumer, producer };
  }

  it('are off by default', async () => {
    const { consumer, producer } = await setUp({});
    await producer.send({ data: Buffer.from('x') });
    await consumer.acknowledge(await consumer.receive());
    expect(h!.tracing.spans().map((span) => span.name)).toEqual(['send t', 'process t']);
  });

  it('are CLIENT spans from the receive() call to its message, children of the caller context, linked to the producer', async () => {
    const { consumer, producer } = await setUp({ receiveSpans: true });
    const app = h!.tracing.provider.getTracer('app').startSpan('app');
    const received = context.with(trace.setSpan(ROOT_CONTEXT, app), () => consumer.receive());
    await producer.send({ data: Buffer.from('x') });
    const message = await received;
    await consumer.acknowledge(message);
    app.end();
    const [send] = h!.tracing.byName('send t');
    const [receive] = h!.tracing.byName('receive t');
    expect(receive?.kind).toBe(SpanKind.CLIENT);
    expect(receive?.parentSpanContext?.spanId).toBe(app.spanContext().spanId);
    expect(receive?.links.map((link) => link.context.spanId)).toEqual([send?.spanContext().spanId]);
    // It covers the wait: it started before the message was sent.
    const toMs = ([seconds, nanos]: [number, number]) => seconds * 1e3 + nanos / 1e6;
    expect(toMs(receive!.startTime)).toBeLessThanOrEqual(toMs(send!.startTime));
    expect(receive?.attributes).toMatchObject({
      'messaging.system': 'pulsar',
      'messaging.operation.name': 'receive',
      'messaging.operation.type': 'receive',
      'messaging.destination.name': 't',
      'messaging.destination.subscription.name': 's',
      'messaging.message.id': formatMessageId(message.getMessageId()),
    });
    // The process span stays as it was: a child of the producer.
    expect(h!.tracing.byName('process t')[0]?.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
  });

  it('cover a batchReceive() with one span linked to every message, and none for an empty batch', async () => {
    const { consumer, producer } = await setUp({ receiveSpans: true });
    expect(await consumer.batchReceive()).toHaveLength(0);
    for (const text of ['a', 'b', 'c']) await producer.send({ data: Buffer.from(text) });
    const batch = await consumer.batchReceive();
    expect(batch).toHaveLength(3);
    const receives = h!.tracing.byName('receive t');
    expect(receives).toHaveLength(1);
    expect(receives[0]?.attributes['messaging.batch.message_count']).toBe(3);
    expect(receives[0]?.attributes['messaging.message.id']).toBeUndefined();
    expect(receives[0]?.links.map((link) => link.context.spanId)).toEqual(
      h!.tracing.byName('send t').map((span) => span.spanContext().spanId),
    );
  });

  it('are not recorded for a receive() that fails, whose error reaches the caller unchanged', async () => {
    const { consumer } = await setUp({ receiveSpans: true });
    await expect(consumer.receive(5)).rejects.toThrow(/TimeOut/);
    expect(h!.tracing.byName('receive t')).toHaveLength(0);
  });
});

describe('messages from producers keyscope does not wrap', () => {
  const labels = { topic: 't', subscription: 's' };

  async function consume(options: Parameters<typeof harness>[0], messages: { key: string; properties: Record<string, string> }[]) {
    h = harness(options);
    await h.client.subscribe({ topic: 't', subscription: 's', listener: (m: FakeMessage, c: FakeConsumer) => void c.acknowledge(m) });
    const raw = await h.rawClient.createProducer({ topic: 't', producerName: 'java-producer' });
    for (const message of messages) await raw.send({ data: Buffer.from('x'), partitionKey: message.key, properties: message.properties });
    await settle();
  }

  it('are counted as unstamped, per topic and subscription; stamped ones are not', async () => {
    await consume({}, [
      { key: 'k', properties: {} },
      { key: 'k', properties: { other: 'value' } },
    ]);
    const stamped = await h!.client.createProducer({ topic: 't' });
    await stamped.send({ data: Buffer.from('x'), partitionKey: 'k' });
    await settle();
    expect(await metricValue(h!.registry, 'keyscope_unstamped_messages_total', labels)).toBe(2);
    expect(await metricValue(h!.registry, 'keyscope_messages_received_total', labels)).toBe(3);
  });

  it('are not checked for order unless unstampedOrdering names their sequence', async () => {
    const backwards = ['1', '3', '2'].map((seq) => ({ key: 'k', properties: { 'app-seq': seq } }));
    await consume({}, backwards);
    expect(await orderingViolations(h!, labels, 'reorder')).toBe(0);
    h!.keyscope.close();

    await consume({ unstampedOrdering: { sequenceProperty: 'app-seq' } }, backwards);
    expect(await orderingViolations(h!, labels, 'reorder')).toBe(1);
    expect(await metricValue(h!.registry, 'keyscope_unstamped_messages_total', labels)).toBe(3);
    const flagged = h!.tracing.byName('process t').filter((span) => span.attributes['keyscope.violation'] === 'reorder');
    expect(flagged).toHaveLength(1);
    // Their spans carry no keyscope stamps they did not have.
    expect(flagged[0]?.attributes['keyscope.producer']).toBeUndefined();
  });

  it('are ordered per producer: the producerProperty, else the producer name the client reports', async () => {
    const interleaved = [
      { key: 'k', properties: { 'app-seq': '5', 'app-producer': 'a' } },
      { key: 'k', properties: { 'app-seq': '1', 'app-producer': 'b' } },
      { key: 'k', properties: { 'app-seq': '6', 'app-producer': 'a' } },
      { key: 'k', properties: { 'app-seq': '2', 'app-producer': 'b' } },
    ];
    await consume({ unstampedOrdering: { sequenceProperty: 'app-seq', producerProperty: 'app-producer' } }, interleaved);
    expect(await orderingViolations(h!, labels, 'reorder')).toBe(0);
    h!.keyscope.close();

    // One raw producer (one producer name) writing the same interleaving goes backwards.
    await consume({ unstampedOrdering: { sequenceProperty: 'app-seq' } }, interleaved);
    expect(await orderingViolations(h!, labels, 'reorder')).toBe(2);
  });

  it('with a malformed own sequence are counted as invalid_seq and flow on', async () => {
    await consume({ unstampedOrdering: { sequenceProperty: 'app-seq' } }, [{ key: 'k', properties: { 'app-seq': 'seven' } }]);
    expect(await metricValue(h!.registry, 'keyscope_context_errors_total', { topic: 't', reason: 'invalid_seq' })).toBe(1);
    expect(await metricValue(h!.registry, 'keyscope_messages_acked_total', labels)).toBe(1);
  });

  it('do not let a stamped message fall back to the own sequence', async () => {
    await consume({ unstampedOrdering: { sequenceProperty: 'app-seq' } }, [
      { key: 'k', properties: { [SEQ_PROPERTY]: 'x', 'app-seq': '1' } },
    ]);
    expect(await metricValue(h!.registry, 'keyscope_unstamped_messages_total', labels)).toBe(0);
  });
});

describe('option validation', () => {
  it('rejects bad values of the new options with a message naming them', () => {
    expect(() => harness({ receiveSpans: 'yes' as unknown as boolean })).toThrow(KeyscopeConfigError);
    expect(() => harness({ messageBodySize: 1 as unknown as boolean })).toThrow(/messageBodySize/);
    expect(() => harness({ unstampedOrdering: {} as never })).toThrow(/sequenceProperty/);
    expect(() => harness({ unstampedOrdering: { sequenceProperty: 'seq', producerProperty: '' } })).toThrow(/producerProperty/);
  });
});

describe('PulsarInstrumentation', () => {
  it("notes each client's service URL as it is constructed, and gives its tracer the schema URL", async () => {
    const tracing = testTracing();
    const instrumentation = new PulsarInstrumentation({ registry: new Registry<RegistryContentType>(), enabled: false });
    instrumentation.setTracerProvider(tracing.provider);
    const broker = new FakeBroker();
    class Client {
      static created = 0;
      private readonly inner = new FakeClient(broker);
      constructor(readonly config: { serviceUrl: string }) {
        Client.created++;
      }
      createProducer(config: { topic: string }) {
        return this.inner.createProducer(config);
      }
      subscribe(config: Parameters<FakeClient['subscribe']>[0]) {
        return this.inner.subscribe(config);
      }
      createReader(config: Parameters<FakeClient['createReader']>[0]) {
        return this.inner.createReader(config);
      }
    }
    const module: { Client: typeof Client } = { Client };
    instrumentation.patch(module);
    try {
      const client = new module.Client({ serviceUrl: 'pulsar://broker-7:6650' });
      expect(client).toBeInstanceOf(Client);
      expect(client.config.serviceUrl).toBe('pulsar://broker-7:6650');
      expect(module.Client.created).toBe(1);
      await (await client.createProducer({ topic: 't' })).send({ data: Buffer.from('x') });
      const [send] = tracing.byName('send t');
      expect(send?.attributes).toMatchObject({ 'server.address': 'broker-7', 'server.port': 6650 });
      expect(send?.instrumentationScope.schemaUrl).toBe(SCHEMA_URL);
    } finally {
      instrumentation.unpatch(module);
      instrumentation.keyscope.close();
    }
    expect(module.Client).toBe(Client);
  });
});
