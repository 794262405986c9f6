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
import { parseTopicName } from '../telemetry/topic-name.js';
import { producerMessageKey } from './keys.js';
import { isThenable, logInternal, runHook, type Pipeline } from './pipeline.js';
import { overlay } from './overlay.js';
import type { MessageIdLike, ProducerLike, ProducerMessageLike, PropertyMap } from './types.js';

export interface InstrumentProducerOptions {
  /** Topic label and span destination; defaults to `producer.getTopic()`. */
  topic?: string;
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

  /**
   * Returns the client's own promise: our completion handlers are attached
   * first, so they run before the caller's, and the caller sees exactly what
   * the client returned.
   */
  send(message: ProducerMessageLike): Promise<MessageIdLike> {
    const pipeline = this.pipeline;
    if (!pipeline.active) return this.producer.send(message);
    let outgoing: ProducerMessageLike;
    let span: Span;
    let startedAt: number;
    try {
      outgoing = this.stampedCopy(message);
      span = this.startSpan(message, outgoing);
      startedAt = pipeline.clock();
    } catch (error) {
      logInternal(error);
      return this.producer.send(message);
    }
    let sent: Promise<MessageIdLike>;
    try {
      sent = this.producer.send(outgoing);
    } catch (error) {
      this.failed(span, startedAt, error);
      throw error;
    }
    if (isThenable(sent)) {
      sent.then(
        (messageId) => this.succeeded(span, startedAt, messageId),
        (error: unknown) => this.failed(span, startedAt, error),
      );
    } else {
      this.succeeded(span, startedAt, undefined);
    }
    return sent;
  }

  /** A copy of the message with our stamps; the caller's object and its properties stay untouched. */
  private stampedCopy(message: ProducerMessageLike): ProducerMessageLike {
    const original: unknown = message.properties;
    let properties: PropertyMap;
    if (original !== null && typeof original === 'object') {
      // Object.assign, not spread: a spread copy slows down when properties are added to it.
      properties = Object.assign({}, original as PropertyMap);
      if (Object.prototype.hasOwnProperty.call(original, PRODUCER_PROPERTY) || Object.prototype.hasOwnProperty.call(original, SEQ_PROPERTY)) {
        // Usually a consumed message forwarded with its properties: the new hop's stamps replace the old ones.
        this.pipeline.countContextError(this.destination.topic.base, 'reserved_property_present');
      }
    } else {
      properties = {};
    }
    properties[PRODUCER_PROPERTY] = this.stamp.producerId;
    properties[SEQ_PROPERTY] = String(this.stamp.nextSeq());
    return { ...message, properties };
  }

  /** Opens the send span and writes the trace context into the outgoing properties. */
  private startSpan(message: ProducerMessageLike, outgoing: ProducerMessageLike): Span {
    const pipeline = this.pipeline;
    const properties = outgoing.properties as PropertyMap;
    const active = context.active();
    const spans = pipeline.spans;
    const span = spans.startSend(this.destination, active);
    // Attribute values cost work (the key hash); a span that records nothing gets none.
    if (span.isRecording()) spans.describeSend(span, producerMessageKey(message), this.stamp.producerId, this.stamp.lastSeq);
    // Without tracing our span is invalid; the active context (its baggage, an app span) still propagates.
    propagation.inject(hasContext(span) ? trace.setSpan(active, span) : active, properties, propertySetter);
    if (pipeline.producerHook !== undefined) runHook(pipeline.producerHook, span, { topic: this.topic, message: outgoing });
    return span;
  }

  private succeeded(span: Span, startedAt: number, messageId: MessageIdLike | undefined): void {
    try {
      const instruments = this.instruments;
      instruments.sendDuration.observe(Math.max(0, this.pipeline.clock() - startedAt) / 1000);
      instruments.sent.inc();
      this.pipeline.spans.endSend(span, messageId);
    } catch (internal) {
      logInternal(internal);
    }
  }

  private failed(span: Span, startedAt: number, error: unknown): void {
    try {
      const instruments = this.instruments;
      instruments.sendDuration.observe(Math.max(0, this.pipeline.clock() - startedAt) / 1000);
      instruments.sendErrors.inc();
      this.pipeline.spans.endSendWithError(span, error);
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
