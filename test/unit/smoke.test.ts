import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Keyscope } from '../../src/index.js';
import { FakeClient } from '../support/fakePulsar.js';
import { testTracing } from '../support/otel.js';

describe('smoke', () => {
  it('propagates a trace from producer to listener', async () => {
    const tracing = testTracing();
    const registry = new Registry();
    const keyscope = new Keyscope({ registry, tracerProvider: tracing.provider });
    const client = keyscope.instrumentClient(new FakeClient());
    const done: string[] = [];
    await client.subscribe({
      topic: 't',
      subscription: 's',
      subscriptionType: 'KeyShared',
      listener: async (message, consumer) => {
        done.push(message.getData().toString());
        await consumer.acknowledge(message);
      },
    });
    const producer = await client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('a'), partitionKey: 'k1' });
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toEqual(['a']);
    const send = tracing.byName('send t')[0];
    const processSpan = tracing.byName('process t')[0];
    expect(send).toBeDefined();
    expect(processSpan?.spanContext().traceId).toBe(send?.spanContext().traceId);
    keyscope.sweep();
    const text = await registry.metrics();
    expect(text).toContain('keyscope_messages_acked_total{topic="t",subscription="s"} 1');
    keyscope.close();
  });
});
