/**
 * Throughput, client CPU and end-to-end latency through a real Pulsar broker,
 * measured side by side for three clients:
 *   - raw:      the WebSocketClient, no telemetry;
 *   - bare:     the same client with keyscope's spans and propagation written
 *               by hand with bare OpenTelemetry calls (bench/lib/bare-otel.ts);
 *   - keyscope: the same client instrumented by keyscope (spans, metrics, tracking).
 * under three tracing setups:
 *   - every span sampled, batched, exporter discarding them;
 *   - parent-based sampling of 1 % of new traces (a realistic production setting);
 *   - every span sampled and exported over OTLP/HTTP to the real collector,
 *     so serialisation and the HTTP export are in the figure.
 *
 * Each round runs every (setup, client) pair once, in a rotating order, so the
 * ratios pair runs that shared the machine's load; tables show the median
 * and the min–max over rounds.
 *
 * Each run, on a fresh topic (Key_Shared, one consumer acking in its
 * listener, producer and consumer in this process):
 *   - (first setup only) paced at BENCH_RATE msg/s, then at BENCH_HIGH_RATE
 *     msg/s, for BENCH_PACED_MS each: end-to-end latency (send() call to listener);
 *   - saturated: BENCH_MESSAGES sent keeping 500 unacknowledged sends in
 *     flight: throughput (first send to last receive) and this process's CPU
 *     time per message (producer and consumer side, span export included:
 *     spans are flushed before the CPU time is read).
 *
 *   npm run stack:up && npm run bench:e2e
 *   (BENCH_ROUNDS=4, BENCH_RATE=500, BENCH_HIGH_RATE=4000, BENCH_PACED_MS=2000,
 *    BENCH_MESSAGES=20000; PULSAR_WEB_PORT, OTELCOL_OTLP_HTTP_PORT)
 */
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { Keyscope } from '../src/index.js';
import { WebSocketClient } from '../src/websocket/index.js';
import type { WebSocketConsumer, WebSocketMessage, WebSocketProducer } from '../src/websocket/index.js';
import { HandWrittenTelemetry, type OutgoingMessage } from './lib/bare-otel.js';
import { environment, loadAverage } from './lib/environment.js';
import { median } from './lib/stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const LOW_RATE = Number(process.env.BENCH_RATE ?? 500);
const HIGH_RATE = Number(process.env.BENCH_HIGH_RATE ?? 4000);
const PACED_MS = Number(process.env.BENCH_PACED_MS ?? 2000);
const SATURATED_MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20000);
const IN_FLIGHT = 500;
const KEYS = 1000;
const PAYLOAD_BYTES = 200;
const PHASE_TIMEOUT_MS = 60_000;
const WEB_PORT = Number(process.env.PULSAR_WEB_PORT ?? 8080);
const SERVICE_URL = `http://127.0.0.1:${WEB_PORT}`;
const OTLP_URL = `http://127.0.0.1:${Number(process.env.OTELCOL_OTLP_HTTP_PORT ?? 4318)}/v1/traces`;
/** Sized so that the batch processor drops nothing at these rates: every span is serialised and sent. */
const OTLP_BATCH = { maxQueueSize: 65_536, maxExportBatchSize: 2048, scheduledDelayMillis: 200 };

/** The targets this benchmark is judged against (ratios of medians of paired rounds). */
const TARGETS = { cpuKeyscopeToBare: 1.1, throughputKeyscopeToBare: 0.95, throughputKeyscopeToRawSampled1Percent: 0.95 };

type Mode = 'raw' | 'bare' | 'keyscope';
const MODES: readonly Mode[] = ['raw', 'bare', 'keyscope'];
const MODE_LABEL: Record<Mode, string> = { raw: 'raw WebSocketClient', bare: 'bare OpenTelemetry by hand', keyscope: 'keyscope' };

interface RunResult {
  setup: string;
  mode: Mode;
  round: number;
  latency: { lowP50: number; lowP99: number; highP50: number; highP99: number } | undefined;
  throughput: number;
  cpuMicrosPerMessage: number;
  spansEnded: number;
  spansExported: number;
}

/** Counts spans handed to the exporter, then passes them on (or drops them when there is no real exporter). */
class CountingExporter implements SpanExporter {
  exported = 0;
  constructor(private readonly inner: SpanExporter | undefined) {}
  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.exported += spans.length;
    if (this.inner === undefined) done({ code: 0 });
    else this.inner.export(spans, done);
  }
  shutdown(): Promise<void> {
    return this.inner?.shutdown() ?? Promise.resolve();
  }
  forceFlush(): Promise<void> {
    return this.inner?.forceFlush?.() ?? Promise.resolve();
  }
}

/** One tracing setup: its provider, a keyscope-instrumented client on it, and the bare tracer. */
interface Setup {
  name: string;
  provider: TracerProvider;
  exporter: CountingExporter;
  ended: { count: number };
  keyscope: Keyscope;
  keyscopeClient: WebSocketClient;
  measuresLatency: boolean;
}

function createSetup(name: string, sampler: Sampler, exporter: SpanExporter | undefined, measuresLatency: boolean): Setup {
  const counting = new CountingExporter(exporter);
  const ended = { count: 0 };
  const provider = new TracerProvider({
    sampler,
    spanProcessors: [
      { onStart: () => undefined, onEnd: () => void ended.count++, forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() },
      new BatchSpanProcessor(exporter === undefined ? { exporter: counting } : { exporter: counting, ...OTLP_BATCH }),
    ],
  });
  const keyscope = new Keyscope({ registry: new Registry(), tracerProvider: provider });
  return {
    name,
    provider,
    exporter: counting,
    ended,
    keyscope,
    keyscopeClient: keyscope.instrumentClient(new WebSocketClient({ serviceUrl: SERVICE_URL })),
    measuresLatency,
  };
}

const now = (): number => performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const keys = Array.from({ length: KEYS }, (_, i) => `subscriber-${i}`);
const filler = 'x'.repeat(PAYLOAD_BYTES);

async function reachable(url: string, init?: RequestInit): Promise<boolean> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(3000) });
    return response.status < 500;
  } catch {
    return false;
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** One producer/consumer pair on a fresh topic; latencies are recorded per message index. */
class Pipe {
  private sentAt = new Float64Array(0);
  private latencies = new Float64Array(0);
  private received = 0;
  private lastReceiveAt = 0;
  private producer!: WebSocketProducer;
  private consumer!: WebSocketConsumer;
  private sendOne!: (message: OutgoingMessage) => Promise<unknown>;

  static async open(client: WebSocketClient, mode: Mode, setup: Setup, round: number): Promise<Pipe> {
    const pipe = new Pipe();
    const topic = `persistent://public/default/bench-e2e-${mode}-${round}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const bare =
      mode === 'bare' ? new HandWrittenTelemetry(setup.provider.getTracer('bench-bare'), topic, 'bench', 'KeyShared') : undefined;
    const record = (message: WebSocketMessage): void => {
      const index = Number(message.getData().toString('latin1', 0, 10));
      pipe.latencies[index] = now() - pipe.sentAt[index]!;
      pipe.received++;
      pipe.lastReceiveAt = now();
    };
    pipe.consumer = await client.subscribe({
      topic,
      subscription: 'bench',
      subscriptionType: 'KeyShared',
      receiverQueueSize: 1000,
      listener:
        bare === undefined
          ? async (message, consumer) => {
              record(message);
              await consumer.acknowledge(message);
            }
          : (message, consumer) =>
              bare.process(
                message,
                () => consumer.acknowledge(message),
                () => record(message),
              ),
    });
    pipe.producer = await client.createProducer({
      topic,
      maxPendingMessages: IN_FLIGHT,
      blockIfQueueFull: true,
      sendTimeoutMs: PHASE_TIMEOUT_MS,
    });
    const producer = pipe.producer;
    const send = (message: OutgoingMessage) => producer.send(message);
    pipe.sendOne = bare === undefined ? send : (message) => bare.send(send, message);
    return pipe;
  }

  private reset(count: number): void {
    this.sentAt = new Float64Array(count);
    this.latencies = new Float64Array(count);
    this.received = 0;
  }

  private send(index: number): Promise<unknown> {
    this.sentAt[index] = now();
    return this.sendOne({ data: Buffer.from(`${String(index).padStart(10, '0')}${filler}`), partitionKey: keys[index % KEYS]! });
  }

  private async waitForAll(count: number, phase: string): Promise<void> {
    const deadline = Date.now() + PHASE_TIMEOUT_MS;
    while (this.received < count) {
      if (Date.now() > deadline) throw new Error(`${phase}: only ${this.received}/${count} messages arrived within ${PHASE_TIMEOUT_MS} ms`);
      await sleep(2);
    }
  }

  async paced(rate: number): Promise<{ p50: number; p99: number }> {
    const count = Math.max(1, Math.round((rate * PACED_MS) / 1000));
    this.reset(count);
    const started = now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - now();
      if (wait > 1) await sleep(wait);
      sends.push(this.send(i));
    }
    await Promise.all(sends);
    await this.waitForAll(count, 'paced phase');
    const sorted = this.latencies.slice().sort();
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  }

  async saturated(flush: () => Promise<void>): Promise<{ throughput: number; cpuMicrosPerMessage: number }> {
    const count = SATURATED_MESSAGES;
    this.reset(count);
    const cpuBefore = process.cpuUsage();
    const started = now();
    // A window of IN_FLIGHT sends: the next send starts when one is acknowledged,
    // so latency counts the broker round trip, not waiting in the client's queue.
    let next = 0;
    await new Promise<void>((resolve, reject) => {
      let settled = 0;
      const startOne = (): void => {
        const index = next++;
        this.send(index).then(() => {
          settled++;
          if (next < count) startOne();
          else if (settled === count) resolve();
        }, reject);
      };
      for (let i = 0; i < Math.min(IN_FLIGHT, count); i++) startOne();
    });
    await this.waitForAll(count, 'saturated phase');
    const throughput = (count * 1000) / (this.lastReceiveAt - started);
    // The spans of this run are serialised and exported on this run's CPU time.
    await flush();
    const cpu = process.cpuUsage(cpuBefore);
    return { throughput, cpuMicrosPerMessage: (cpu.user + cpu.system) / count };
  }

  async close(): Promise<void> {
    await this.producer.close();
    await this.consumer.close();
  }
}

async function run(setup: Setup, mode: Mode, rawClient: WebSocketClient, round: number): Promise<RunResult> {
  const client = mode === 'keyscope' ? setup.keyscopeClient : rawClient;
  const pipe = await Pipe.open(client, mode, setup, round);
  try {
    let latency: RunResult['latency'];
    if (setup.measuresLatency && PACED_MS > 0) {
      const low = await pipe.paced(LOW_RATE);
      const high = await pipe.paced(HIGH_RATE);
      latency = { lowP50: low.p50, lowP99: low.p99, highP50: high.p50, highP99: high.p99 };
    }
    // Spans of earlier phases are exported before the saturated phase's CPU time starts.
    await setup.provider.forceFlush();
    const endedBefore = setup.ended.count;
    const exportedBefore = setup.exporter.exported;
    const loaded = await pipe.saturated(() => setup.provider.forceFlush());
    return {
      setup: setup.name,
      mode,
      round,
      latency,
      ...loaded,
      spansEnded: setup.ended.count - endedBefore,
      spansExported: setup.exporter.exported - exportedBefore,
    };
  } finally {
    await pipe.close();
  }
}

const fmt = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** A Markdown table; the first `textColumns` columns are left-aligned, the figures right-aligned. */
function printTable(header: string[], rows: string[][], textColumns: number): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map((_, i) => (i < textColumns ? '---' : '---:')).join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

/** "median (min–max)" over rounds. */
function spread(values: number[], digits: number, suffix = ''): string {
  if (values.length === 0) return 'n/a';
  return `${fmt(median(values), digits)}${suffix} (${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)})`;
}

function printResults(setups: Setup[], results: RunResult[], startEnvironment: string): void {
  const runs = (setup: string, mode: Mode) => results.filter((r) => r.setup === setup && r.mode === mode);
  /** Per-round ratios of one figure between two clients of one setup. */
  const ratios = (setup: string, pick: (r: RunResult) => number, numerator: Mode, denominator: Mode): number[] => {
    const out: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const a = runs(setup, numerator).find((r) => r.round === round);
      const b = runs(setup, denominator).find((r) => r.round === round);
      if (a !== undefined && b !== undefined) out.push(pick(a) / pick(b));
    }
    return out;
  };
  const throughput = (r: RunResult) => r.throughput;
  const cpu = (r: RunResult) => r.cpuMicrosPerMessage;

  console.log('');
  console.log(
    `End-to-end through Pulsar at ${SERVICE_URL} (WebSocket API): ${ROUNDS} rounds, each running every setup and client once in a rotating order; ` +
      `${SATURATED_MESSAGES} messages per run with ${IN_FLIGHT} unacknowledged sends in flight, ${PAYLOAD_BYTES}-byte payloads, ${KEYS} keys, ` +
      'Key_Shared, one consumer acking every message in its listener, producer and consumer in one process. Median (min–max) over rounds.',
  );
  console.log(`${startEnvironment}; load average at the end ${loadAverage()}`);
  console.log('');
  const figureRows: string[][] = [];
  for (const setup of setups) {
    for (const mode of MODES) {
      const own = runs(setup.name, mode);
      const spans = own.map((r) => r.spansExported);
      figureRows.push([
        setup.name,
        MODE_LABEL[mode],
        spread(own.map(throughput), 0),
        spread(own.map(cpu), 1),
        mode === 'raw' ? '—' : fmt(median(spans) / SATURATED_MESSAGES, 2),
      ]);
    }
  }
  printTable(['tracing', 'client', 'throughput (msg/s)', 'client CPU per message (µs)', 'spans exported per message'], figureRows, 2);

  console.log('');
  const ratioRows: string[][] = [];
  const judged = (setup: string, label: string, values: number[], target: number, atLeast: boolean) => {
    const m = median(values);
    const met = atLeast ? m >= target : m <= target;
    ratioRows.push([
      setup,
      label,
      spread(values, 2, 'x'),
      `${atLeast ? '≥' : '≤'} ${target.toFixed(2)}x`,
      met ? 'met' : `missed (${fmt(m, 2)}x ${atLeast ? '<' : '>'} ${target.toFixed(2)}x)`,
    ]);
  };
  for (const setup of setups) {
    judged(setup.name, 'keyscope / bare: CPU per message', ratios(setup.name, cpu, 'keyscope', 'bare'), TARGETS.cpuKeyscopeToBare, false);
    judged(
      setup.name,
      'keyscope / bare: throughput',
      ratios(setup.name, throughput, 'keyscope', 'bare'),
      TARGETS.throughputKeyscopeToBare,
      true,
    );
    if (setup.name === SAMPLED_1_PERCENT) {
      judged(
        setup.name,
        'keyscope / raw: throughput',
        ratios(setup.name, throughput, 'keyscope', 'raw'),
        TARGETS.throughputKeyscopeToRawSampled1Percent,
        true,
      );
    }
    ratioRows.push([
      setup.name,
      "bare / raw: CPU per message (the SDK's own cost)",
      spread(ratios(setup.name, cpu, 'bare', 'raw'), 2, 'x'),
      '—',
      '—',
    ]);
  }
  printTable(['tracing', 'ratio (paired rounds)', 'median (min–max)', 'target', 'met'], ratioRows, 2);

  const latencySetup = setups.find((s) => s.measuresLatency);
  if (latencySetup !== undefined && PACED_MS > 0) {
    console.log('');
    console.log(`End-to-end latency (send() call to listener) at paced rates, ${latencySetup.name}, median over rounds:`);
    console.log('');
    const latencyRows = MODES.map((mode) => {
      const own = runs(latencySetup.name, mode).flatMap((r) => (r.latency === undefined ? [] : [r.latency]));
      const m = (pick: (l: NonNullable<RunResult['latency']>) => number) => fmt(median(own.map(pick)), 2);
      return [MODE_LABEL[mode], m((l) => l.lowP50), m((l) => l.lowP99), m((l) => l.highP50), m((l) => l.highP99)];
    });
    printTable(
      [
        'client',
        `p50 at ${LOW_RATE} msg/s (ms)`,
        `p99 at ${LOW_RATE} msg/s (ms)`,
        `p50 at ${HIGH_RATE} msg/s (ms)`,
        `p99 at ${HIGH_RATE} msg/s (ms)`,
      ],
      latencyRows,
      1,
    );
  }
  const ended = results.filter((r) => r.mode !== 'raw').reduce((sum, r) => sum + r.spansEnded, 0);
  const exported = results.filter((r) => r.mode !== 'raw').reduce((sum, r) => sum + r.spansExported, 0);
  console.log('');
  console.log(
    `Saturated phases: spans ended ${ended}, handed to exporters ${exported} (a batch processor drops what its queue cannot hold).`,
  );
}

const SAMPLED_ALL = 'all sampled, exporter discards';
const SAMPLED_1_PERCENT = 'parent-based, 1 % of new traces';
const SAMPLED_ALL_OTLP = 'all sampled, OTLP/HTTP to the collector';

async function main(): Promise<void> {
  if (!(await reachable(`${SERVICE_URL}/admin/v2/brokers/health`))) {
    console.error(
      `No Pulsar broker answers at ${SERVICE_URL}. Start it with 'npm run stack:up' (or set PULSAR_WEB_PORT), then run 'npm run bench:e2e' again.`,
    );
    process.exit(1);
  }
  const collectorUp = await reachable(OTLP_URL, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  if (!collectorUp) console.error(`No collector answers at ${OTLP_URL}: the OTLP setup is left out (start it with 'npm run stack:up').`);
  const setupsPlanned = 2 + (collectorUp ? 1 : 0);
  const totalTimeoutMs = (ROUNDS + 1) * setupsPlanned * MODES.length * (PHASE_TIMEOUT_MS / 2);
  const watchdog = setTimeout(() => {
    console.error(`bench:e2e did not finish within ${Math.round(totalTimeoutMs / 1000)} s; is the broker overloaded?`);
    process.exit(1);
  }, totalTimeoutMs);
  watchdog.unref();

  const startEnvironment = environment();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  const setups: Setup[] = [
    createSetup(SAMPLED_ALL, new AlwaysOnSampler(), undefined, true),
    createSetup(SAMPLED_1_PERCENT, new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.01) }), undefined, false),
  ];
  if (collectorUp) setups.push(createSetup(SAMPLED_ALL_OTLP, new AlwaysOnSampler(), new OTLPTraceExporter({ url: OTLP_URL }), false));
  const rawClient = new WebSocketClient({ serviceUrl: SERVICE_URL });

  const results: RunResult[] = [];
  try {
    // Warm-up (JIT, broker-side topic creation paths); not reported.
    for (const setup of setups) for (const mode of MODES) await run(setup, mode, rawClient, -1);
    const pairs = setups.flatMap((setup) => MODES.map((mode) => ({ setup, mode })));
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order so that no pair always runs first or last.
      for (let k = 0; k < pairs.length; k++) {
        const { setup, mode } = pairs[(round + k) % pairs.length]!;
        const result = await run(setup, mode, rawClient, round);
        results.push(result);
        process.stderr.write(
          `round ${round + 1}/${ROUNDS} ${setup.name} / ${mode}: ${fmt(result.throughput, 0)} msg/s, ${fmt(result.cpuMicrosPerMessage, 1)} µs CPU/msg, ` +
            `${result.spansExported} spans exported` +
            (result.latency === undefined
              ? ''
              : `, p50/p99 ${fmt(result.latency.lowP50, 2)}/${fmt(result.latency.lowP99, 2)} ms at ${LOW_RATE} msg/s, ` +
                `${fmt(result.latency.highP50, 2)}/${fmt(result.latency.highP99, 2)} ms at ${HIGH_RATE} msg/s`) +
            '\n',
        );
      }
    }
  } finally {
    await rawClient.close();
    for (const setup of setups) {
      await setup.keyscopeClient.close();
      setup.keyscope.close();
      await setup.provider.shutdown();
    }
  }
  printResults(setups, results, startEnvironment);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
