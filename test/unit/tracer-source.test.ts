/**
 * With no OpenTelemetry SDK registered, keyscope makes no spans at all, yet
 * what the API's no-op tracer would propagate still propagates; once an SDK
 * is registered behind the global provider, spans are recorded through it.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { Keyscope } from '../../src/index.js';
import { FakeClient, type FakeConsumer } from '../../testing/fake-pulsar.js';
import { installGlobalPropagation } from '../support/otel.js';

installGlobalPropagation();
let keyscope: Keyscope | undefined;
afterAll(() => {
  keyscope?.close();
  trace.disable();
});

describe('the global tracer provider, before and after an SDK is registered', () => {
  it('carries an incoming trace through the handler with no SDK, then records spans once one is registered', async () => {
    keyscope = new Keyscope({ registry: new Registry() });
    const client = keyscope.instrumentClient(new FakeClient());
    const producer = await client.createProducer({ topic: 't' });
    const consumer = (await client.subscribe({ topic: 't', subscription: 's' })) as unknown as FakeConsumer;

    // A message traced elsewhere: its context reaches the handler's active span, and a send from there carries it on.
    const upstream = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await producer.send({ data: Buffer.from('a'), partitionKey: 'k', properties: { traceparent: upstream } });
    const received = await consumer.receive();
    let carried: Record<string, string> = {};
    await keyscope.process(received, async () => {
      expect(trace.getActiveSpan()?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
      carried = {};
      propagation.inject(context.active(), carried);
      await consumer.acknowledge(received);
    });
    expect(carried.traceparent).toBe(upstream);
    // Sent with no trace around it and no SDK: no trace context is invented.
    await producer.send({ data: Buffer.from('b'), partitionKey: 'k' });
    const plain = await consumer.receive();
    expect(plain.getProperties().traceparent).toBeUndefined();
    await consumer.acknowledge(plain);

    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
    await producer.send({ data: Buffer.from('c'), partitionKey: 'k' });
    const traced = await consumer.receive();
    expect(traced.getProperties().traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await keyscope.process(traced, () => consumer.acknowledge(traced));
    expect(
      exporter
        .getFinishedSpans()
        .map((span) => span.name)
        .sort(),
    ).toEqual(['process t', 'send t']);
  });
});
