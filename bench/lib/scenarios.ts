/**
 * The benchmark scenarios: produce + consume + ack of one message through the
 * in-memory stand-in, raw, through Keyscope, or with bare OpenTelemetry calls.
 */
import { ROOT_CONTEXT, SpanKind, context, propagation, trace, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, NoopSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { Keyscope } from '../../src/index.js';
import { FakeClient, type FakeConsumer, type FakeMessage, type FakeProducer } from '../../test/support/fakePulsar.js';

export const SCENARIOS = [
  'raw',
  'keyscope sampled',
  'keyscope not sampled',
  'keyscope metrics only',
  'bare otel sampled',
  'bare otel not sampled',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const TOPIC = 'persistent://public/default/bench';
const KEYS = 500;
export const KEY_COUNT = KEYS;

export interface Pipe {
  consumer: FakeConsumer;
  send(i: number): Promise<unknown>;
  consume(message: FakeMessage): Promise<unknown>;
}

const keys = Array.from({ length: KEYS }, (_, i) => `customer-${i}`);
const payload = Buffer.from('{"event":"cart_updated"}');

async function rawPipe(client: FakeClient): Promise<Pipe & { producer: FakeProducer }> {
  const producer = await client.createProducer({ topic: TOPIC });
  const consumer = await client.subscribe({ topic: TOPIC, subscription: 'bench', subscriptionType: 'KeyShared' });
  return {
    producer,
    consumer,
    send: (i) => producer.send({ data: payload, partitionKey: keys[i % KEYS] as string, properties: { app: 'bench' } }),
    consume: (message) => consumer.acknowledge(message),
  };
}

function tracerProvider(sampled: boolean): TracerProvider {
  return new TracerProvider({
    sampler: sampled ? new AlwaysOnSampler() : new AlwaysOffSampler(),
    spanProcessors: [new NoopSpanProcessor()],
  });
}

async function keyscopePipe(provider: TracerProvider | undefined): Promise<Pipe> {
  const keyscope = new Keyscope({ registry: new Registry(), ...(provider === undefined ? {} : { tracerProvider: provider }) });
  const pipe = await rawPipe(keyscope.instrumentClient(new FakeClient()));
  return { ...pipe, consume: (message) => keyscope.process(message, () => pipe.consumer.acknowledge(message)) };
}

const getter: TextMapGetter<Record<string, string>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};
const setter = { set: (carrier: Record<string, string>, key: string, value: string) => void (carrier[key] = value) };

/** The floor: the same transport plus bare OpenTelemetry calls (two spans, inject, extract, an active process span). */
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
    consumer: pipe.consumer,
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

export function createPipe(name: ScenarioName): Promise<Pipe> {
  switch (name) {
    case 'raw':
      return rawPipe(new FakeClient());
    case 'keyscope sampled':
      return keyscopePipe(tracerProvider(true));
    case 'keyscope not sampled':
      return keyscopePipe(tracerProvider(false));
    case 'keyscope metrics only':
      return keyscopePipe(undefined);
    case 'bare otel sampled':
      return bareOtelPipe(tracerProvider(true).getTracer('floor'));
    case 'bare otel not sampled':
      return bareOtelPipe(tracerProvider(false).getTracer('floor'));
  }
}

/** Microseconds per message for one round. */
export async function runRound(pipe: Pipe, messages: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < messages; i++) {
    await pipe.send(i);
    const message = await pipe.consumer.receive();
    await pipe.consume(message);
  }
  return Number(process.hrtime.bigint() - start) / messages / 1000;
}
