/**
 * Overhead of the wrappers per message (produce + consume + ack through the
 * in-memory stand-in), measured side by side in one run: scenarios are
 * interleaved round by round and medians reported.
 *
 *   npm run bench            (BENCH_ROUNDS, BENCH_MESSAGES to change the size)
 */
import { ROOT_CONTEXT, SpanKind, context, propagation, trace, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AlwaysOffSampler, AlwaysOnSampler, NoopSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { Keyscope } from '../src/index.js';
import { Tracker } from '../src/tracking/tracker.js';
import { FakeClient, type FakeConsumer, type FakeProducer } from '../test/support/fakePulsar.js';
import { exposeGc } from './lib/gc.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const WARMUP_ROUNDS = 4;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2000);
const KEYS = 500;
const TOPIC = 'persistent://public/default/bench';

const gc = exposeGc();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

interface Pipe {
  producer: FakeProducer;
  consumer: FakeConsumer;
  /** Wraps the consumer-side work of one message (process() or a bare span). */
  consume(message: Awaited<ReturnType<FakeConsumer['receive']>>): Promise<unknown>;
  send(i: number): Promise<unknown>;
}

const keys = Array.from({ length: KEYS }, (_, i) => `customer-${i}`);
const payload = Buffer.from('{"event":"cart_updated"}');

async function rawPipe(client: FakeClient): Promise<Pipe> {
  const producer = await client.createProducer({ topic: TOPIC });
  const consumer = await client.subscribe({ topic: TOPIC, subscription: 'bench', subscriptionType: 'KeyShared' });
  return {
    producer,
    consumer,
    send: (i) => producer.send({ data: payload, partitionKey: keys[i % KEYS] as string, properties: { app: 'bench' } }),
    consume: (message) => consumer.acknowledge(message),
  };
}

async function keyscopePipe(keyscope: Keyscope): Promise<Pipe> {
  const client = keyscope.instrumentClient(new FakeClient());
  const pipe = await rawPipe(client);
  return { ...pipe, consume: (message) => keyscope.process(message, () => pipe.consumer.acknowledge(message)) };
}

const getter: TextMapGetter<Record<string, string>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};
const setter = { set: (carrier: Record<string, string>, key: string, value: string) => void (carrier[key] = value) };

/** The floor: the same transport with bare OpenTelemetry calls (two spans, inject, extract, an active process span). */
async function bareOtelPipe(tracer: Tracer): Promise<Pipe> {
  const pipe = await rawPipe(new FakeClient());
  const sendAttributes = {
    'messaging.system': 'pulsar',
    'messaging.destination.name': TOPIC,
    'messaging.operation.name': 'send',
    'messaging.operation.type': 'send',
  };
  const processAttributes = {
    'messaging.system': 'pulsar',
    'messaging.destination.name': TOPIC,
    'messaging.operation.name': 'process',
    'messaging.operation.type': 'process',
    'messaging.destination.subscription.name': 'bench',
  };
  return {
    ...pipe,
    send: async (i) => {
      const active = context.active();
      const span = tracer.startSpan('send ' + TOPIC, { kind: SpanKind.PRODUCER, attributes: sendAttributes }, active);
      const properties: Record<string, string> = { app: 'bench' };
      propagation.inject(trace.setSpan(active, span), properties, setter);
      const id = await pipe.producer.send({ data: payload, partitionKey: keys[i % KEYS] as string, properties });
      span.end();
      return id;
    },
    consume: async (message) => {
      const extracted = propagation.extract(ROOT_CONTEXT, message.getProperties(), getter);
      const span = tracer.startSpan('process ' + TOPIC, { kind: SpanKind.CONSUMER, attributes: processAttributes }, extracted);
      await context.with(trace.setSpan(extracted, span), () => pipe.consumer.acknowledge(message));
      span.end();
    },
  };
}

async function runRound(pipe: Pipe): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i++) {
    await pipe.send(i);
    const message = await pipe.consumer.receive();
    await pipe.consume(message);
  }
  return Number(process.hrtime.bigint() - start) / MESSAGES / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function provider(sampled: boolean): TracerProvider {
  return new TracerProvider({
    sampler: sampled ? new AlwaysOnSampler() : new AlwaysOffSampler(),
    spanProcessors: [new NoopSpanProcessor()],
  });
}

function bytesPerTrackedKey(): { bytes: number; keys: number } {
  const count = 200_000;
  const tracker = new Tracker({ maxTrackedKeys: count, stallThresholdMs: 30_000, topStalledKeys: 10 });
  const stream = tracker.stream(TOPIC, 'bench');
  // Key strings as they arrive with messages: fresh strings, not literals.
  const incoming = Array.from({ length: count }, (_, i) => `customer-${i}`.split('').join(''));
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) tracker.settle(tracker.deliver(stream, incoming[i], 'Xq3_bench-prod', i + 1, 0, i));
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (tracker.keys.size !== count) throw new Error('tracker did not keep every key');
  return { bytes: (after - before) / count, keys: count };
}

async function main(): Promise<void> {
  const sampledProvider = provider(true);
  const unsampledProvider = provider(false);
  const scenarios: Array<{ name: string; pipe: Pipe; close?: () => void }> = [];
  const add = async (name: string, make: () => Promise<{ pipe: Pipe; close?: () => void }>) => scenarios.push({ name, ...(await make()) });

  await add('raw', async () => ({ pipe: await rawPipe(new FakeClient()) }));
  for (const [name, tracerProvider] of [
    ['keyscope sampled', sampledProvider],
    ['keyscope not sampled', unsampledProvider],
    ['keyscope metrics only', undefined],
  ] as const) {
    await add(name, async () => {
      const keyscope = new Keyscope({ registry: new Registry(), ...(tracerProvider === undefined ? {} : { tracerProvider }) });
      return { pipe: await keyscopePipe(keyscope), close: () => keyscope.close() };
    });
  }
  await add('bare otel sampled', async () => ({ pipe: await bareOtelPipe(sampledProvider.getTracer('floor')) }));
  await add('bare otel not sampled', async () => ({ pipe: await bareOtelPipe(unsampledProvider.getTracer('floor')) }));

  const samples = new Map<string, number[]>(scenarios.map((s) => [s.name, []]));
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    // Rotate the order so no scenario always runs first or last.
    for (let k = 0; k < scenarios.length; k++) {
      const scenario = scenarios[(round + k) % scenarios.length] as (typeof scenarios)[number];
      gc();
      const usPerMessage = await runRound(scenario.pipe);
      if (round >= WARMUP_ROUNDS) samples.get(scenario.name)?.push(usPerMessage);
    }
  }
  for (const s of scenarios) s.close?.();

  const m = (name: string) => median(samples.get(name) ?? []);
  const raw = m('raw');
  const floorSampled = m('bare otel sampled') - raw;
  const floorUnsampled = m('bare otel not sampled') - raw;
  const memory = bytesPerTrackedKey();

  const rows: string[][] = [];
  const fmt = (n: number) => n.toFixed(2);
  const row = (label: string, name: string, floor: number | undefined, target: string, pass: boolean) => {
    const total = m(name);
    rows.push([label, fmt(total), fmt(total - raw), floor === undefined ? '—' : fmt(floor), floor === undefined ? '—' : ((total - raw) / floor).toFixed(2), target, pass ? 'yes' : 'NO']);
  };
  rows.push(['raw stand-in (produce + consume + ack)', fmt(raw), '—', '—', '—', '—', '—']);
  row('(a) tracing sampled', 'keyscope sampled', floorSampled, 'ratio ≤ 1.3', (m('keyscope sampled') - raw) / floorSampled <= 1.3);
  row('(b) tracing not sampled', 'keyscope not sampled', floorUnsampled, 'ratio ≤ 1.3', (m('keyscope not sampled') - raw) / floorUnsampled <= 1.3);
  row('(c) metrics only (no tracer provider)', 'keyscope metrics only', undefined, '≤ 3 µs added', m('keyscope metrics only') - raw <= 3);
  rows.push(['floor: bare OpenTelemetry, sampled', fmt(m('bare otel sampled')), fmt(floorSampled), '—', '—', '—', '—']);
  rows.push(['floor: bare OpenTelemetry, not sampled', fmt(m('bare otel not sampled')), fmt(floorUnsampled), '—', '—', '—', '—']);
  rows.push(['memory per tracked key', `${memory.bytes.toFixed(0)} bytes`, '—', '—', '—', '≤ 200 bytes', memory.bytes <= 200 ? 'yes' : 'NO']);

  const header = ['scenario', 'µs/msg (median)', 'added µs/msg', 'floor µs/msg', 'ratio to floor', 'target', 'met'];
  console.log(`\nOverhead per message: ${ROUNDS} interleaved rounds × ${MESSAGES} messages, ${KEYS} keys, Node ${process.version}\n`);
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(`\n"added" = scenario minus the raw stand-in; "floor" = bare OpenTelemetry calls (two spans, inject, extract, active process span) minus the raw stand-in; memory measured over ${memory.keys} idle tracked keys.`);
}

await main();
