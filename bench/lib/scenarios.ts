/**
 * The benchmark scenarios: produce + consume + ack of one message through the
 * in-memory stand-in, raw, through Keyscope, or with bare OpenTelemetry calls
 * (the floors).
 */
import { ROOT_CONTEXT, context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, NoopSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { Keyscope } from '../../src/index.js';
import {
  HandWrittenTelemetry,
  processSpanOptions,
  propertyGetter,
  propertySetter,
  sendSpanOptions,
  type OutgoingMessage,
} from './bare-otel.js';
import { FakeClient, type FakeConsumer, type FakeMessage, type FakeProducer } from '../../testing/fake-pulsar.js';

export const SCENARIOS = [
  'raw',
  'keyscope sampled',
  'keyscope not sampled',
  'keyscope metrics only',
  'minimal floor sampled',
  'minimal floor not sampled',
  'same-telemetry floor sampled',
  'same-telemetry floor not sampled',
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

const floorSendSpanOptions = sendSpanOptions(TOPIC);
const floorProcessSpanOptions = processSpanOptions(TOPIC, 'bench');

/**
 * Minimal floor: the same transport plus the bare OpenTelemetry calls every
 * propagating instrumentation makes (two spans with their sampling-relevant
 * attributes, inject, extract, an active process span), and nothing else.
 */
async function minimalFloorPipe(tracer: Tracer): Promise<Pipe> {
  const pipe = await rawPipe(new FakeClient());
  return {
    consumer: pipe.consumer,
    send: async (i) => {
      const active = context.active();
      const span = tracer.startSpan(`send ${TOPIC}`, floorSendSpanOptions, active);
      const properties: Record<string, string> = { app: 'bench' };
      propagation.inject(trace.setSpan(active, span), properties, propertySetter);
      const id = await pipe.producer.send({ data: payload, partitionKey: keys[i % KEYS] as string, properties });
      span.end();
      return id;
    },
    consume: async (message) => {
      const extracted = propagation.extract(ROOT_CONTEXT, message.getProperties(), propertyGetter);
      const span = tracer.startSpan(`process ${TOPIC}`, floorProcessSpanOptions, extracted);
      await context.with(trace.setSpan(extracted, span), () => pipe.consumer.acknowledge(message));
      span.end();
    },
  };
}

/** Same-telemetry floor: the spans keyscope produces, by hand (bare-otel.ts), without metrics or tracking. */
async function sameTelemetryFloorPipe(tracer: Tracer): Promise<Pipe> {
  const pipe = await rawPipe(new FakeClient());
  const telemetry = new HandWrittenTelemetry(tracer, TOPIC, 'bench', 'KeyShared');
  const send = (message: OutgoingMessage) => pipe.producer.send(message);
  return {
    consumer: pipe.consumer,
    send: (i) => telemetry.send(send, { data: payload, partitionKey: keys[i % KEYS] as string, properties: { app: 'bench' } }),
    consume: (message) => telemetry.process(message, () => pipe.consumer.acknowledge(message)),
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
    case 'minimal floor sampled':
      return minimalFloorPipe(tracerProvider(true).getTracer('floor'));
    case 'minimal floor not sampled':
      return minimalFloorPipe(tracerProvider(false).getTracer('floor'));
    case 'same-telemetry floor sampled':
      return sameTelemetryFloorPipe(tracerProvider(true).getTracer('floor'));
    case 'same-telemetry floor not sampled':
      return sameTelemetryFloorPipe(tracerProvider(false).getTracer('floor'));
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
