/**
 * The spans and propagation keyscope produces, written by hand with bare
 * OpenTelemetry calls the cheapest way we know: the floor both benchmarks
 * compare keyscope against. Sampling-relevant attributes at start, the rest
 * only on recording spans; every attribute keyscope's spans carry; the
 * producer id and seq carried in properties to reach the process span; the
 * settle event at ack. The key as is (keyscope hashes it by default, which
 * counts against keyscope). No metrics, no per-key tracking.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  context,
  propagation,
  trace,
  type SpanOptions,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';

type Properties = Record<string, string>;

/** What this floor reads from a received message: the pulsar-client `Message` getters keyscope reads. */
export interface ReceivedMessage {
  getProperties(): Properties;
  getPartitionKey(): string;
  getMessageId(): { toString(): string };
  getRedeliveryCount(): number;
}

export interface OutgoingMessage {
  data: Buffer;
  partitionKey?: string;
  properties?: Properties;
}

export const propertyGetter: TextMapGetter<Properties> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};
export const propertySetter: TextMapSetter<Properties> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/** Start options of a send span: the attributes the conventions list as relevant for sampling. */
export function sendSpanOptions(topic: string): SpanOptions {
  return {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.system': 'pulsar',
      'messaging.destination.name': topic,
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
    },
  };
}

/** Start options of a process span: the attributes the conventions list as relevant for sampling. */
export function processSpanOptions(topic: string, subscription: string): SpanOptions {
  return {
    kind: SpanKind.CONSUMER,
    attributes: {
      'messaging.system': 'pulsar',
      'messaging.destination.name': topic,
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.destination.subscription.name': subscription,
    },
  };
}

const ACK_EVENT = { 'messaging.operation.name': 'ack', 'messaging.operation.type': 'settle' };

export class HandWrittenTelemetry {
  private readonly producerId = 'Xq3_bench-prod';
  private readonly consumerId = 'Yr4_bench-cons';
  private lastSeq = 0;
  private readonly sendName: string;
  private readonly processName: string;
  private readonly sendOptions: SpanOptions;
  private readonly processOptions: SpanOptions;

  constructor(
    private readonly tracer: Tracer,
    topic: string,
    subscription: string,
    private readonly subscriptionType: string,
  ) {
    this.sendName = `send ${topic}`;
    this.processName = `process ${topic}`;
    this.sendOptions = sendSpanOptions(topic);
    this.processOptions = processSpanOptions(topic, subscription);
  }

  /** Sends `message` through `send` inside a send span, with the stamps and the trace context in its properties. */
  async send<Id extends { toString(): string }>(send: (message: OutgoingMessage) => Promise<Id>, message: OutgoingMessage): Promise<Id> {
    const seq = ++this.lastSeq;
    const active = context.active();
    const span = this.tracer.startSpan(this.sendName, this.sendOptions, active);
    if (span.isRecording()) {
      span.setAttribute('keyscope.producer', this.producerId);
      span.setAttribute('keyscope.seq', seq);
      if (message.partitionKey !== undefined) span.setAttribute('messaging.pulsar.message.key', message.partitionKey);
    }
    // Written where the application builds its message, so no copy is needed (keyscope must copy).
    message.properties ??= {};
    const properties = message.properties;
    properties['keyscope-producer'] = this.producerId;
    properties['keyscope-seq'] = String(seq);
    propagation.inject(trace.setSpan(active, span), properties, propertySetter);
    const id = await send(message);
    if (span.isRecording()) span.setAttribute('messaging.message.id', String(id));
    span.end();
    return id;
  }

  /**
   * Runs `handle` (synchronous) and then `acknowledge` inside a process span
   * continuing the message's trace; the span ends once the ack settles.
   */
  async process(message: ReceivedMessage, acknowledge: () => Promise<unknown>, handle?: () => void): Promise<void> {
    const properties = message.getProperties();
    const extracted = propagation.extract(ROOT_CONTEXT, properties, propertyGetter);
    const span = this.tracer.startSpan(this.processName, this.processOptions, extracted);
    if (span.isRecording()) {
      span.setAttribute('messaging.pulsar.subscription.type', this.subscriptionType);
      span.setAttribute('messaging.pulsar.message.key', message.getPartitionKey());
      span.setAttribute('messaging.message.id', String(message.getMessageId()));
      span.setAttribute('messaging.pulsar.redelivery_count', message.getRedeliveryCount());
      span.setAttribute('keyscope.consumer', this.consumerId);
      span.setAttribute('keyscope.producer', properties['keyscope-producer'] as string);
      span.setAttribute('keyscope.seq', Number(properties['keyscope-seq']));
    }
    await context.with(trace.setSpan(extracted, span), () => {
      handle?.();
      const acked = acknowledge();
      span.addEvent('settle', ACK_EVENT);
      return acked;
    });
    span.end();
  }
}
