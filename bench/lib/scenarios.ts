/**
 * The benchmark scenarios: produce + consume + ack of one message through the
 * in-memory stand-in, raw, through Keyscope, or with bare OpenTelemetry calls
 * (the floors).
 */
import { ROOT_CONTEXT, SpanKind, context, propagation, trace, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, NoopSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { Keyscope } from '../../src/index.js';
import { FakeClient, type FakeConsumer, type FakeMessage, type FakeProducer } from '../../test/support/fake-pulsar.js';

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

const getter: TextMapGetter<Record<string, string>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};
const setter = { set: (carrier: Record<string, string>, key: string, value: string) => void (carrier[key] = value) };

/**
 * Start options of the floor scenarios' send and process spans: the
 * sampling-relevant attributes, built once and shared by both floors.
 */
const floorSendSpanOptions = {
  kind: SpanKind.PRODUCER,
  attributes: {
    'messaging.system': 'pulsar',
    'messaging.destination.name': TOPIC,
    'messaging.operation.name': 'send',
    'messaging.operation.type': 'send',
  },
};
const floorProcessSpanOptions = {
  kind: SpanKind.CONSUMER,
  attributes: {
    'messaging.system': 'pulsar',
    'messaging.destination.name': TOPIC,
    'messaging.operation.name': 'process',
    'messaging.operation.type': 'process',
    'messaging.destination.subscription.name': 'bench',
  },
};

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
      const span = tracer.startSpan('send ' + TOPIC, floorSendSpanOptions, active);
      const properties: Record<string, string> = { app: 'bench' };
      propagation.inject(trace.setSpan(active, span), properties, setter);
      const id = await pipe.producer.send({ data: payload, partitionKey: keys[i % KEYS] as string, properties });
      span.end();
      return id;
    },
    consume: async (message) => {
      const extracted = propagation.extract(ROOT_CONTEXT, message.getProperties(), getter);
      const span = tracer.startSpan('process ' + TOPIC, floorProcessSpanOptions, extracted);
      await context.with(trace.setSpan(extracted, span), () => pipe.consumer.acknowledge(message));
      span.end();
    },
  };
}

/**
 * Same-telemetry floor: bare OpenTelemetry calls producing the spans Keyscope
 * produces, written the cheapest way we know (sampling-relevant attributes at
 * start, the rest only on recording spans): every attribute our spans carry,
 * the producer id and seq carried in properties to reach the process span, and
 * the settle event at ack. Key as is (Keyscope hashes it by default, which
 * counts against Keyscope). No metrics, no per-key tracking.
 */
async function sameTelemetryFloorPipe(tracer: Tracer): Promise<Pipe> {
  const pipe = await rawPipe(new FakeClient());
  const producerId = 'Xq3_bench-prod';
  const consumerId = 'Yr4_bench-cons';
  let lastSeq = 0;
  const ackEvent = { 'messaging.operation.name': 'ack', 'messaging.operation.type': 'settle' };
  return {
    consumer: pipe.consumer,
    send: async (i) => {
      const seq = ++lastSeq;
      const key = keys[i % KEYS] as string;
      const active = context.active();
      const span = tracer.startSpan('send ' + TOPIC, floorSendSpanOptions, active);
      if (span.isRecording()) {
        span.setAttribute('keyscope.producer', producerId);
        span.setAttribute('keyscope.seq', seq);
        span.setAttribute('messaging.pulsar.message.key', key);
      }
      const properties: Record<string, string> = { app: 'bench', 'keyscope-producer': producerId, 'keyscope-seq': String(seq) };
      propagation.inject(trace.setSpan(active, span), properties, setter);
      const id = await pipe.producer.send({ data: payload, partitionKey: key, properties });
      if (span.isRecording()) span.setAttribute('messaging.message.id', String(id));
      span.end();
      return id;
    },
    consume: async (message) => {
      const properties = message.getProperties();
      const extracted = propagation.extract(ROOT_CONTEXT, properties, getter);
      const span = tracer.startSpan('process ' + TOPIC, floorProcessSpanOptions, extracted);
      if (span.isRecording()) {
        span.setAttribute('messaging.pulsar.subscription.type', 'KeyShared');
        span.setAttribute('messaging.pulsar.message.key', message.getPartitionKey());
        span.setAttribute('messaging.message.id', String(message.getMessageId()));
        span.setAttribute('messaging.pulsar.redelivery_count', message.getRedeliveryCount());
        span.setAttribute('keyscope.consumer', consumerId);
        span.setAttribute('keyscope.producer', properties['keyscope-producer'] as string);
        span.setAttribute('keyscope.seq', Number(properties['keyscope-seq']));
      }
      await context.with(trace.setSpan(extracted, span), () => {
        const acked = pipe.consumer.acknowledge(message);
        span.addEvent('settle', ackEvent);
        return acked;
      });
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
