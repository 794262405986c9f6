/**
 * The observability stack end to end: with the native stack up (npm run
 * stack:up: Pulsar, our collector build with collector/otel-collector.yaml,
 * Jaeger v2 with collector/jaeger.yaml, Prometheus with
 * collector/prometheus.yml), an instrumented service (OpenTelemetry NodeSDK,
 * OTLP over HTTP to the collector; prom-client registry on the port
 * Prometheus scrapes) produces through the real broker to Key_Shared
 * consumers. Then:
 *   - Jaeger's HTTP API holds a trace with the `send` (PRODUCER) span and the
 *     `process` (CONSUMER) span as its child, with the messaging attributes;
 *   - Prometheus holds the app's keyscope_* series and the collector's span
 *     metrics for exactly the messages sent, and a span-metrics exemplar
 *     points at a trace that Jaeger has.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyscope } from '../../src/index.js';
import { WebSocketClient, type WebSocketConsumer, type WebSocketMessage, type WebSocketProducer } from '../../src/websocket/index.js';
import { endpoints, missingServices } from '../../demo/src/endpoints.js';
import { findMessageHop, getTrace, pollUntil, promQuery, searchTraces, tag, type MessageHop } from '../../demo/src/queries.js';
import { startTelemetry, type Telemetry } from '../../demo/src/telemetry.js';
import { getOtlpTrace } from './helpers/otlp-trace.js';

const target = endpoints();
const RUN_ID = randomBytes(4).toString('hex');
const SERVICE_NAME = `keyscope-stack-e2e-${RUN_ID}`;
const TOPIC = `persistent://public/default/keyscope-stack-e2e-${RUN_ID}`;
const SUBSCRIPTION = 'stack-e2e';
const KEYS = ['subscriber-1', 'subscriber-2', 'subscriber-3', 'subscriber-4', 'subscriber-5'];
const MESSAGES = 30;
// Span metrics are flushed every 5 s and Prometheus scrapes every 5 s.
const TELEMETRY_DEADLINE_MS = 45_000;

let telemetry: Telemetry;
let keyscope: Keyscope;
let client: WebSocketClient;
const consumers: WebSocketConsumer[] = [];
let producer: WebSocketProducer | undefined;
const acked = new Set<string>();

async function promValue(query: string): Promise<number | undefined> {
  const samples = await promQuery(target.prometheusUrl, query);
  return samples.length === 1 ? samples[0]?.value : undefined;
}

/** Polls `query` until it has the value `expected`; returns the last value seen. */
async function waitForValue(query: string, expected: number): Promise<number | undefined> {
  let last: number | undefined;
  await pollUntil(async () => {
    last = await promValue(query);
    return last === expected ? true : undefined;
  }, TELEMETRY_DEADLINE_MS);
  return last;
}

beforeAll(async () => {
  const missing = await missingServices(target);
  if (missing.length > 0) {
    throw new Error(`the native stack is not running (${missing.join(', ')} not reachable): run npm run stack:up first`);
  }
  telemetry = await startTelemetry({
    serviceName: SERVICE_NAME,
    otlpEndpoint: target.otlpHttpUrl,
    metricsHost: '127.0.0.1',
    metricsPort: target.appMetricsPort,
  });
  keyscope = new Keyscope({ registry: telemetry.registry });
  client = keyscope.instrumentClient(new WebSocketClient({ serviceUrl: target.pulsarUrl }));
  for (const name of ['consumer-a', 'consumer-b']) {
    consumers.push(
      await client.subscribe({
        topic: TOPIC,
        subscription: SUBSCRIPTION,
        subscriptionType: 'KeyShared',
        consumerName: name,
        listener: async (message: WebSocketMessage, consumer: WebSocketConsumer) => {
          await consumer.acknowledge(message);
          acked.add(message.getMessageId().toString());
        },
      }),
    );
  }
  producer = await client.createProducer({ topic: TOPIC });
  for (let index = 0; index < MESSAGES; index++) {
    const key = KEYS[index % KEYS.length] ?? 'subscriber-0';
    await producer.send({ data: Buffer.from(JSON.stringify({ index, key })), partitionKey: key });
  }
  const allAcked = await pollUntil(async () => (acked.size === MESSAGES ? true : undefined), 30_000, 100);
  if (allAcked === undefined) throw new Error(`only ${acked.size} of ${MESSAGES} messages were acknowledged within 30 s`);
  await telemetry.flush();
});

afterAll(async () => {
  await Promise.allSettled([...consumers, ...(producer === undefined ? [] : [producer])].map((closable) => closable.close()));
  await client?.close();
  keyscope?.close();
  await telemetry?.shutdown();
});

describe('the observability stack', () => {
  it('shows one trace from the producer through the broker to the consumer in Jaeger', async () => {
    const hop = await pollUntil<MessageHop>(async () => {
      const traces = await searchTraces(target.jaegerUrl, { service: SERVICE_NAME, operation: `process ${TOPIC}`, limit: 50 });
      for (const trace of traces) {
        const found = findMessageHop(trace, TOPIC);
        if (found !== undefined) return found;
      }
      return undefined;
    }, TELEMETRY_DEADLINE_MS);
    expect(hop, `no trace with send ${TOPIC} -> process ${TOPIC} reached Jaeger (service ${SERVICE_NAME})`).toBeDefined();
    const { trace, send, process } = hop!;

    expect(send.operationName).toBe(`send ${TOPIC}`);
    expect(process.operationName).toBe(`process ${TOPIC}`);
    expect(tag(send, 'span.kind')).toBe('producer');
    expect(tag(process, 'span.kind')).toBe('consumer');
    // The consumer span is a child of the producer span, in the same trace, and links to it (Jaeger's
    // /api/traces view folds the two into one reference; its OTLP view shows both).
    expect(process.traceID).toBe(send.traceID);
    expect(process.references.map((reference) => reference.spanID)).toContain(send.spanID);
    const otlpProcess = (await getOtlpTrace(target.jaegerUrl, send.traceID)).find((span) => span.spanId === process.spanID);
    expect(otlpProcess?.parentSpanId).toBe(send.spanID);
    expect(otlpProcess?.links).toContainEqual({ traceId: send.traceID, spanId: send.spanID });
    expect(process.startTime).toBeGreaterThanOrEqual(send.startTime);
    expect(trace.processes[send.processID]?.serviceName).toBe(SERVICE_NAME);

    for (const span of [send, process]) {
      expect(tag(span, 'messaging.system')).toBe('pulsar');
      expect(tag(span, 'messaging.destination.name')).toBe(TOPIC);
      expect(tag(span, 'messaging.message.id')).toEqual(expect.any(String));
      expect(tag(span, 'keyscope.producer')).toEqual(expect.any(String));
    }
    expect(tag(send, 'messaging.operation.type')).toBe('send');
    expect(tag(send, 'messaging.operation.name')).toBe('send');
    expect(tag(process, 'messaging.operation.type')).toBe('process');
    expect(tag(process, 'messaging.destination.subscription.name')).toBe(SUBSCRIPTION);
    expect(tag(process, 'messaging.pulsar.redelivery_count')).toBe(0);
    expect(tag(process, 'keyscope.consumer')).toEqual(expect.any(String));
    // Same message on both sides: id, producer stamp and sequence number agree.
    expect(tag(process, 'messaging.message.id')).toBe(tag(send, 'messaging.message.id'));
    expect(tag(process, 'keyscope.producer')).toBe(tag(send, 'keyscope.producer'));
    expect(tag(process, 'keyscope.seq')).toBe(tag(send, 'keyscope.seq'));
    // Keys are hashed by default: present, equal on both sides, not the plain key.
    const key = tag(send, 'messaging.pulsar.message.key');
    expect(key).toEqual(expect.any(String));
    expect(KEYS).not.toContain(key);
    expect(tag(process, 'messaging.pulsar.message.key')).toBe(key);
  });

  it("has the app's keyscope_* series in Prometheus", async () => {
    const topic = `topic="${TOPIC}"`;
    const stream = `${topic}, subscription="${SUBSCRIPTION}"`;
    expect(await waitForValue(`sum(keyscope_messages_sent_total{job="keyscope-app", ${topic}})`, MESSAGES)).toBe(MESSAGES);
    expect(await waitForValue(`sum(keyscope_messages_received_total{${stream}})`, MESSAGES)).toBe(MESSAGES);
    expect(await waitForValue(`sum(keyscope_messages_acked_total{${stream}})`, MESSAGES)).toBe(MESSAGES);
    expect(await waitForValue(`sum(keyscope_end_to_end_seconds_count{${stream}})`, MESSAGES)).toBe(MESSAGES);
    expect(await promValue(`sum(keyscope_ordering_violations_total{${stream}}) or vector(0)`)).toBe(0);
  });

  it("has the collector's span metrics, with exemplars that lead to traces in Jaeger", async () => {
    const service = `service_name="${SERVICE_NAME}"`;
    const sends = `sum(traces_span_metrics_calls_total{${service}, span_name="send ${TOPIC}", span_kind="SPAN_KIND_PRODUCER"})`;
    const processes = `sum(traces_span_metrics_calls_total{${service}, span_name="process ${TOPIC}", messaging_destination_subscription_name="${SUBSCRIPTION}"})`;
    expect(await waitForValue(sends, MESSAGES)).toBe(MESSAGES);
    expect(await waitForValue(processes, MESSAGES)).toBe(MESSAGES);
    expect(await waitForValue(`sum(traces_span_metrics_duration_seconds_count{${service}, messaging_system="pulsar"})`, 2 * MESSAGES)).toBe(
      2 * MESSAGES,
    );

    const traceId = await pollUntil(async () => {
      const now = Date.now() / 1000;
      const params = new URLSearchParams({
        query: `traces_span_metrics_duration_seconds_bucket{${service}}`,
        start: String(now - 600),
        end: String(now),
      });
      const response = await fetch(`${target.prometheusUrl}/api/v1/query_exemplars?${params}`, { signal: AbortSignal.timeout(5_000) });
      const body = (await response.json()) as { data: { exemplars: { labels: Record<string, string> }[] }[] };
      return body.data.flatMap((series) => series.exemplars).find((exemplar) => exemplar.labels.trace_id !== undefined)?.labels.trace_id;
    }, TELEMETRY_DEADLINE_MS);
    expect(traceId, 'no span-metrics exemplar with a trace_id in Prometheus').toMatch(/^[0-9a-f]{32}$/);
    const trace = await getTrace(target.jaegerUrl, traceId!);
    expect(trace?.spans.some((span) => span.operationName.endsWith(TOPIC))).toBe(true);
  });
});
