/**
 * Written as a new user would: only the package's public entry point, an
 * OpenTelemetry SDK, prom-client and a pulsar-client-shaped client (the
 * in-memory stand-in here). Real timers: the sweep runs by itself.
 */
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Keyscope, KeyscopeConfigError, PulsarInstrumentation, VERSION } from '../../src/index.js';
import { FakeClient, type FakeConsumer, type FakeMessage } from '../../testing/fake-pulsar.js';

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function scrapeValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1).split(' ')[0]);
}

describe('public API, as a new user', () => {
  it('instruments a client and shows traces, ordering, stalls and metrics', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const registry = new Registry();

    const keyscope = new Keyscope({ registry, tracerProvider, stallThresholdMs: 40, sweepIntervalMs: 10, keyPolicy: 'plain' });
    expect(typeof VERSION).toBe('string');
    expect(PulsarInstrumentation).toBeTypeOf('function');
    expect(() => new Keyscope({ maxTrackedKeys: 0 })).toThrow(KeyscopeConfigError);

    const client = keyscope.instrumentClient(new FakeClient());

    // Listener style: processed in the listener's own process span.
    const handled: string[] = [];
    await client.subscribe({
      topic: 'orders',
      subscription: 'billing',
      subscriptionType: 'KeyShared',
      listener: async (message: FakeMessage, consumer: FakeConsumer) => {
        handled.push(message.getData().toString());
        await consumer.acknowledge(message);
      },
    });
    // receive() style with process(); one message is left unacked to stall.
    const polling = await client.subscribe({ topic: 'orders', subscription: 'audit', subscriptionType: 'Exclusive' });

    const producer = await client.createProducer({ topic: 'orders' });
    await producer.send({ data: Buffer.from('o-1'), partitionKey: 'customer-1' });
    await producer.send({ data: Buffer.from('o-2'), partitionKey: 'customer-1' });
    await producer.send({ data: Buffer.from('o-3'), partitionKey: 'customer-2' });

    const first = await polling.receive();
    await keyscope.process(first, async () => {
      await polling.acknowledge(first);
    });
    const stuck = await polling.receive(); // customer-1 #2: never acked
    const behind = await polling.receive(); // customer-2: acked later
    void stuck;

    await wait(120);
    await polling.acknowledge(behind);
    await wait(30);

    const text = await registry.metrics();
    expect(handled).toEqual(['o-1', 'o-2', 'o-3']);
    expect(scrapeValue(text, 'keyscope_messages_sent_total{topic="orders"}')).toBe(3);
    expect(scrapeValue(text, 'keyscope_messages_acked_total{topic="orders",subscription="billing"}')).toBe(3);
    expect(scrapeValue(text, 'keyscope_messages_acked_total{topic="orders",subscription="audit"}')).toBe(2);
    expect(scrapeValue(text, 'keyscope_inflight_messages{topic="orders",subscription="audit"}')).toBe(1);
    expect(scrapeValue(text, 'keyscope_stalled_messages{topic="orders",subscription="audit"}')).toBe(1);
    expect(scrapeValue(text, 'keyscope_stalls_total{topic="orders",subscription="audit"}')).toBe(2);
    expect(scrapeValue(text, 'keyscope_ordering_violations_total{topic="orders",subscription="billing",kind="reorder"}')).toBe(0);
    expect(text).toMatch(/keyscope_stalled_key_age_seconds\{topic="orders",subscription="audit",key="customer-1"\} 0\.\d+/);
    expect(text).not.toContain('key="customer-2"');

    const spans = exporter.getFinishedSpans();
    const sends = spans.filter((s) => s.name === 'send orders');
    const processes = spans.filter((s) => s.name === 'process orders');
    expect(sends).toHaveLength(3);
    // 3 listener deliveries + 2 settled receive() deliveries (the stuck one is still open).
    expect(processes).toHaveLength(5);
    for (const p of processes) {
      expect(sends.map((s) => s.spanContext().traceId)).toContain(p.spanContext().traceId);
    }

    keyscope.close();
    keyscope.close();
  });
});

describe('package metadata', () => {
  it('reports the version of package.json (src/version.ts is generated from it)', async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
