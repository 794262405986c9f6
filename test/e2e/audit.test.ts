/**
 * The cross-consumer auditor on the real stack: consumers in two separate OS
 * processes export their spans to the collector, which sends every span to
 * the stack's `keyscope audit` (collector/otel-collector.yaml). Then:
 *   - Shared, one hot key: the two processes handle the key's messages at the
 *     same time. Each process alone sees nothing (its listener runs one
 *     message at a time: keyscope's in-process `concurrent` stays 0); the
 *     auditor reports `exclusivity` violations for the subscription, and
 *     `keyscope timeline <key>` shows the key's messages at both consumers
 *     with the same overlaps marked;
 *   - Key_Shared, a consumer killed (SIGKILL) mid-run and started again: the
 *     broker keeps each key at one consumer at a time, and the auditor, which
 *     audited the run's spans, reports no violation of either kind.
 */
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyscope } from '../../src/index.js';
import { WebSocketClient, type WebSocketProducer } from '../../src/websocket/index.js';
import type { TimelineJson } from '../../src/timeline/index.js';
import { installGlobalPropagation } from '../support/otel.js';
import {
  AUDIT_METRICS_URL,
  COLLECTOR_HEALTH_URL,
  ConsumerProcess,
  JAEGER_URL,
  OTLP_TRACES_URL,
  keyscopeCli,
  pollValue,
  reachable,
  sampleValue,
} from './helpers/audit.js';
import { PULSAR_HTTP_URL, requireBroker, sleep, uniqueTopic } from './helpers/broker.js';
import type { AuditedConsumerConfig } from './helpers/audited-consumer.js';

const RUN = randomBytes(3).toString('hex');
let producerTracing: TracerProvider;
let keyscope: Keyscope;
let client: WebSocketClient;
const children: ConsumerProcess[] = [];

function consumer(
  overrides: Partial<AuditedConsumerConfig> & Pick<AuditedConsumerConfig, 'topic' | 'subscription' | 'subscriptionType' | 'consumerName'>,
): ConsumerProcess {
  const child = new ConsumerProcess({
    pulsarUrl: PULSAR_HTTP_URL,
    otlpTracesUrl: OTLP_TRACES_URL,
    serviceName: `keyscope-audit-e2e-${overrides.consumerName}`,
    holdMs: 30,
    receiverQueueSize: 20,
    ...overrides,
  });
  children.push(child);
  return child;
}

async function producer(topic: string): Promise<WebSocketProducer> {
  return keyscope.instrumentProducer(await client.createProducer({ topic, sendTimeoutMs: 10_000 }), { topic });
}

const violations = (subscription: string, kind: string): Promise<number | undefined> =>
  sampleValue(AUDIT_METRICS_URL, 'keyscope_audit_violations_total', { subscription, kind });

/** Waits until the counter has held still for a few seconds (the last spans are in). */
async function settled(read: () => Promise<number | undefined>, timeoutMs: number): Promise<number | undefined> {
  let last = await read();
  let stableSince = Date.now();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (last === undefined || Date.now() - stableSince < 4_000)) {
    await sleep(1_000);
    const now = await read();
    if (now !== last) stableSince = Date.now();
    last = now;
  }
  return last;
}

beforeAll(async () => {
  await requireBroker();
  const missing: string[] = [];
  if (!(await reachable(COLLECTOR_HEALTH_URL))) missing.push(`the collector (${COLLECTOR_HEALTH_URL})`);
  if (!(await reachable(AUDIT_METRICS_URL))) missing.push(`keyscope audit (${AUDIT_METRICS_URL})`);
  if (!(await reachable(`${JAEGER_URL}/api/services`))) missing.push(`Jaeger (${JAEGER_URL})`);
  if (missing.length > 0) throw new Error(`not running: ${missing.join(', ')}. Start the native stack: npm run stack:up`);
  installGlobalPropagation();
  producerTracing = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'keyscope-audit-e2e-producer' }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: OTLP_TRACES_URL }), scheduledDelayMillis: 200 })],
  });
  keyscope = new Keyscope({ registry: new Registry(), tracerProvider: producerTracing });
  client = new WebSocketClient({ serviceUrl: PULSAR_HTTP_URL, operationTimeoutSeconds: 30, logLevel: 3 });
});

afterAll(async () => {
  await Promise.allSettled(children.map((child) => child.close(5_000)));
  await client?.close();
  keyscope?.close();
  await producerTracing?.shutdown().catch(() => {});
});

describe('keyscope audit across consumer processes', () => {
  it('Shared: reports the split brain that neither process can see, and the timeline shows it', async () => {
    const topic = uniqueTopic('audit-shared');
    const subscription = `audit-shared-${RUN}`;
    const key = `hot-${RUN}`;
    const total = 40;
    const a = consumer({ topic, subscription, subscriptionType: 'Shared', consumerName: `shared-a-${RUN}` });
    const b = consumer({ topic, subscription, subscriptionType: 'Shared', consumerName: `shared-b-${RUN}` });
    await Promise.all([a.whenReady(), b.whenReady()]);
    const p = await producer(topic);
    await Promise.all(Array.from({ length: total }, (_, i) => p.send({ data: Buffer.from(`m${i}`), partitionKey: key })));
    await pollValue(
      async () => a.processed.length + b.processed.length,
      (n) => n >= total,
      60_000,
    );
    expect(a.processed.length + b.processed.length, 'messages processed by both processes').toBe(total);
    expect(a.processed.length, 'the Shared subscription spread the key over both processes').toBeGreaterThan(0);
    expect(b.processed.length).toBeGreaterThan(0);
    const [concurrentA, concurrentB] = await Promise.all([a.close(), b.close()]);
    await producerTracing.forceFlush();
    // In-process detection: each process handled one message at a time.
    expect([concurrentA, concurrentB], 'keyscope_ordering_violations_total{kind="concurrent"} in each process').toEqual([0, 0]);

    const exclusivity = await settled(() => violations(subscription, 'exclusivity'), 45_000);
    const reorder = await violations(subscription, 'reorder');
    console.log(
      `Shared run: ${a.processed.length} + ${b.processed.length} messages of one key; auditor: exclusivity ${exclusivity}, reorder ${reorder}`,
    );
    expect(exclusivity, 'keyscope_audit_violations_total{kind="exclusivity"}').toBeGreaterThan(0);
    const worst = await sampleValue(AUDIT_METRICS_URL, 'keyscope_audit_violating_key_violations', { subscription });
    expect(worst, 'the hot key among the worst keys').toBeGreaterThanOrEqual(exclusivity ?? 0);

    // The key's timeline from Jaeger: every message, at both consumers, the same overlaps.
    const services = [a.config.serviceName, b.config.serviceName].flatMap((s) => ['--service', s]);
    const timeline = await pollValue(
      async () => {
        const run = await keyscopeCli(['timeline', key, '--jaeger-url', JAEGER_URL, '--since', '15m', '--json', ...services]);
        expect(run.stderr).toBe('');
        return JSON.parse(run.stdout) as TimelineJson;
      },
      (t) => t.rows.length >= total,
      30_000,
    );
    expect(timeline.rows, 'deliveries in the timeline').toHaveLength(total);
    expect(new Set(timeline.rows.map((r) => r.consumer)).size, 'consumers in the timeline').toBe(2);
    expect(timeline.rows.every((r) => r.settle === 'ack' && r.subscription === subscription)).toBe(true);
    expect(timeline.exclusivityOverlaps, "overlaps marked in the timeline = the auditor's count").toBe(exclusivity);
    const table = await keyscopeCli(['timeline', key, '--jaeger-url', JAEGER_URL, '--since', '15m', ...services]);
    expect(table.stdout).toMatch(/OVERLAP #\d+/);
    console.log(table.stdout.split('\n').slice(0, 8).join('\n'));
  });

  it('Key_Shared with a consumer killed and restarted: the auditor audits the run and finds no violation', async () => {
    const topic = uniqueTopic('audit-ks');
    const subscription = `audit-ks-${RUN}`;
    const keys = 20;
    const total = 400;
    const base = { topic, subscription, subscriptionType: 'KeyShared' as const, holdMs: 5 };
    const auditedBefore = (await sampleValue(AUDIT_METRICS_URL, 'keyscope_audit_audited_spans_total', {})) ?? 0;
    const a = consumer({ ...base, consumerName: `ks-a-${RUN}` });
    const b = consumer({ ...base, consumerName: `ks-b-${RUN}` });
    await Promise.all([a.whenReady(), b.whenReady()]);
    const p = await producer(topic);
    const send = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) {
        await p.send({ data: Buffer.from(`m${i}`), partitionKey: `user-${RUN}-${i % keys}` });
        if (i % 20 === 19) await sleep(100);
      }
    };
    // First half while both run; the first is killed mid-way, with messages in flight.
    const firstHalf = send(0, total / 2);
    await pollValue(
      async () => a.processed.length,
      (n) => n >= 40,
      30_000,
    );
    await a.kill();
    const killedAfter = a.processed.length;
    await firstHalf;
    // Its keys went to b; the restarted consumer takes some back for the second half.
    const restarted = consumer({ ...base, consumerName: `ks-a2-${RUN}` });
    await restarted.whenReady();
    await send(total / 2, total);
    const processedIds = (): number => new Set([a, b, restarted].flatMap((c) => c.processed.map((m) => m.id))).size;
    await pollValue(
      async () => processedIds(),
      (n) => n >= total,
      90_000,
    );
    expect(processedIds(), 'distinct messages processed').toBe(total);
    expect(killedAfter, 'messages the killed consumer processed').toBeGreaterThan(0);
    expect(restarted.processed.length, 'messages the restarted consumer processed').toBeGreaterThan(0);
    await Promise.all([b.close(), restarted.close()]);
    await producerTracing.forceFlush();

    const exclusivity = await settled(() => violations(subscription, 'exclusivity'), 45_000);
    const reorder = await violations(subscription, 'reorder');
    const auditedAfter = (await sampleValue(AUDIT_METRICS_URL, 'keyscope_audit_audited_spans_total', {})) ?? 0;
    console.log(
      `Key_Shared run: ${total} messages over ${keys} keys; killed consumer had processed ${killedAfter}, then b ${b.processed.length}, restarted ${restarted.processed.length}; ` +
        `auditor audited ${auditedAfter - auditedBefore} process spans meanwhile: exclusivity ${exclusivity}, reorder ${reorder}`,
    );
    // The series exists once the auditor audited a window of this subscription.
    expect(exclusivity, 'keyscope_audit_violations_total{kind="exclusivity"} for the Key_Shared run').toBe(0);
    expect(reorder, 'keyscope_audit_violations_total{kind="reorder"} for the Key_Shared run').toBe(0);
    expect(auditedAfter - auditedBefore, 'process spans audited during the run').toBeGreaterThanOrEqual(total - killedAfter);
  });
});
