/**
 * The spans and propagation keyscope produces, written by hand with bare
 * OpenTelemetry calls the cheapest way we know: the floor both benchmarks
 * compare keyscope against. Sampling-relevant attributes at start, the rest
 * only on recording spans; every attribute keyscope's spans carry; the
 * producer id and seq carried in properties to reach the process span; a
 * process span that is the producer span's child and links to it; message
 * ids in the Java client's form; `server.address` / `server.port` when the
 * client names its broker; the settle event at ack. The key as is (keyscope
 * hashes it by default, which counts against keyscope). No metrics, no
 * per-key tracking. Keep it in step with src/telemetry/spans.ts.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  context,
  propagation,
  trace,
  type Attributes,
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

/** The broker a client talks to, as spans name it (`server.address`, `server.port`). */
export interface Server {
  address: string;
  port: number;
}

function serverAttributes(server: Server | undefined): Attributes {
  return server === undefined ? {} : { 'server.address': server.address, 'server.port': server.port };
}

/** Start options of a send span: the attributes the conventions list as relevant for sampling. */
export function sendSpanOptions(topic: string, server?: Server): SpanOptions {
  return {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.system': 'pulsar',
      'messaging.destination.name': topic,
      ...serverAttributes(server),
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
    },
  };
}

/** Start options of a process span: the attributes the conventions list as relevant for sampling. */
export function processSpanOptions(topic: string, subscription: string, server?: Server): SpanOptions {
  return {
    kind: SpanKind.CONSUMER,
    attributes: {
      'messaging.system': 'pulsar',
      'messaging.destination.name': topic,
      ...serverAttributes(server),
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.destination.subscription.name': subscription,
    },
  };
}

/** `(ledger,entry,partition,batchIndex)` in the form the Java client prints: `ledger:entry:partition[:batchIndex]`. */
function javaForm(id: { toString(): string }): string {
  const text = String(id);
  if (!text.startsWith('(') || !text.endsWith(')')) return text;
  const [ledger, entry, partition, batchIndex] = text.slice(1, -1).split(',');
  const base = `${ledger}:${entry}:${partition}`;
  return batchIndex === undefined || batchIndex.startsWith('-') ? base : `${base}:${batchIndex}`;
}

const ACK_EVENT = { 'messaging.operation.name': 'ack', 'messaging.operation.type': 'settle' };

export class HandWrittenTelemetry {
  private readonly producerId = 'Xq3_bench-prod';
  private readonly consumerId = 'Yr4_bench-cons';
  private lastSeq = 0;
  private readonly sendName: string;
  private readonly processName: string;
  private readonly sendOptions: SpanOptions;
  private readonly processAttributes: Attributes;

  /** `server`: the broker, when the client's service URL names one (keyscope records it then). */
  constructor(
    private readonly tracer: Tracer,
    topic: string,
    subscription: string,
    private readonly subscriptionType: string,
    server?: Server,
  ) {
    this.sendName = `send ${topic}`;
    this.processName = `process ${topic}`;
    this.sendOptions = sendSpanOptions(topic, server);
    this.processAttributes = processSpanOptions(topic, subscription, server).attributes as Attributes;
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
    if (span.isRecording()) span.setAttribute('messaging.message.id', javaForm(id));
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
    // A child of the producer's span that also links to it, as keyscope's (and the Java agent's) process spans do.
    const producer = trace.getSpanContext(extracted);
    const span = this.tracer.startSpan(
      this.processName,
      {
        kind: SpanKind.CONSUMER,
        attributes: this.processAttributes,
        ...(producer === undefined ? {} : { links: [{ context: producer }] }),
      },
      extracted,
    );
    if (span.isRecording()) {
      span.setAttribute('messaging.pulsar.subscription.type', this.subscriptionType);
      span.setAttribute('messaging.pulsar.message.key', message.getPartitionKey());
      span.setAttribute('messaging.message.id', javaForm(message.getMessageId()));
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
