/**
 * The tail-sampling variant of the collector config
 * (collector/otel-collector.tail-sampling.yaml), run with our collector build
 * on spare ports next to the native stack, exporting to the stack's Jaeger:
 * error traces and slow traces reach Jaeger, ordinary ones do not (baseline
 * set to 0 %), and the span metrics still count every span. A second
 * collector with a 50 % baseline keeps about half of many ordinary traces.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoints } from '../../demo/src/endpoints.js';
import { getTrace, pollUntil } from '../../demo/src/queries.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const target = endpoints();
const SERVICE_NAME = `keyscope-tail-sampling-e2e-${randomBytes(4).toString('hex')}`;
const PORTS = { grpc: 24317, http: 24318, prometheus: 28889, telemetry: 28888, health: 23133 };
const SLOW_TRACE_MS = 500;
const DECISION_WAIT_S = 2;
const ORDINARY_TRACES = 20;
// The baseline run: many ordinary traces through a 50 % baseline. Binomial
// with n = 200, p = 0.5 has a standard deviation of about 7 traces, so
// 25 %..75 % (±50 traces) cannot fail by chance.
const BASELINE_PORTS = { grpc: 24327, http: 24328, prometheus: 28899, telemetry: 28898, health: 23143 };
const BASELINE_PERCENT = 50;
const BASELINE_TRACES = 200;

interface RunningCollector {
  process: ChildProcess;
  log: () => string;
}
let collector: RunningCollector | undefined;
let baselineCollector: RunningCollector | undefined;
let provider: TracerProvider | undefined;
let baselineProvider: TracerProvider | undefined;
const traceIds = { error: '', slow: '', ordinary: [] as string[] };

function collectorBinary(): string {
  // The same path resolution as the build script, so the test runs the build that stack:up made.
  const script = 'source scripts/lib/common.sh && source scripts/build/go-env.sh && printf %s "$OTELCOL_BIN"';
  return execFileSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8' });
}

/** Starts the tail-sampling config on `ports` with a baseline of `baselinePercent`, and waits until it is healthy. */
async function startCollector(ports: typeof PORTS, baselinePercent: number): Promise<RunningCollector> {
  const child = spawn(collectorBinary(), ['--config', `${ROOT}collector/otel-collector.tail-sampling.yaml`], {
    env: {
      ...process.env,
      OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${ports.grpc}`,
      OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${ports.http}`,
      OTELCOL_PROMETHEUS_ENDPOINT: `127.0.0.1:${ports.prometheus}`,
      OTELCOL_TELEMETRY_PORT: String(ports.telemetry),
      OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${ports.health}`,
      OTELCOL_JAEGER_ENDPOINT: `127.0.0.1:${process.env.JAEGER_OTLP_GRPC_PORT ?? '14317'}`,
      OTELCOL_AUDIT_ENDPOINT: `http://127.0.0.1:${process.env.KEYSCOPE_AUDIT_OTLP_PORT ?? '4319'}`,
      OTELCOL_DECISION_WAIT: `${DECISION_WAIT_S}s`,
      OTELCOL_SLOW_TRACE_MS: String(SLOW_TRACE_MS),
      OTELCOL_BASELINE_SAMPLING_PERCENT: String(baselinePercent),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keepLog = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keepLog);
  child.stderr?.on('data', keepLog);
  const healthy = await pollUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`the collector exited: ${log}`);
      const response = await fetch(`http://127.0.0.1:${ports.health}/`, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
      return response?.ok === true ? true : undefined;
    },
    30_000,
    250,
  );
  if (healthy === undefined) {
    child.kill('SIGTERM');
    throw new Error(`the tail-sampling collector did not become healthy within 30 s:\n${log}`);
  }
  return { process: child, log: () => log };
}

function tracerProvider(serviceName: string, ports: typeof PORTS): TracerProvider {
  return new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `http://127.0.0.1:${ports.http}/v1/traces` }),
        scheduledDelayMillis: 200,
      }),
    ],
  });
}

beforeAll(async () => {
  collector = await startCollector(PORTS, 0);
  provider = tracerProvider(SERVICE_NAME, PORTS);
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
  await baselineProvider?.shutdown();
  collector?.process.kill('SIGTERM');
  baselineCollector?.process.kill('SIGTERM');
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

describe('the baseline of the tail-sampling collector config', () => {
  it(`keeps about ${BASELINE_PERCENT} % of ordinary traces when the baseline is ${BASELINE_PERCENT} %`, { timeout: 90_000 }, async () => {
    baselineCollector = await startCollector(BASELINE_PORTS, BASELINE_PERCENT);
    const serviceName = `${SERVICE_NAME}-baseline`;
    baselineProvider = tracerProvider(serviceName, BASELINE_PORTS);
    const tracer = baselineProvider.getTracer('tail-sampling-e2e');
    const ids: string[] = [];
    const now = Date.now();
    for (let index = 0; index < BASELINE_TRACES; index++) {
      const span = tracer.startSpan('send ordinary-topic', {
        kind: SpanKind.PRODUCER,
        startTime: now - 2,
        attributes: { 'messaging.system': 'pulsar' },
      });
      span.end(now);
      ids.push(span.spanContext().traceId);
    }
    await baselineProvider.forceFlush();
    // Decisions come DECISION_WAIT_S after the first span; then the batch processor and Jaeger.
    await new Promise((resolve) => setTimeout(resolve, (DECISION_WAIT_S + 4) * 1000));
    let kept = 0;
    for (let start = 0; start < ids.length; start += 20) {
      const found = await Promise.all(ids.slice(start, start + 20).map((traceId) => getTrace(target.jaegerUrl, traceId)));
      kept += found.filter((trace) => trace !== undefined).length;
    }
    console.log(`baseline ${BASELINE_PERCENT} %: ${kept} of ${BASELINE_TRACES} ordinary traces kept in Jaeger`);
    expect(kept, `ordinary traces kept with a ${BASELINE_PERCENT} % baseline`).toBeGreaterThanOrEqual(BASELINE_TRACES * 0.25);
    expect(kept, `ordinary traces kept with a ${BASELINE_PERCENT} % baseline`).toBeLessThanOrEqual(BASELINE_TRACES * 0.75);
  });
});
