/**
 * The tail-sampling variant of the collector config
 * (collector/otel-collector.tail-sampling.yaml), run with our collector build
 * on spare ports next to the native stack, exporting to the stack's Jaeger:
 * error traces and slow traces reach Jaeger, ordinary ones do not (baseline
 * set to 0 % here), and the span metrics still count every span.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoints } from '../../scripts/demo/endpoints.js';
import { getTrace, pollUntil } from '../../scripts/demo/queries.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const target = endpoints();
const SERVICE_NAME = `keyscope-tail-sampling-e2e-${randomBytes(4).toString('hex')}`;
const PORTS = { grpc: 24317, http: 24318, prometheus: 28889, telemetry: 28888, health: 23133 };
const SLOW_TRACE_MS = 500;
const DECISION_WAIT_S = 2;
const ORDINARY_TRACES = 20;

let collector: ChildProcess | undefined;
let collectorLog = '';
let provider: TracerProvider;
const traceIds = { error: '', slow: '', ordinary: [] as string[] };

function collectorBinary(): string {
  // The same path resolution as the build script, so the test runs the build that stack:up made.
  const script = 'source scripts/lib/common.sh && source scripts/build/go-env.sh && printf %s "$OTELCOL_BIN"';
  return execFileSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8' });
}

beforeAll(async () => {
  collector = spawn(collectorBinary(), ['--config', `${ROOT}collector/otel-collector.tail-sampling.yaml`], {
    env: {
      ...process.env,
      OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${PORTS.grpc}`,
      OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${PORTS.http}`,
      OTELCOL_PROMETHEUS_ENDPOINT: `127.0.0.1:${PORTS.prometheus}`,
      OTELCOL_TELEMETRY_PORT: String(PORTS.telemetry),
      OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${PORTS.health}`,
      OTELCOL_JAEGER_ENDPOINT: `127.0.0.1:${process.env['JAEGER_OTLP_GRPC_PORT'] ?? '14317'}`,
      OTELCOL_DECISION_WAIT: `${DECISION_WAIT_S}s`,
      OTELCOL_SLOW_TRACE_MS: String(SLOW_TRACE_MS),
      OTELCOL_BASELINE_SAMPLING_PERCENT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keepLog = (chunk: Buffer) => {
    collectorLog = (collectorLog + chunk.toString()).slice(-4_000);
  };
  collector.stdout?.on('data', keepLog);
  collector.stderr?.on('data', keepLog);
  const healthy = await pollUntil(async () => {
    if (collector?.exitCode !== null) throw new Error(`the collector exited: ${collectorLog}`);
    const response = await fetch(`http://127.0.0.1:${PORTS.health}/`, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
    return response?.ok === true ? true : undefined;
  }, 30_000, 250);
  if (healthy === undefined) throw new Error(`the tail-sampling collector did not become healthy within 30 s:\n${collectorLog}`);

  provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE_NAME }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `http://127.0.0.1:${PORTS.http}/v1/traces` }), scheduledDelayMillis: 200 })],
  });
  const tracer = provider.getTracer('tail-sampling-e2e');
  const now = Date.now();
  // Each span is a whole trace of the given duration, ending now.
  const traceLasting = (name: string, durationMs: number) =>
    tracer.startSpan(name, { kind: SpanKind.PRODUCER, startTime: now - durationMs, attributes: { 'messaging.system': 'pulsar' } });
  const failed = traceLasting('send failing-topic', 3);
  failed.setStatus({ code: SpanStatusCode.ERROR, message: 'broker refused the message' });
  failed.end(now);
  traceIds.error = failed.spanContext().traceId;
  const slow = traceLasting('process slow-topic', SLOW_TRACE_MS + 300);
  slow.end(now);
  traceIds.slow = slow.spanContext().traceId;
  for (let index = 0; index < ORDINARY_TRACES; index++) {
    const span = traceLasting('send ordinary-topic', 2);
    span.end(now);
    traceIds.ordinary.push(span.spanContext().traceId);
  }
  await provider.forceFlush();
});

afterAll(async () => {
  await provider?.shutdown();
  collector?.kill('SIGTERM');
});

describe('the tail-sampling collector config', () => {
  it('keeps error and slow traces, drops ordinary ones, and still counts every span', async () => {
    const kept = await pollUntil(async () => {
      const [error, slow] = await Promise.all([getTrace(target.jaegerUrl, traceIds.error), getTrace(target.jaegerUrl, traceIds.slow)]);
      return error !== undefined && slow !== undefined ? { error, slow } : undefined;
    }, 30_000).catch(() => undefined);
    expect(kept?.error.spans[0]?.operationName, 'the error trace is in Jaeger').toBe('send failing-topic');
    expect(kept?.slow.spans[0]?.operationName, 'the slow trace is in Jaeger').toBe('process slow-topic');

    // All traces were decided in the same round as the kept ones; give the
    // last batch time to arrive before checking that the rest stayed out.
    await new Promise((resolve) => setTimeout(resolve, (DECISION_WAIT_S + 2) * 1000));
    const ordinaryInJaeger = await Promise.all(traceIds.ordinary.map((traceId) => getTrace(target.jaegerUrl, traceId)));
    expect(ordinaryInJaeger.filter((trace) => trace !== undefined)).toHaveLength(0);

    // Span metrics come from the unsampled pipeline: every span is counted.
    let lastTotal = 0;
    const counted = await pollUntil(async () => {
      const text = await (await fetch(`http://127.0.0.1:${PORTS.prometheus}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
      const total = text
        .split('\n')
        .filter((line) => line.startsWith('traces_span_metrics_calls_total{') && line.includes(`service_name="${SERVICE_NAME}"`))
        .reduce((sum, line) => sum + Number(/\}\s+(\S+)/.exec(line)?.[1]), 0);
      lastTotal = total;
      return total === ORDINARY_TRACES + 2 ? total : undefined;
    }, 20_000);
    expect(counted, `span metrics counted ${lastTotal} spans`).toBe(ORDINARY_TRACES + 2);
  });
});
