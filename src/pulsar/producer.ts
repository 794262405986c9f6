/**
 * Producer wrapper: stamps a copy of each message (trace context through the
 * global propagator, `keyscope-producer`, `keyscope-seq`), opens the `send`
 * span and counts sends. The caller's message object is never mutated.
 */
import { context, propagation, trace, type Span, type TextMapSetter } from '@opentelemetry/api';
import { PRODUCER_PROPERTY, ProducerStamp, SEQ_PROPERTY } from '../context/stamps.js';
import type { TopicInstruments } from '../telemetry/metrics.js';
import { parseServiceUrl } from '../telemetry/server-address.js';
import { Destination, hasContext } from '../telemetry/spans.js';
import { parseTopicName } from '../telemetry/topic-name.js';
import { producerMessageKey } from './keys.js';
import { copyMessageFields, copyProperties } from './message-copy.js';
import { isThenable, logInternal, runHook, type Pipeline } from './pipeline.js';
import { overlay } from './overlay.js';
import type { MessageIdLike, ProducerLike, ProducerMessageLike, PropertyMap } from './types.js';

export interface InstrumentProducerOptions {
  /** Topic label and span destination; defaults to `producer.getTopic()`. */
  topic?: string;
  /** The client's service URL: `server.address` / `server.port` on spans (instrumentClient knows it). */
  serviceUrl?: string;
}

class ProducerInstrumentation {
  private readonly stamp = new ProducerStamp();
  private readonly destination: Destination;
  private readonly instruments: TopicInstruments;
  /** Whether the message being stamped had a property of ours or of the propagator (set per send; sends are synchronous up to here). */
  private replacedUserProperty = false;
  private readonly setter: TextMapSetter<PropertyMap> = {
    set: (carrier, key, value) => {
      if (Object.hasOwn(carrier, key)) this.replacedUserProperty = true;
      carrier[key] = value;
    },
  };

  constructor(
    private readonly pipeline: Pipeline,
    private readonly producer: ProducerLike,
    readonly topic: string,
    serviceUrl: string | undefined,
  ) {
    this.destination = new Destination(parseTopicName(topic), undefined, undefined, parseServiceUrl(serviceUrl));
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
    } catch {
      // A getter of the message threw: the client gets the message as given, and decides.
      this.pipeline.countContextError(this.destination.topic.base, 'unreadable_message');
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

  /**
   * A copy of the message with our stamps; the caller's object and its
   * properties stay untouched. Properties that are not an object cannot carry
   * stamps: the message is sent as given, counted as `invalid_properties`.
   */
  private stampedCopy(message: ProducerMessageLike): ProducerMessageLike {
    const outgoing = copyMessageFields(message);
    const original: unknown = outgoing.properties;
    if (original !== undefined && (original === null || typeof original !== 'object')) {
      this.pipeline.countContextError(this.destination.topic.base, 'invalid_properties');
      return message;
    }
    const properties = original === undefined ? {} : copyProperties(original);
    // Usually a consumed message forwarded with its properties: the new hop's stamps replace the old ones.
    this.replacedUserProperty = Object.hasOwn(properties, PRODUCER_PROPERTY) || Object.hasOwn(properties, SEQ_PROPERTY);
    properties[PRODUCER_PROPERTY] = this.stamp.producerId;
    properties[SEQ_PROPERTY] = String(this.stamp.nextSeq());
    outgoing.properties = properties;
    return outgoing;
  }

  /** Opens the send span and writes the trace context into the outgoing properties (unless sent as given). */
  private startSpan(message: ProducerMessageLike, outgoing: ProducerMessageLike): Span {
    const pipeline = this.pipeline;
    const active = context.active();
    const spans = pipeline.spans;
    const span = spans.startSend(this.destination, active);
    // Attribute values cost work (the key hash); a span that records nothing gets none.
    if (span.isRecording())
      spans.describeSend(span, producerMessageKey(outgoing), this.stamp.producerId, this.stamp.lastSeq, outgoing.data);
    if (outgoing !== message) {
      // Without tracing our span is invalid; the active context (its baggage, an app span) still propagates.
      propagation.inject(hasContext(span) ? trace.setSpan(active, span) : active, outgoing.properties as PropertyMap, this.setter);
      // A user's own traceparent (or other propagator field) is replaced by ours: counted, once per message.
      if (this.replacedUserProperty) this.pipeline.countContextError(this.destination.topic.base, 'reserved_property_present');
    }
    if (pipeline.producerHook !== undefined) runHook(pipeline.producerHook, span, { topic: this.topic, message: outgoing });
    return span;
  }

  private succeeded(span: Span, startedAt: number, messageId: MessageIdLike | undefined): void {
    try {
      const instruments = this.instruments;
      instruments.sendDuration.observe(Math.max(0, this.pipeline.clock() - startedAt) / 1000);
      instruments.sent.inc();
      this.pipeline.spans.endSend(span, this.destination, messageId);
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
  // Stamped twice, every message would count as reserved_property_present.
  if (pipeline.alreadyInstrumented('producer', producer)) return producer;
  const known = pipeline.wrappers.get(producer);
  if (known !== undefined) return known as P;
  let topic = options.topic;
  if (topic === undefined) {
    try {
      topic = producer.getTopic();
    } catch {
      topic = undefined;
    }
  }
  const instrumentation = new ProducerInstrumentation(
    pipeline,
    producer,
    typeof topic === 'string' && topic !== '' ? topic : 'unknown',
    options.serviceUrl,
  );
  const wrapped = overlay(producer, {
    send: (message: ProducerMessageLike) => instrumentation.send(message),
  });
  pipeline.wrappers.set(producer, wrapped);
  return wrapped;
}
