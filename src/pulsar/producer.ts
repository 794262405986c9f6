/**
 * Producer wrapper: stamps a copy of each message (trace context through the
 * global propagator, `keyscope-producer`, `keyscope-seq`), opens the `send`
 * span and counts sends. The caller's message object is never mutated.
 */
import { context, propagation, trace, type Span } from '@opentelemetry/api';
import { propertySetter } from '../context/carrier.js';
import { PRODUCER_PROPERTY, ProducerStamp, SEQ_PROPERTY } from '../context/stamps.js';
import type { TopicInstruments } from '../telemetry/metrics.js';
import { Destination, hasContext } from '../telemetry/spans.js';
import { parseTopicName } from '../telemetry/topicName.js';
import { producerMessageKey } from './keys.js';
import { logInternal, runHook, type Pipeline } from './pipeline.js';
import { overlay } from './overlay.js';
import type { MessageIdLike, ProducerLike, ProducerMessageLike, PropertyMap } from './types.js';

export interface InstrumentProducerOptions {
  /** Topic label and span destination; defaults to `producer.getTopic()`. */
  topic?: string;
}

/** One send between the call and the broker's answer. */
interface SendOperation {
  outgoing: ProducerMessageLike;
  span: Span;
  startedAt: number;
}

class ProducerInstrumentation {
  private readonly stamp = new ProducerStamp();
  private readonly destination: Destination;
  private readonly instruments: TopicInstruments;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly producer: ProducerLike,
    readonly topic: string,
  ) {
    this.destination = new Destination(parseTopicName(topic));
    this.instruments = pipeline.metrics.topic(this.destination.topic.base);
  }

  send(message: ProducerMessageLike): Promise<MessageIdLike> {
    const pipeline = this.pipeline;
    if (!pipeline.active) return this.producer.send(message);
    let operation: SendOperation;
    try {
      operation = this.prepare(message);
    } catch (error) {
      logInternal(error);
      return this.producer.send(message);
    }
    let sent: Promise<MessageIdLike>;
    try {
      sent = this.producer.send(operation.outgoing);
    } catch (error) {
      this.finish(operation, false, undefined, error);
      throw error;
    }
    return sent.then(
      (messageId) => {
        this.finish(operation, true, messageId, undefined);
        return messageId;
      },
      (error: unknown) => {
        this.finish(operation, false, undefined, error);
        throw error;
      },
    );
  }

  private prepare(message: ProducerMessageLike): SendOperation {
    const pipeline = this.pipeline;
    const original: unknown = message.properties;
    const properties: PropertyMap = {};
    if (original !== null && typeof original === 'object') {
      Object.assign(properties, original);
      if (Object.prototype.hasOwnProperty.call(original, PRODUCER_PROPERTY) || Object.prototype.hasOwnProperty.call(original, SEQ_PROPERTY)) {
        // Usually a consumed message forwarded with its properties: the new hop's stamps replace the old ones.
        pipeline.countContextError(this.destination.topic.base, 'reserved_property_present');
      }
    }
    const seq = this.stamp.nextSeq();
    properties[PRODUCER_PROPERTY] = this.stamp.producerId;
    properties[SEQ_PROPERTY] = String(seq);
    const key = producerMessageKey(message);
    const active = context.active();
    const span = pipeline.spans.startSend(this.destination, active, key, this.stamp.producerId, seq);
    // Without tracing our span is invalid; the active context (its baggage, an app span) still propagates.
    propagation.inject(hasContext(span) ? trace.setSpan(active, span) : active, properties, propertySetter);
    const outgoing: ProducerMessageLike = { ...message, properties };
    runHook(pipeline.producerHook, span, { topic: this.topic, message: outgoing });
    return { outgoing, span, startedAt: pipeline.clock() };
  }

  private finish(inFlight: SendOperation, succeeded: boolean, messageId: MessageIdLike | undefined, error: unknown): void {
    try {
      const instruments = this.instruments;
      instruments.sendDuration.observe(Math.max(0, this.pipeline.clock() - inFlight.startedAt) / 1000);
      if (succeeded) {
        instruments.sent.inc();
        this.pipeline.spans.endSend(inFlight.span, messageId);
      } else {
        instruments.sendErrors.inc();
        this.pipeline.spans.endSendWithError(inFlight.span, error);
      }
    } catch (internal) {
      logInternal(internal);
    }
  }
}

export function instrumentProducer<P extends ProducerLike>(pipeline: Pipeline, producer: P, options: InstrumentProducerOptions = {}): P {
  let topic = options.topic;
  if (topic === undefined) {
    try {
      topic = producer.getTopic();
    } catch {
      topic = undefined;
    }
  }
  const instrumentation = new ProducerInstrumentation(pipeline, producer, typeof topic === 'string' && topic !== '' ? topic : 'unknown');
  return overlay(producer, {
    send: (message: ProducerMessageLike) => instrumentation.send(message),
  });
}
