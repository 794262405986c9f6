/**
 * Throughput of the cross-consumer auditor: spans per second per core.
 *
 * Spans are made by the real consumer and producer wrappers (in-memory
 * stand-in broker, Key_Shared over two consumers, KEYS keys) and encoded as
 * the collector sends them, with OpenTelemetry's own OTLP serializers, in
 * batches of BATCH spans. Then, for each encoding, every batch is decoded and
 * audited (decode, span -> window, exclusivity and reorder checks) ROUNDS
 * times by a fresh auditor, and the CPU time the process spent is measured:
 * the auditor is single-threaded, so spans per CPU second is spans per second
 * per core. The HTTP row adds the service around it (gzip, HTTP parsing),
 * with the client in the same process, so its figure is a lower bound.
 *
 *   npm run bench:audit      (BENCH_MESSAGES, BENCH_KEYS, BENCH_ROUNDS change the size)
 */
import { cpus, loadavg } from 'node:os';
import { gzipSync } from 'node:zlib';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { Auditor, auditTraces, decodeJsonTraces, decodeProtobufTraces, startAuditService } from '../src/audit/index.js';
import { harness } from '../test/support/harness.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const KEYS = Number(process.env.BENCH_KEYS ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = 512;

async function makeSpans(): Promise<ReadableSpan[]> {
  // Real clock: the spans must fall inside the auditor's sliding window.
  const h = harness({ clock: Date.now });
  h.broker.now = Date.now;
  const consumers = [
    await h.client.subscribe({ topic: 't', subscription: 'bench', subscriptionType: 'KeyShared' }),
    await h.client.subscribe({ topic: 't', subscription: 'bench', subscriptionType: 'KeyShared' }),
  ];
  const producer = await h.client.createProducer({ topic: 't' });
  for (let i = 0; i < MESSAGES; i++) await producer.send({ data: Buffer.from(`${i}`), partitionKey: `user-${i % KEYS}` });
  for (const consumer of consumers) {
    for (;;) {
      const message = await consumer.receive(0).catch(() => undefined);
      if (message === undefined) break;
      await consumer.acknowledge(message);
    }
  }
  const spans = h.tracing.spans();
  h.keyscope.close();
  return spans;
}

function batches(spans: ReadableSpan[]): ReadableSpan[][] {
  const out: ReadableSpan[][] = [];
  for (let i = 0; i < spans.length; i += BATCH) out.push(spans.slice(i, i + BATCH));
  return out;
}

interface Row {
  path: string;
  spans: number;
  cpuSeconds: number;
  wallSeconds: number;
  spansPerCpuSecond: number;
  violations: number;
}

function measure(path: string, spanCount: number, run: () => number): Row {
  run(); // warm-up
  const cpu = process.cpuUsage();
  const wall = performance.now();
  let violations = 0;
  for (let r = 0; r < ROUNDS; r++) violations = run();
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const wallSeconds = (performance.now() - wall) / 1000;
  return { path, spans: spanCount * ROUNDS, cpuSeconds, wallSeconds, spansPerCpuSecond: (spanCount * ROUNDS) / cpuSeconds, violations };
}

const auditorOptions = { windowMs: 3_600_000 };

async function main(): Promise<void> {
  console.log(
    `keyscope audit throughput: ${MESSAGES} messages over ${KEYS} keys (${MESSAGES * 2} spans: send + process), batches of ${BATCH}, ${ROUNDS} rounds`,
  );
  console.log(
    `node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const spans = await makeSpans();
  const groups = batches(spans);
  const protobufBodies = groups.map((group) => ProtobufTraceSerializer.serializeRequest(group) as Uint8Array);
  const jsonBodies = groups.map((group) => Buffer.from(JsonTraceSerializer.serializeRequest(group) as Uint8Array).toString('utf8'));
  const rows: Row[] = [];

  rows.push(
    measure('protobuf decode + audit', spans.length, () => {
      const auditor = new Auditor(auditorOptions);
      for (const body of protobufBodies) auditTraces(auditor, decodeProtobufTraces(body));
      return auditor.violations('exclusivity') + auditor.violations('reorder');
    }),
  );
  rows.push(
    measure('JSON decode + audit', spans.length, () => {
      const auditor = new Auditor(auditorOptions);
      for (const body of jsonBodies) auditTraces(auditor, decodeJsonTraces(body));
      return auditor.violations('exclusivity') + auditor.violations('reorder');
    }),
  );
  const decoded = protobufBodies.map((body) => decodeProtobufTraces(body));
  rows.push(
    measure('audit only (decoded)', spans.length, () => {
      const auditor = new Auditor(auditorOptions);
      for (const request of decoded) auditTraces(auditor, request);
      return auditor.violations('exclusivity') + auditor.violations('reorder');
    }),
  );

  // Through the service: gzip'd protobuf over loopback HTTP, one request at a time.
  const gzipped = protobufBodies.map((body) => gzipSync(body));
  const service = await startAuditService({ ...auditorOptions, otlpPort: 0, metricsPort: 0 });
  const url = `${service.otlpUrl}/v1/traces`;
  const post = async (): Promise<void> => {
    for (const body of gzipped) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
        body,
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`audit service answered ${response.status}`);
    }
  };
  await post();
  const cpu = process.cpuUsage();
  const wall = performance.now();
  for (let r = 0; r < ROUNDS; r++) await post();
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  rows.push({
    path: 'HTTP (gzip protobuf), client in-process',
    spans: spans.length * ROUNDS,
    cpuSeconds,
    wallSeconds: (performance.now() - wall) / 1000,
    spansPerCpuSecond: (spans.length * ROUNDS) / cpuSeconds,
    violations: service.auditor.violations('exclusivity') + service.auditor.violations('reorder'),
  });
  await service.close();

  console.table(
    rows.map((r) => ({
      path: r.path,
      spans: r.spans,
      'CPU s': r.cpuSeconds.toFixed(2),
      'wall s': r.wallSeconds.toFixed(2),
      'spans/s per core': Math.round(r.spansPerCpuSecond).toLocaleString('en-US'),
      violations: r.violations,
    })),
  );
  console.log('A clean Key_Shared run: violations must be 0 on every row.');
}

await main();
