import { afterEach, describe, expect, it, vi } from 'vitest';
import { Keyscope, KeyscopeConfigError, PRODUCER_PROPERTY, SEQ_PROPERTY, type ConsumerLike } from '../../src/index.js';
import { FakeMessage, type FakeConsumer, type FakeConsumerConfig, type StoredMessage } from '../../testing/fake-pulsar.js';
import { harness, metricValue, settle, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(() => h?.keyscope.close());

function publish(
  current: Harness,
  properties: unknown,
  keys: { partitionKey?: string; orderingKey?: string } = { partitionKey: 'k' },
): void {
  current.broker.publish({
    topic: 't',
    properties,
    data: Buffer.from('payload'),
    partitionKey: keys.partitionKey ?? '',
    orderingKey: keys.orderingKey ?? '',
    eventTimestamp: 0,
    producerName: 'p',
  });
}

/** The instrumented consumer of the running test. */
let currentConsumer: FakeConsumer;

async function receiveAll(count: number): Promise<FakeMessage[]> {
  const out: FakeMessage[] = [];
  for (let i = 0; i < count; i++) out.push(await currentConsumer.receive());
  return out;
}

async function contextErrors(current: Harness, reason: string): Promise<number> {
  return (await metricValue(current.registry, 'keyscope_context_errors_total', { topic: 't', reason })) ?? 0;
}

const VALID_TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('malformed and hostile input on the consumer side', () => {
  it('counts malformed trace context and processes the message in a fresh trace', async () => {
    h = harness();
    currentConsumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    publish(h, { traceparent: '00-not-a-valid-context-01', [PRODUCER_PROPERTY]: 'abc', [SEQ_PROPERTY]: '1' });
    publish(h, { traceparent: VALID_TRACEPARENT });
    const [bad, good] = await receiveAll(2);
    await currentConsumer.acknowledge(bad as FakeMessage);
    await currentConsumer.acknowledge(good as FakeMessage);
    expect(await contextErrors(h, 'malformed_trace_context')).toBe(1);
    const spans = h.tracing.byName('process t');
    expect(spans).toHaveLength(2);
    expect(spans[0]?.parentSpanContext).toBeUndefined();
    expect(spans[0]?.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(spans[1]?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    // The messages themselves are untouched.
    expect(bad?.getProperties().traceparent).toBe('00-not-a-valid-context-01');
    expect(bad?.getData().toString()).toBe('payload');
  });

  it('counts invalid stamps and skips the ordering check for them', async () => {
    h = harness();
    currentConsumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    publish(h, { [PRODUCER_PROPERTY]: 'p1', [SEQ_PROPERTY]: '5' });
    publish(h, { [PRODUCER_PROPERTY]: 'p1', [SEQ_PROPERTY]: 'NaN' });
    publish(h, { [PRODUCER_PROPERTY]: 'p1', [SEQ_PROPERTY]: '-3' });
    publish(h, { [PRODUCER_PROPERTY]: 'p1', [SEQ_PROPERTY]: '99999999999999999999' });
    publish(h, { [PRODUCER_PROPERTY]: 'bad producer id <script>', [SEQ_PROPERTY]: '1' });
    await receiveAll(5);
    expect(await contextErrors(h, 'invalid_seq')).toBe(3);
    expect(await contextErrors(h, 'invalid_producer')).toBe(1);
    expect(await metricValue(h.registry, 'keyscope_ordering_violations_total', { topic: 't', subscription: 's', kind: 'reorder' })).toBe(0);
  });

  it('counts huge and non-string property values and never hands them to the propagator', async () => {
    h = harness();
    currentConsumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    publish(h, { traceparent: 'x'.repeat(1_000_000) });
    publish(h, {
      traceparent: 12345 as unknown as string,
      [SEQ_PROPERTY]: {
        toString: () => {
          throw new Error('hostile');
        },
      } as unknown as string,
    });
    publish(h, 'not an object');
    publish(h, null);
    const messages = await receiveAll(4);
    expect(await contextErrors(h, 'oversized_property')).toBe(1);
    expect(await contextErrors(h, 'non_string_property')).toBe(1);
    expect(await contextErrors(h, 'invalid_properties')).toBe(1);
    for (const msg of messages) await currentConsumer.acknowledge(msg);
    expect(await metricValue(h.registry, 'keyscope_messages_acked_total', { topic: 't', subscription: 's' })).toBe(4);
    expect(h.tracing.byName('process t')).toHaveLength(4);
  });

  it('ignores prototype tricks in properties', async () => {
    h = harness();
    currentConsumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const sneaky = Object.create({ traceparent: VALID_TRACEPARENT, [PRODUCER_PROPERTY]: 'p', [SEQ_PROPERTY]: '1' }) as object;
    publish(h, JSON.parse('{"__proto__": {"traceparent": "x"}, "constructor": "y"}'));
    h.broker.publish({
      topic: 't',
      properties: sneaky,
      data: Buffer.from(''),
      partitionKey: 'k',
      orderingKey: '',
      eventTimestamp: 0,
      producerName: 'p',
    });
    await receiveAll(2);
    for (const span of h.tracing.spans()) expect(span.spanContext().traceId).not.toBe('0af7651916cd43dd8448eb211c80319c');
  });

  it('survives message accessors that throw, passing the message through', async () => {
    h = harness();
    currentConsumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    publish(h, {});
    const msg = await currentConsumer.receive();
    // A message object whose accessors throw (e.g. a destroyed native message).
    const broken = Object.create(FakeMessage.prototype, {
      getProperties: {
        value: () => {
          throw new Error('destroyed');
        },
      },
      getTopicName: {
        value: () => {
          throw new Error('destroyed');
        },
      },
      getMessageId: { value: () => msg.getMessageId() },
    }) as FakeMessage;
    await expect(currentConsumer.acknowledge(broken)).resolves.toBeNull();
    expect(() => currentConsumer.negativeAcknowledge(broken)).not.toThrow();
    expect(h.keyscope.process(broken, () => 42)).toBe(42);
  });
});

describe('keyless messages', () => {
  it('are counted and traced but not tracked per key', async () => {
    h = harness({ stallThresholdMs: 10 });
    currentConsumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('1') });
    await producer.send({ data: Buffer.from('2') });
    const [a, b] = await receiveAll(2);
    await h.keyscope.process(a as FakeMessage, async () => {
      await h?.keyscope.process(b as FakeMessage, async () => undefined);
    });
    h.clock.advance(100);
    h.keyscope.sweep();
    const l = { topic: 't', subscription: 's' };
    expect(await metricValue(h.registry, 'keyscope_messages_received_total', l)).toBe(2);
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', l)).toBe(2);
    expect(await metricValue(h.registry, 'keyscope_inflight_keys', l)).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_stalled_messages', l)).toBe(2);
    expect(await metricValue(h.registry, 'keyscope_tracked_keys')).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_ordering_violations_total', { ...l, kind: 'concurrent' })).toBe(0);
    for (const span of h.tracing.byName('send t')) expect(span.attributes['messaging.pulsar.message.key']).toBeUndefined();
  });
});

describe('producer side', () => {
  it("counts our own names already on the caller's message, restamps the copy and leaves the caller's object alone", async () => {
    h = harness();
    const raw = await h.rawClient.createProducer({ topic: 't' });
    const producer = h.keyscope.instrumentProducer(raw);
    const properties = { [PRODUCER_PROPERTY]: 'upstream', [SEQ_PROPERTY]: '777', traceparent: VALID_TRACEPARENT };
    const message = Object.freeze({ data: Buffer.from('x'), properties: Object.freeze({ ...properties }) });
    await producer.send(message);
    expect(message.properties).toEqual(properties);
    expect(raw.sentMessages[0]?.properties?.[SEQ_PROPERTY]).toBe('1');
    expect(raw.sentMessages[0]?.properties?.[PRODUCER_PROPERTY]).not.toBe('upstream');
    expect(await contextErrors(h, 'reserved_property_present')).toBe(1);
  });

  it('passes a message with non-object properties through to the client unchanged in payload', async () => {
    h = harness();
    const raw = await h.rawClient.createProducer({ topic: 't' });
    const producer = h.keyscope.instrumentProducer(raw);
    await producer.send({ data: Buffer.from('x'), properties: 'weird' as unknown as Record<string, string> });
    expect(raw.sentMessages[0]?.data.toString()).toBe('x');
  });
});

describe('hooks', () => {
  it('a throwing producerHook or consumerHook never breaks the call', async () => {
    let producerCalls = 0;
    let consumerCalls = 0;
    h = harness({
      producerHook: (span, info) => {
        producerCalls++;
        span.setAttribute('app.topic', info.topic);
        throw new Error('producer hook bug');
      },
      consumerHook: (span, info) => {
        consumerCalls++;
        span.setAttribute('app.subscription', info.subscription);
        throw new Error('consumer hook bug');
      },
    });
    const received: string[] = [];
    await h.client.subscribe({
      topic: 't',
      subscription: 's',
      listener: async (msg: FakeMessage, consumer: FakeConsumer) => {
        received.push(msg.getData().toString());
        await consumer.acknowledge(msg);
      },
    });
    const producer = await h.client.createProducer({ topic: 't' });
    await expect(producer.send({ data: Buffer.from('x') })).resolves.toBeDefined();
    await settle();
    expect(received).toEqual(['x']);
    expect(producerCalls).toBe(1);
    expect(consumerCalls).toBe(1);
    expect(h.tracing.byName('send t')[0]?.attributes['app.topic']).toBe('t');
    expect(h.tracing.byName('process t')[0]?.attributes['app.subscription']).toBe('s');
  });
});

describe('nothing throws into the application', () => {
  it("lets the app's listener errors reach the client as they were, and closes the window", async () => {
    h = harness();
    const listenerError = new Error('app failure');
    let calls = 0;
    const effectiveConfigs: FakeConsumerConfig[] = [];
    const rawSubscribe = h.rawClient.subscribe.bind(h.rawClient);
    h.rawClient.subscribe = (config) => {
      effectiveConfigs.push(config);
      return rawSubscribe(config);
    };
    const appListener = async () => {
      calls++;
      throw listenerError;
    };
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's', listener: appListener });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('1'), partitionKey: 'k' });
    await producer.send({ data: Buffer.from('2'), partitionKey: 'k' });
    await settle();
    expect(calls).toBe(2);
    // Both windows closed despite the rejections: no false `concurrent`.
    expect(await metricValue(h.registry, 'keyscope_ordering_violations_total', { topic: 't', subscription: 's', kind: 'concurrent' })).toBe(
      0,
    );
    // The client sees the app's rejection unchanged.
    const wrappedListener = effectiveConfigs[0]?.listener;
    expect(wrappedListener).toBeDefined();
    expect(wrappedListener).not.toBe(appListener);
    const stored = {
      topic: 't',
      properties: {},
      data: Buffer.from(''),
      partitionKey: 'k',
      orderingKey: '',
      publishTimestamp: 0,
      eventTimestamp: 0,
      producerName: '',
      messageId: { toString: () => '9:9:-1' },
    } as unknown as StoredMessage;
    await expect(wrappedListener?.(new FakeMessage(stored, 0), consumer) as Promise<void>).rejects.toBe(listenerError);
  });

  it('rethrows a synchronous listener error after closing the window', async () => {
    h = harness();
    const raw = await h.rawClient.subscribe({ topic: 't', subscription: 's' });
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's' });
    publish(h, {});
    const msg = await consumer.receive();
    expect(() =>
      h?.keyscope.process(msg, () => {
        throw new RangeError('boom');
      }),
    ).toThrow(RangeError);
    // The window closed: a new window for the same key is not concurrent.
    await h.keyscope.process(msg, async () => undefined);
    expect(await metricValue(h.registry, 'keyscope_ordering_violations_total', { topic: 't', subscription: 's', kind: 'concurrent' })).toBe(
      0,
    );
  });

  it('returns what fn returns from process(), also for messages it does not know', async () => {
    h = harness();
    const stored: StoredMessage = {
      topic: 't',
      properties: {},
      data: Buffer.from(''),
      partitionKey: '',
      orderingKey: '',
      publishTimestamp: 0,
      eventTimestamp: 0,
      producerName: '',
      messageId: { toString: () => '1:1:-1' } as never,
    };
    expect(h.keyscope.process(new FakeMessage(stored, 0), () => 'result')).toBe('result');
    await expect(h.keyscope.process(new FakeMessage(stored, 0), async () => 'async result')).resolves.toBe('async result');
  });
});

describe('options and lifecycle', () => {
  it('rejects options that cannot work with a typed error that says what to fix', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ stallThresholdMs: 0 }, /stallThresholdMs.*positive number/],
      [{ stallThresholdMs: 'soon' }, /stallThresholdMs/],
      [{ maxTrackedKeys: 1.5 }, /maxTrackedKeys.*positive integer/],
      [{ topStalledKeys: -1 }, /topStalledKeys.*non-negative integer/],
      [{ keyPolicy: 'sha1' }, /keyPolicy.*'hashed', 'plain', 'none'/],
      [{ consumerSpanRelation: 'child' }, /consumerSpanRelation.*'parent', 'link'/],
      [{ producerHook: 'x' }, /producerHook.*function/],
      [{ registry: {} }, /registry.*prom-client Registry/],
      [{ tracerProvider: 42 }, /tracerProvider/],
      [{ keyHashSecret: '' }, /keyHashSecret/],
    ];
    for (const [options, message] of cases) {
      expect(() => new Keyscope(options as never), JSON.stringify(options)).toThrow(KeyscopeConfigError);
      expect(() => new Keyscope(options as never)).toThrow(message);
    }
  });

  it('requires a subscription name for instrumentConsumer', async () => {
    h = harness();
    const raw = await h.rawClient.subscribe({ topic: 't', subscription: 's' });
    expect(() => h?.keyscope.instrumentConsumer(raw, {} as never)).toThrow(KeyscopeConfigError);
  });

  it('close() is idempotent, stops the sweep and leaves wrappers working as plain pass-through', async () => {
    h = harness({ sweepIntervalMs: 5 });
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    h.keyscope.close();
    h.keyscope.close();
    await producer.send({ data: Buffer.from('after close'), partitionKey: 'k' });
    const msg = await consumer.receive();
    expect(msg.getData().toString()).toBe('after close');
    expect(msg.getProperties()[SEQ_PROPERTY]).toBeUndefined();
    await consumer.acknowledge(msg);
    expect(h.tracing.spans()).toHaveLength(0);
  });

  it('close() ends the spans of messages still in flight and lets go of them', async () => {
    h = harness();
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('held'), partitionKey: 'k' });
    const msg = await consumer.receive();
    expect(h.tracing.byName('process t')).toHaveLength(0);
    h.keyscope.close();
    const [processSpan] = h.tracing.byName('process t');
    expect(processSpan?.events.map((e) => e.attributes?.['messaging.operation.name'])).toEqual(['closed']);
    expect(h.keyscope.internalPipeline.deliveries.has(msg)).toBe(false);
    expect(h.keyscope.internalPipeline.tracker.sweep(h.clock.now()).streams.map((s) => s.inflightMessages)).toEqual([0]);
    expect(h.keyscope.internalPipeline.consumers.size).toBe(0);
    await expect(consumer.acknowledge(msg)).resolves.toBeNull();
  });

  it('keeps instanceof and unknown members of the wrapped objects', async () => {
    h = harness();
    const { FakeProducer, FakeConsumer } = await import('../../testing/fake-pulsar.js');
    const producer = await h.client.createProducer({ topic: 't' });
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    expect(producer).toBeInstanceOf(FakeProducer);
    expect(consumer).toBeInstanceOf(FakeConsumer);
    expect(producer.getTopic()).toBe('t');
    expect(producer.isConnected()).toBe(true);
    await expect(consumer.seekTimestamp(0)).resolves.toBeNull();
  });
});

describe('huge keys', () => {
  it('are tracked by a digest, so a flood of huge keys stays small', async () => {
    h = harness({ keyPolicy: 'plain' });
    currentConsumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const huge = 'k'.repeat(100_000);
    publish(h, {}, { partitionKey: `${huge}1` });
    publish(h, {}, { partitionKey: `${huge}2` });
    publish(h, {}, { partitionKey: `${huge}1` });
    const messages = await receiveAll(3);
    // The messages themselves keep their keys.
    expect(messages[0]?.getPartitionKey()).toBe(`${huge}1`);
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_tracked_keys')).toBe(2);
    const keyAttributes = h.tracing.spans().map((s) => s.attributes['messaging.pulsar.message.key']);
    for (const key of keyAttributes) expect(String(key)).toMatch(/^sha256:[0-9a-f]{64}$/);
    for (const msg of messages) await currentConsumer.acknowledge(msg);
  });

  it('are named the same way on the producer and the consumer side', async () => {
    h = harness();
    await h.client.subscribe({
      topic: 't',
      subscription: 's',
      listener: (msg: FakeMessage, consumer: FakeConsumer) => void consumer.acknowledge(msg),
    });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('x'), partitionKey: 'z'.repeat(10_000) });
    await settle();
    const [send] = h.tracing.byName('send t');
    const [processSpan] = h.tracing.byName('process t');
    expect(send?.attributes['messaging.pulsar.message.key']).toMatch(/^[0-9a-f]{16}$/);
    expect(processSpan?.attributes['messaging.pulsar.message.key']).toBe(send?.attributes['messaging.pulsar.message.key']);
  });
});

describe("the caller's objects are never changed", () => {
  it('sends hostile caller properties (huge, non-string) on as they were and leaves the frozen message deep-equal', async () => {
    h = harness();
    const raw = await h.rawClient.createProducer({ topic: 't' });
    const producer = h.keyscope.instrumentProducer(raw);
    const huge = 'v'.repeat(2_000_000);
    const nested = Object.freeze({ deep: 'value' });
    const properties = Object.freeze({ huge, count: 7 as unknown as string, nested: nested as unknown as string, traceparent: 'garbage' });
    const message = Object.freeze({ data: Buffer.from('payload'), partitionKey: 'k', eventTimestamp: 123, properties });
    const snapshot = structuredClone({ ...message, data: [...message.data] });
    await expect(producer.send(message)).resolves.toBeDefined();
    expect({ ...message, data: [...message.data] }).toStrictEqual(snapshot);
    expect(message.data.toString()).toBe('payload');
    const sent = raw.sentMessages[0];
    expect(sent?.properties?.huge).toBe(huge);
    expect(sent?.properties?.count).toBe(7);
    expect(sent?.properties?.nested).toBe(nested);
    // Only the trace context and our stamps differ on the copy.
    expect(sent?.properties?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(sent?.partitionKey).toBe('k');
    expect(sent?.eventTimestamp).toBe(123);
    expect(h.tracing.byName('send t')).toHaveLength(1);
  });

  it('reads a received message without writing to it (frozen properties stay deep-equal)', async () => {
    h = harness();
    const properties = Object.freeze({
      traceparent: VALID_TRACEPARENT,
      [PRODUCER_PROPERTY]: 'producerA',
      [SEQ_PROPERTY]: '3',
      app: 'x'.repeat(100_000),
    });
    const snapshot = { ...properties };
    const message = Object.freeze({
      getTopicName: () => 't',
      getProperties: () => properties,
      getData: () => Buffer.from('payload'),
      getMessageId: () => ({ toString: () => '1:2:-1', serialize: () => Buffer.alloc(0) }),
      getPublishTimestamp: () => h!.clock.now() - 10,
      getEventTimestamp: () => 0,
      getRedeliveryCount: () => 0,
      getPartitionKey: () => 'k',
      getOrderingKey: () => '',
    });
    const rawConsumer = {
      receive: async () => message,
      acknowledge: async () => null,
      acknowledgeId: async () => null,
      negativeAcknowledge: () => undefined,
      negativeAcknowledgeId: () => undefined,
      acknowledgeCumulative: async () => null,
      isConnected: () => true,
      close: async () => null,
      unsubscribe: async () => null,
    };
    const consumer = h.keyscope.instrumentConsumer(rawConsumer as unknown as ConsumerLike, { subscription: 's' });
    const received = await consumer.receive();
    expect(received).toBe(message);
    await h.keyscope.process(received, async () => {
      await consumer.acknowledge(received);
    });
    expect(properties).toStrictEqual(snapshot);
    const [processSpan] = h.tracing.byName('process t');
    // Instrumented (not skipped because of a failed write): same trace, stamps read.
    expect(processSpan?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(processSpan?.attributes['keyscope.seq']).toBe(3);
    expect(await metricValue(h.registry, 'keyscope_messages_acked_total', { topic: 't', subscription: 's' })).toBe(1);
  });
});

describe('instrumentation faults while creating producers and consumers', () => {
  it('hands the application its producer, uninstrumented, when instrumenting it fails', async () => {
    h = harness();
    const metrics = h.keyscope.internalPipeline.metrics;
    metrics.topic = () => {
      throw new Error('instrumentation bug');
    };
    const producer = await h.client.createProducer({ topic: 't' });
    await expect(producer.send({ data: Buffer.from('x') })).resolves.toBeDefined();
    expect(producer.getTopic()).toBe('t');
  });

  it('hands the application its consumer when wrapping it fails', async () => {
    h = harness();
    const consumers = h.keyscope.internalPipeline.consumers;
    const add = consumers.add.bind(consumers);
    consumers.add = () => {
      throw new Error('instrumentation bug');
    };
    try {
      const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
      const producer = await h.client.createProducer({ topic: 't' });
      await producer.send({ data: Buffer.from('x') });
      const msg = await consumer.receive();
      expect(msg.getData().toString()).toBe('x');
      await expect(consumer.acknowledge(msg)).resolves.toBeNull();
    } finally {
      consumers.add = add;
    }
  });
});

describe('close() and timers', () => {
  it('the sweep timer is unref()ed, runs until close() and never after', async () => {
    const created: NodeJS.Timeout[] = [];
    const realSetInterval = globalThis.setInterval;
    const spy = vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, ms: number) => {
      const timer = realSetInterval(fn, ms);
      created.push(timer);
      return timer;
    }) as typeof setInterval);
    try {
      h = harness({ sweepIntervalMs: 5 });
    } finally {
      spy.mockRestore();
    }
    expect(created).toHaveLength(1);
    expect(created[0]?.hasRef()).toBe(false);
    const sweeps = vi.spyOn(h.keyscope, 'sweep');
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(sweeps.mock.calls.length).toBeGreaterThan(0);
    h.keyscope.close();
    h.keyscope.close();
    const afterClose = sweeps.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(sweeps.mock.calls.length).toBe(afterClose);
  });
});
