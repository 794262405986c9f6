/**
 * Throughput and end-to-end latency through a real Pulsar broker, with the
 * raw WebSocketClient and with the same client instrumented by keyscope,
 * measured side by side: runs alternate raw / instrumented, round by round, and
 * the table shows the median of the rounds.
 *
 * Each run has three phases on a fresh topic (Key_Shared, one consumer acking
 * in its listener, producer and consumer in this process):
 *   - paced at BENCH_RATE msg/s, then at BENCH_HIGH_RATE msg/s, for
 *     BENCH_PACED_MS each: end-to-end latency (send() call to listener);
 *   - saturated: BENCH_MESSAGES sent keeping 500 unacknowledged sends in flight:
 *     throughput (first send to last receive) and this process's CPU time per
 *     message (producer + consumer side together).
 *
 *   npm run pulsar:start && npm run bench:e2e
 *   (BENCH_ROUNDS=4, BENCH_RATE=500, BENCH_HIGH_RATE=4000, BENCH_PACED_MS=2000,
 *    BENCH_MESSAGES=20000; PULSAR_WEB_PORT)
 */
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { AlwaysOnSampler, BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { Keyscope } from '../src/index.js';
import { WebSocketClient } from '../src/websocket/index.js';
import type { WebSocketConsumer, WebSocketProducer } from '../src/websocket/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const LOW_RATE = Number(process.env.BENCH_RATE ?? 500);
const HIGH_RATE = Number(process.env.BENCH_HIGH_RATE ?? 4000);
const PACED_MS = Number(process.env.BENCH_PACED_MS ?? 2000);
const SATURATED_MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20000);
const IN_FLIGHT = 500;
const KEYS = 1000;
const PAYLOAD_BYTES = 200;
const PHASE_TIMEOUT_MS = 60_000;
const TOTAL_TIMEOUT_MS = 240_000;
const WEB_PORT = Number(process.env.PULSAR_WEB_PORT ?? 8080);
const SERVICE_URL = `http://127.0.0.1:${WEB_PORT}`;

type Mode = 'raw' | 'instrumented';

interface RunResult {
  mode: Mode;
  lowP50: number;
  lowP99: number;
  highP50: number;
  highP99: number;
  throughput: number;
  cpuMicrosPerMessage: number;
}

/** Spans go through the real SDK pipeline (batching, export) and are then dropped. */
class DiscardingExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    this.exported += spans.length;
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const now = (): number => performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const keys = Array.from({ length: KEYS }, (_, i) => `subscriber-${i}`);
const filler = 'x'.repeat(PAYLOAD_BYTES);

async function brokerReachable(): Promise<boolean> {
  try {
    const response = await fetch(`${SERVICE_URL}/admin/v2/brokers/health`, { signal: AbortSignal.timeout(3000) });
    return response.ok;
  } catch {
    return false;
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One producer/consumer pair on a fresh topic; latencies are recorded per message index. */
class Pipe {
  private sentAt = new Float64Array(0);
  private latencies = new Float64Array(0);
  private received = 0;
  private lastReceiveAt = 0;
  private producer!: WebSocketProducer;
  private consumer!: WebSocketConsumer;

  static async open(client: WebSocketClient, mode: Mode, round: number): Promise<Pipe> {
    const pipe = new Pipe();
    const topic = `persistent://public/default/bench-e2e-${mode}-${round}-${Date.now().toString(36)}`;
    pipe.consumer = await client.subscribe({
      topic,
      subscription: 'bench',
      subscriptionType: 'KeyShared',
      receiverQueueSize: 1000,
      listener: async (message, consumer) => {
        const index = Number(message.getData().toString('latin1', 0, 10));
        pipe.latencies[index] = now() - pipe.sentAt[index]!;
        pipe.received++;
        pipe.lastReceiveAt = now();
        await consumer.acknowledge(message);
      },
    });
    pipe.producer = await client.createProducer({ topic, maxPendingMessages: IN_FLIGHT, blockIfQueueFull: true, sendTimeoutMs: PHASE_TIMEOUT_MS });
    return pipe;
  }

  private reset(count: number): void {
    this.sentAt = new Float64Array(count);
    this.latencies = new Float64Array(count);
    this.received = 0;
  }

  private send(index: number): Promise<unknown> {
    this.sentAt[index] = now();
    return this.producer.send({ data: Buffer.from(`${String(index).padStart(10, '0')}${filler}`), partitionKey: keys[index % KEYS]! });
  }

  private async waitForAll(count: number, phase: string): Promise<void> {
    const deadline = Date.now() + PHASE_TIMEOUT_MS;
    while (this.received < count) {
      if (Date.now() > deadline) throw new Error(`${phase}: only ${this.received}/${count} messages arrived within ${PHASE_TIMEOUT_MS} ms`);
      await sleep(2);
    }
  }

  private sortedLatencies(): Float64Array {
    return this.latencies.slice().sort();
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
    const sorted = this.sortedLatencies();
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  }

  async saturated(): Promise<{ throughput: number; cpuMicrosPerMessage: number }> {
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
    const cpu = process.cpuUsage(cpuBefore);
    return { throughput: (count * 1000) / (this.lastReceiveAt - started), cpuMicrosPerMessage: (cpu.user + cpu.system) / count };
  }

  async close(): Promise<void> {
    await this.producer.close();
    await this.consumer.close();
  }
}

async function run(mode: Mode, client: WebSocketClient, round: number): Promise<RunResult> {
  const pipe = await Pipe.open(client, mode, round);
  try {
    const low = await pipe.paced(LOW_RATE);
    const high = await pipe.paced(HIGH_RATE);
    const loaded = await pipe.saturated();
    return {
      mode,
      lowP50: low.p50,
      lowP99: low.p99,
      highP50: high.p50,
      highP99: high.p99,
      throughput: loaded.throughput,
      cpuMicrosPerMessage: loaded.cpuMicrosPerMessage,
    };
  } finally {
    await pipe.close();
  }
}

function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function printTable(results: RunResult[]): void {
  const summary = (mode: Mode) => {
    const runs = results.filter((r) => r.mode === mode);
    const m = (pick: (r: RunResult) => number) => median(runs.map(pick));
    return {
      throughput: m((r) => r.throughput),
      cpu: m((r) => r.cpuMicrosPerMessage),
      lowP50: m((r) => r.lowP50),
      lowP99: m((r) => r.lowP99),
      highP50: m((r) => r.highP50),
      highP99: m((r) => r.highP99),
    };
  };
  const raw = summary('raw');
  const instrumented = summary('instrumented');
  const ratio = (a: number, b: number) => `${fmt(a / b, 2)}x`;
  console.log('');
  console.log(
    `End-to-end through Pulsar at ${SERVICE_URL} (WebSocket API), median of ${ROUNDS} interleaved rounds; ` +
      `${PAYLOAD_BYTES}-byte payloads, ${KEYS} keys, Key_Shared, one consumer acking every message.`,
  );
  console.log('');
  console.log(
    `| client | throughput (msg/s) | client CPU per message (µs) | p50 at ${LOW_RATE} msg/s (ms) | p99 at ${LOW_RATE} msg/s (ms) | ` +
      `p50 at ${HIGH_RATE} msg/s (ms) | p99 at ${HIGH_RATE} msg/s (ms) |`,
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [name, s] of [['raw WebSocketClient', raw], ['instrumented (keyscope)', instrumented]] as const) {
    console.log(
      `| ${name} | ${fmt(s.throughput, 0)} | ${fmt(s.cpu, 0)} | ${fmt(s.lowP50, 2)} | ${fmt(s.lowP99, 2)} | ${fmt(s.highP50, 2)} | ${fmt(s.highP99, 2)} |`,
    );
  }
  console.log(
    `| instrumented / raw | ${ratio(instrumented.throughput, raw.throughput)} | ${ratio(instrumented.cpu, raw.cpu)} | ` +
      `${ratio(instrumented.lowP50, raw.lowP50)} | ${ratio(instrumented.lowP99, raw.lowP99)} | ` +
      `${ratio(instrumented.highP50, raw.highP50)} | ${ratio(instrumented.highP99, raw.highP99)} |`,
  );
  console.log('');
  console.log(`Throughput: ${SATURATED_MESSAGES} messages with ${IN_FLIGHT} unacknowledged sends in flight, first send to last receive.`);
}

async function main(): Promise<void> {
  if (!(await brokerReachable())) {
    console.error(`No Pulsar broker answers at ${SERVICE_URL}. Start it with 'npm run pulsar:start' (or set PULSAR_WEB_PORT), then run 'npm run bench:e2e' again.`);
    process.exit(1);
  }
  const watchdog = setTimeout(() => {
    console.error(`bench:e2e did not finish within ${TOTAL_TIMEOUT_MS / 1000} s; is the broker overloaded?`);
    process.exit(1);
  }, TOTAL_TIMEOUT_MS);
  watchdog.unref();

  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  const exporter = new DiscardingExporter();
  const tracerProvider = new TracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new BatchSpanProcessor({ exporter })] });
  const keyscope = new Keyscope({ registry: new Registry(), tracerProvider });
  const rawClient = new WebSocketClient({ serviceUrl: SERVICE_URL });
  const instrumentedClient = keyscope.instrumentClient(new WebSocketClient({ serviceUrl: SERVICE_URL }));

  const results: RunResult[] = [];
  // Warm-up (JIT, broker-side topic creation paths); not reported.
  await run('raw', rawClient, -1);
  await run('instrumented', instrumentedClient, -1);
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which mode goes first, so drift over time hits both equally.
    const order: Mode[] = round % 2 === 0 ? ['raw', 'instrumented'] : ['instrumented', 'raw'];
    for (const mode of order) {
      const result = await run(mode, mode === 'raw' ? rawClient : instrumentedClient, round);
      results.push(result);
      process.stderr.write(
        `round ${round + 1}/${ROUNDS} ${mode}: ${fmt(result.throughput, 0)} msg/s, ${fmt(result.cpuMicrosPerMessage, 0)} µs CPU/msg, ` +
          `p50/p99 ${fmt(result.lowP50, 2)}/${fmt(result.lowP99, 2)} ms at ${LOW_RATE} msg/s, ` +
          `${fmt(result.highP50, 2)}/${fmt(result.highP99, 2)} ms at ${HIGH_RATE} msg/s\n`,
      );
    }
  }
  await rawClient.close();
  await instrumentedClient.close();
  await tracerProvider.forceFlush();
  keyscope.close();
  printTable(results);
  console.log('');
  console.log(`(${exporter.exported} spans exported by the instrumented runs)`);
  await tracerProvider.shutdown();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
