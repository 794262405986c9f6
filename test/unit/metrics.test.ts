import { Registry, type RegistryContentType } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Keyscope, KeyscopeConfigError } from '../../src/index.js';
import { FakeClient, type FakeConsumer, type FakeMessage } from '../../testing/fake-pulsar.js';
import { harness, histogramCount, metricValue, settle, type Harness } from '../support/harness.js';
import { testTracing } from '../support/otel.js';

/** The README's Metrics table: name -> [type, labels]. */
const CONTRACT: Record<string, [string, string[]]> = {
  keyscope_messages_sent_total: ['counter', ['topic']],
  keyscope_send_errors_total: ['counter', ['topic']],
  keyscope_send_duration_seconds: ['histogram', ['topic']],
  keyscope_messages_received_total: ['counter', ['topic', 'subscription']],
  keyscope_messages_acked_total: ['counter', ['topic', 'subscription']],
  keyscope_messages_nacked_total: ['counter', ['topic', 'subscription']],
  keyscope_redeliveries_total: ['counter', ['topic', 'subscription']],
  keyscope_ordering_violations_total: ['counter', ['topic', 'subscription', 'kind']],
  keyscope_inflight_messages: ['gauge', ['topic', 'subscription']],
  keyscope_inflight_keys: ['gauge', ['topic', 'subscription']],
  keyscope_oldest_inflight_seconds: ['gauge', ['topic', 'subscription']],
  keyscope_stalled_messages: ['gauge', ['topic', 'subscription']],
  keyscope_stalls_total: ['counter', ['topic', 'subscription']],
  keyscope_head_of_line_blocked_messages: ['gauge', ['topic', 'subscription']],
  keyscope_stalled_key_age_seconds: ['gauge', ['topic', 'subscription', 'key']],
  keyscope_end_to_end_seconds: ['histogram', ['topic', 'subscription']],
  keyscope_processing_seconds: ['histogram', ['topic', 'subscription']],
  keyscope_tracked_keys: ['gauge', []],
  keyscope_key_evictions_total: ['counter', []],
  keyscope_context_errors_total: ['counter', ['topic', 'reason']],
};

/** Metrics added beside the contract's names (documented as additions in the README). */
const ADDITIONS: Record<string, [string, string[]]> = {
  keyscope_inflight_evictions_total: ['counter', ['topic', 'subscription']],
  keyscope_unstamped_messages_total: ['counter', ['topic', 'subscription']],
};

let h: Harness | undefined;
afterEach(() => h?.keyscope.close());

async function ackedRoundTrip(current: Harness, count: number, processMs = 0) {
  await current.client.subscribe({
    topic: 't',
    subscription: 's',
    listener: async (msg: FakeMessage, consumer: FakeConsumer) => {
      current.clock.advance(processMs);
      await consumer.acknowledge(msg);
    },
  });
  const producer = await current.client.createProducer({ topic: 't' });
  for (let i = 0; i < count; i++) {
    await producer.send({ data: Buffer.from(String(i)), partitionKey: `k${i % 3}` });
    current.clock.advance(10);
  }
  await settle(10);
}

describe('metric contract', () => {
  it('registers exactly the contracted names, types and labels on the given registry', async () => {
    h = harness();
    const json = await h.registry.getMetricsAsJSON();
    const keyscopeMetrics = json.filter((m) => m.name.startsWith('keyscope_'));
    const expected = { ...CONTRACT, ...ADDITIONS };
    expect(keyscopeMetrics.map((m) => m.name).sort()).toEqual(Object.keys(expected).sort());
    for (const metric of keyscopeMetrics) {
      const [type, labels] = expected[metric.name] as [string, string[]];
      expect(String(metric.type), metric.name).toBe(type);
      const registered = h.registry.getSingleMetric(metric.name) as unknown as { labelNames: string[] };
      expect([...registered.labelNames].sort(), metric.name).toEqual([...labels].sort());
    }
  });

  it('counts sends, receives, acks and observes latencies per topic and subscription', async () => {
    h = harness();
    await ackedRoundTrip(h, 6, 5);
    h.keyscope.sweep();
    const l = { topic: 't', subscription: 's' };
    expect(await metricValue(h.registry, 'keyscope_messages_sent_total', { topic: 't' })).toBe(6);
    expect(await metricValue(h.registry, 'keyscope_send_errors_total', { topic: 't' })).toBe(0);
    expect(await histogramCount(h.registry, 'keyscope_send_duration_seconds', { topic: 't' })).toBe(6);
    expect(await metricValue(h.registry, 'keyscope_messages_received_total', l)).toBe(6);
    expect(await metricValue(h.registry, 'keyscope_messages_acked_total', l)).toBe(6);
    expect(await metricValue(h.registry, 'keyscope_messages_nacked_total', l)).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_redeliveries_total', l)).toBe(0);
    expect(await histogramCount(h.registry, 'keyscope_processing_seconds', l)).toBe(6);
    expect(await histogramCount(h.registry, 'keyscope_end_to_end_seconds', l)).toBe(6);
    expect(await metricValue(h.registry, 'keyscope_tracked_keys')).toBe(3);
    expect(await metricValue(h.registry, 'keyscope_inflight_keys', l)).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_oldest_inflight_seconds', l)).toBe(0);
  });

  it('measures processing from delivery to ack and end-to-end from publish to ack', async () => {
    h = harness();
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('x'), partitionKey: 'k' });
    h.clock.advance(2000); // waiting in the queue
    const msg = await consumer.receive();
    h.clock.advance(300); // processing
    await consumer.acknowledge(msg);
    const text = await h.registry.getSingleMetricAsString('keyscope_processing_seconds');
    expect(text).toContain('keyscope_processing_seconds_sum{topic="t",subscription="s"} 0.3');
    const e2e = await h.registry.getSingleMetricAsString('keyscope_end_to_end_seconds');
    expect(e2e).toContain('keyscope_end_to_end_seconds_sum{topic="t",subscription="s"} 2.3');
  });

  it('bounds tracked keys and counts evictions', async () => {
    h = harness({ maxTrackedKeys: 50 });
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    for (let i = 0; i < 500; i++) {
      await producer.send({ data: Buffer.from('x'), partitionKey: `key-${i}` });
      const msg = await consumer.receive();
      await consumer.acknowledge(msg);
      if (i % 50 === 0) h.keyscope.sweep();
      expect(h.keyscope.internalPipeline.tracker.keys.size).toBeLessThanOrEqual(50);
    }
    h.keyscope.sweep();
    expect(await metricValue(h.registry, 'keyscope_tracked_keys')).toBe(50);
    expect(await metricValue(h.registry, 'keyscope_key_evictions_total')).toBe(450);
  });
});

describe('exemplars', () => {
  it('attaches the trace id to both latency histograms on an OpenMetrics registry', async () => {
    h = harness({ openMetrics: true });
    await ackedRoundTrip(h, 1, 5);
    const text = await h.registry.metrics();
    const [processSpan] = h.tracing.byName('process t');
    const traceId = processSpan?.spanContext().traceId as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const processingLine = text.split('\n').find((l) => l.startsWith('keyscope_processing_seconds_bucket') && l.includes('trace_id'));
    const e2eLine = text.split('\n').find((l) => l.startsWith('keyscope_end_to_end_seconds_bucket') && l.includes('trace_id'));
    expect(processingLine).toContain(`# {trace_id="${traceId}"}`);
    expect(e2eLine).toContain(`# {trace_id="${traceId}"}`);
    // The exemplar carries the observed value and the time of the ack (the pipeline clock, in seconds).
    const ackedAtSeconds = (1_700_000_000_000 + 5) / 1000;
    expect(processingLine?.split('# ')[1]?.split(' ').slice(1).map(Number)).toEqual([0.005, ackedAtSeconds]);
  });

  it('works without exemplars on a Prometheus-format registry and when spans are not sampled', async () => {
    h = harness();
    await ackedRoundTrip(h, 2);
    expect(await h.registry.metrics()).not.toContain('trace_id');
    h.keyscope.close();
    h = harness({ openMetrics: true, sampled: false });
    await ackedRoundTrip(h, 2);
    expect(await histogramCount(h.registry, 'keyscope_processing_seconds', { topic: 't', subscription: 's' })).toBe(2);
    expect(await h.registry.metrics()).not.toContain('trace_id');
  });
});

describe('shared registries', () => {
  it('two instances on one registry reuse the metrics and add up their gauges', async () => {
    const registry = new Registry<RegistryContentType>();
    const tracing = testTracing();
    const a = new Keyscope({ registry, tracerProvider: tracing.provider });
    const b = new Keyscope({ registry, tracerProvider: tracing.provider });
    try {
      for (const keyscope of [a, b]) {
        const client = keyscope.instrumentClient(new FakeClient());
        const consumer = await client.subscribe({ topic: 't', subscription: 's' });
        const producer = await client.createProducer({ topic: 't' });
        await producer.send({ data: Buffer.from('x'), partitionKey: 'k' });
        await consumer.receive(); // left in flight
        keyscope.sweep();
      }
      expect(await metricValue(registry, 'keyscope_messages_sent_total', { topic: 't' })).toBe(2);
      expect(await metricValue(registry, 'keyscope_inflight_messages', { topic: 't', subscription: 's' })).toBe(2);
      expect(await metricValue(registry, 'keyscope_tracked_keys')).toBe(2);
      a.close();
      expect(await metricValue(registry, 'keyscope_inflight_messages', { topic: 't', subscription: 's' })).toBe(1);
    } finally {
      a.close();
      b.close();
    }
  });

  it('refuses a registry whose keyscope_* name is taken by an incompatible metric, with a typed error', async () => {
    const registry = new Registry<RegistryContentType>();
    const { Gauge } = await import('prom-client');
    new Gauge({ name: 'keyscope_messages_sent_total', help: 'someone else', registers: [registry] });
    expect(() => new Keyscope({ registry })).toThrow(KeyscopeConfigError);
    expect(() => new Keyscope({ registry })).toThrow(/keyscope_messages_sent_total/);
  });

  it("uses prom-client's global registry by default", async () => {
    const { register } = await import('prom-client');
    const keyscope = new Keyscope();
    try {
      expect(register.getSingleMetric('keyscope_messages_sent_total')).toBeDefined();
      // A second default instance does not crash on the same global registry.
      new Keyscope().close();
    } finally {
      keyscope.close();
      register.clear();
    }
  });
});
