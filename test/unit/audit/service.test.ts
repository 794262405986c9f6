/**
 * The audit service fed by OpenTelemetry's own OTLP/HTTP exporters (protobuf
 * and JSON) with the spans of keyscope's real consumer wrappers.
 */
import { gzipSync } from 'node:zlib';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { SimpleSpanProcessor, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startAuditService, type AuditService } from '../../../src/audit/index.js';
import { Keyscope } from '../../../src/index.js';
import { FakeBroker, FakeClient, type FakeConsumer, type FakeMessage } from '../../../testing/fake-pulsar.js';
import { installGlobalPropagation } from '../../support/otel.js';

let service: AuditService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

async function metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await (await fetch(service!.metricsUrl)).text();
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const line = text.split('\n').find((l) => l.startsWith(wanted === '' ? `${name} ` : `${name}{`) && l.includes(wanted));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

/** Two consumers of one Shared subscription process one hot key at once, each in its own Keyscope. */
async function sharedSplitBrain(exporter: SpanExporter): Promise<void> {
  installGlobalPropagation();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const broker = new FakeBroker();
  const instances = [0, 1].map(() => new Keyscope({ registry: new Registry(), tracerProvider: provider }));
  let done = 0;
  for (const keyscope of instances) {
    const client = keyscope.instrumentClient(new FakeClient(broker));
    await client.subscribe({
      topic: 't',
      subscription: 'split',
      subscriptionType: 'Shared',
      listener: async (message: FakeMessage, consumer: FakeConsumer) => {
        await new Promise((resolve) => setTimeout(resolve, 40));
        await consumer.acknowledge(message);
        done++;
      },
    });
  }
  const producer = await instances[0]!.instrumentClient(new FakeClient(broker)).createProducer({ topic: 't' });
  for (let i = 0; i < 4; i++) await producer.send({ data: Buffer.from(`${i}`), partitionKey: 'hot' });
  const deadline = Date.now() + 5000;
  while (done < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  await provider.forceFlush();
  await provider.shutdown();
  for (const keyscope of instances) keyscope.close();
}

describe('audit service', () => {
  for (const [encoding, makeExporter] of [
    ['protobuf', (url: string) => new ProtobufExporter({ url })],
    ['JSON', (url: string) => new JsonExporter({ url })],
  ] as const) {
    it(`finds the split brain of Shared across two keyscope instances from OTLP ${encoding}`, async () => {
      service = await startAuditService({ otlpPort: 0, metricsPort: 0 });
      await sharedSplitBrain(makeExporter(`${service.otlpUrl}/v1/traces`));
      // 4 process spans and 4 send spans; round robin puts messages 0 and 2 on one consumer, 1 and 3 on the other.
      expect(await metric('keyscope_audit_spans_total')).toBe(8);
      expect(await metric('keyscope_audit_ignored_spans_total')).toBe(4);
      expect(await metric('keyscope_audit_audited_spans_total')).toBe(4);
      const exclusivity = await metric('keyscope_audit_violations_total', { subscription: 'split', kind: 'exclusivity' });
      expect(exclusivity).toBeGreaterThanOrEqual(1);
      expect(await metric('keyscope_audit_violations_total', { subscription: 'split', kind: 'reorder' })).toBe(0);
      const violation = service.auditor.recentViolations()[0];
      expect(violation?.window.consumer).not.toBe(violation?.other.consumer);
      expect(violation?.window.settle).toBe('ack');
      expect(await metric('keyscope_audit_violating_key_violations', { subscription: 'split' })).toBe(exclusivity);
      expect(await metric('keyscope_audit_lag_seconds')).toBeGreaterThanOrEqual(0);
    });
  }

  it('accepts a gzip body and answers bad requests with a status that says why', async () => {
    service = await startAuditService({ otlpPort: 0, metricsPort: 0 });
    const url = `${service.otlpUrl}/v1/traces`;
    const span = {
      spanId: '00f067aa0ba902b7',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      kind: 5,
      startTimeUnixNano: String(Date.now() * 1e6),
      endTimeUnixNano: String((Date.now() + 5) * 1e6),
      attributes: [{ key: 'messaging.operation.type', value: { stringValue: 'process' } }],
    };
    const body = gzipSync(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }));
    const ok = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({});
    expect(await metric('keyscope_audit_dropped_spans_total', { reason: 'no_key' })).toBe(1);

    const notJson = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(notJson.status).toBe(400);
    const garbage = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from([0x0a, 0xff, 0xff]),
    });
    expect(garbage.status).toBe(400);
    expect(await garbage.text()).toMatch(/ExportTraceServiceRequest/);
    const wrongType = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(wrongType.status).toBe(415);
    expect((await fetch(`${service.otlpUrl}/v1/metrics`, { method: 'POST' })).status).toBe(404);
  });

  it('says which port is taken', async () => {
    service = await startAuditService({ otlpPort: 0, metricsPort: 0 });
    const port = Number(new URL(service.otlpUrl).port);
    await expect(startAuditService({ otlpPort: port, metricsPort: 0 })).rejects.toThrow(/--otlp-port.*in use/);
  });
});
