/**
 * Wrapping is idempotent (an instrumented client, producer or consumer given
 * to be instrumented again is returned as it is, and the diag log says so
 * once), and closing an instrumented client releases what its consumers held.
 */
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { Registry, type RegistryContentType } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Keyscope, PulsarInstrumentation } from '../../src/index.js';
import { FakeBroker, FakeClient } from '../../testing/fake-pulsar.js';
import { harness, metricValue, type Harness } from '../support/harness.js';
import { testTracing } from '../support/otel.js';

let h: Harness | undefined;
afterEach(() => {
  h?.keyscope.close();
  diag.disable();
});

const labels = { topic: 't', subscription: 's' };

function collectWarnings(): string[] {
  const warnings: string[] = [];
  const logger: DiagLogger = {
    error: () => undefined,
    warn: (message) => void warnings.push(message),
    info: () => undefined,
    debug: () => undefined,
    verbose: () => undefined,
  };
  diag.setLogger(logger, DiagLogLevel.WARN);
  return warnings;
}

async function consumerFigures(current: Harness) {
  current.keyscope.sweep();
  return {
    received: await metricValue(current.registry, 'keyscope_messages_received_total', labels),
    acked: await metricValue(current.registry, 'keyscope_messages_acked_total', labels),
    inflight: await metricValue(current.registry, 'keyscope_inflight_messages', labels),
  };
}

describe('wrapping an instrumented object again', () => {
  it('instrumentConsumer returns an instrumented consumer as it is; every message counts once', async () => {
    h = harness();
    const warnings = collectWarnings();
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const again = h.keyscope.instrumentConsumer(consumer, { subscription: 's' });
    expect(again).toBe(consumer);
    expect(h.keyscope.instrumentConsumer(again, { subscription: 's' })).toBe(consumer);
    const producer = await h.client.createProducer({ topic: 't' });
    for (let i = 0; i < 3; i++) await producer.send({ data: Buffer.from(String(i)), partitionKey: 'k' });
    for (let i = 0; i < 3; i++) await again.acknowledge(await again.receive());
    expect(await consumerFigures(h)).toEqual({ received: 3, acked: 3, inflight: 0 });
    expect(warnings.filter((w) => w.includes('already instrumented'))).toHaveLength(1);
  });

  it('instrumentClient twice, on the raw client or on its wrapper, gives one wrapper', async () => {
    h = harness();
    const warnings = collectWarnings();
    expect(h.keyscope.instrumentClient(h.rawClient)).toBe(h.keyscope.instrumentClient(h.rawClient));
    const twice = h.keyscope.instrumentClient(h.client);
    expect(twice).toBe(h.client);
    const consumer = await twice.subscribe({ topic: 't', subscription: 's' });
    const producer = await twice.createProducer({ topic: 't' });
    expect(h.keyscope.instrumentProducer(producer)).toBe(producer);
    for (let i = 0; i < 3; i++) await producer.send({ data: Buffer.from(String(i)), partitionKey: 'k' });
    for (let i = 0; i < 3; i++) await consumer.acknowledge(await consumer.receive());
    expect(await consumerFigures(h)).toEqual({ received: 3, acked: 3, inflight: 0 });
    expect(await metricValue(h.registry, 'keyscope_messages_sent_total', { topic: 't' })).toBe(3);
    expect(warnings.filter((w) => w.includes('client that is already instrumented'))).toHaveLength(1);
    expect(warnings.filter((w) => w.includes('producer that is already instrumented'))).toHaveLength(1);
  });

  it("two Keyscope instances on one stream: the second returns the first one's wrapper, nothing is stamped twice", async () => {
    h = harness();
    const second = new Keyscope({ registry: new Registry<RegistryContentType>(), tracerProvider: testTracing().provider });
    try {
      const client = second.instrumentClient(h.client);
      expect(client).toBe(h.client);
      const producer = second.instrumentProducer(await client.createProducer({ topic: 't' }));
      const consumer = await client.subscribe({ topic: 't', subscription: 's' });
      for (let i = 0; i < 3; i++) await producer.send({ data: Buffer.from(String(i)), partitionKey: 'k' });
      for (let i = 0; i < 3; i++) await consumer.acknowledge(await consumer.receive());
      expect(
        await metricValue(h.registry, 'keyscope_context_errors_total', { topic: 't', reason: 'reserved_property_present' }),
      ).toBeUndefined();
      expect(await consumerFigures(h)).toEqual({ received: 3, acked: 3, inflight: 0 });
    } finally {
      second.close();
    }
  });

  it('instrumentClient on a client whose prototype PulsarInstrumentation patched returns it as it is', async () => {
    const broker = new FakeBroker();
    class Client {
      private readonly inner = new FakeClient(broker);
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
    const registry = new Registry<RegistryContentType>();
    const instrumentation = new PulsarInstrumentation({ registry });
    instrumentation.setTracerProvider(testTracing().provider);
    instrumentation.patch({ Client });
    const keyscope = new Keyscope({ registry: new Registry<RegistryContentType>() });
    try {
      const client = new Client();
      expect(keyscope.instrumentClient(client)).toBe(client);
    } finally {
      keyscope.close();
      instrumentation.disable();
      instrumentation.keyscope.close();
    }
  });
});

describe('client.close()', () => {
  it('releases the consumers it created: 200 cycles of subscribe, receive without ack, close leave nothing tracked', async () => {
    h = harness({ stallThresholdMs: 1000 });
    const pipeline = h.keyscope.internalPipeline;
    for (let cycle = 0; cycle < 200; cycle++) {
      // A broker of its own per cycle: the stand-in's client.close() does not close its consumers.
      const client = h.keyscope.instrumentClient(new FakeClient(new FakeBroker()));
      const consumer = await client.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Shared' });
      const producer = await client.createProducer({ topic: 't' });
      await producer.send({ data: Buffer.from(String(cycle)), partitionKey: `k${cycle}` });
      await consumer.receive();
      await client.close();
    }
    h.clock.advance(5000);
    h.keyscope.sweep();
    expect(pipeline.consumers.size).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_messages_received_total', labels)).toBe(200);
    expect(await metricValue(h.registry, 'keyscope_inflight_messages', labels)).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_stalled_messages', labels)).toBe(0);
    const spans = h.tracing.byName('process t');
    expect(spans).toHaveLength(200);
    expect(spans.every((s) => s.events.some((e) => e.attributes?.['messaging.operation.name'] === 'closed'))).toBe(true);
  });

  it("a consumer closed on its own leaves its client's list, so a long-lived client holds nothing per closed consumer", async () => {
    h = harness();
    const pipeline = h.keyscope.internalPipeline;
    for (let cycle = 0; cycle < 50; cycle++) {
      const consumer = await h.client.subscribe({ topic: 't', subscription: `s${cycle}` });
      await consumer.close();
    }
    expect(pipeline.consumers.size).toBe(0);
    expect(pipeline.consumersOfClient(h.client).size).toBe(0);
  });

  it('through PulsarInstrumentation too: the patched Client.prototype.close releases its consumers', async () => {
    class Client {
      private readonly inner = new FakeClient(new FakeBroker());
      createProducer(config: { topic: string }) {
        return this.inner.createProducer(config);
      }
      subscribe(config: Parameters<FakeClient['subscribe']>[0]) {
        return this.inner.subscribe(config);
      }
      createReader(config: Parameters<FakeClient['createReader']>[0]) {
        return this.inner.createReader(config);
      }
      close() {
        return this.inner.close();
      }
    }
    const registry = new Registry<RegistryContentType>();
    const instrumentation = new PulsarInstrumentation({ registry });
    instrumentation.patch({ Client });
    try {
      for (let cycle = 0; cycle < 20; cycle++) {
        const client = new Client();
        const consumer = await client.subscribe({ topic: 't', subscription: 's', subscriptionType: 'Shared' });
        const producer = await client.createProducer({ topic: 't' });
        await producer.send({ data: Buffer.from('x'), partitionKey: 'k' });
        await consumer.receive();
        await client.close();
      }
      instrumentation.keyscope.sweep();
      expect(instrumentation.keyscope.internalPipeline.consumers.size).toBe(0);
      expect(await metricValue(registry, 'keyscope_inflight_messages', labels)).toBe(0);
      expect(await metricValue(registry, 'keyscope_messages_received_total', labels)).toBe(20);
    } finally {
      instrumentation.disable();
      instrumentation.keyscope.close();
    }
  });
});
