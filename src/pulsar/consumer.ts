/**
 * Consumer wrapper: every delivery (receive, batchReceive, listener) is
 * registered with the tracker, gets a `process` span and is counted; ack and
 * nack settle it. Ack semantics are untouched: every call reaches the
 * original consumer with the original arguments, and its result or error is
 * returned as is.
 */
import { context, trace, type Span } from '@opentelemetry/api';
import { IncomingStamps } from '../context/incoming.js';
import { newInstanceId } from '../context/stamps.js';
import * as semconv from '../semconv.js';
import type { StreamInstruments } from '../telemetry/metrics.js';
import { Destination, sampledTraceId, type SettleKind } from '../telemetry/spans.js';
import { parseTopicName } from '../telemetry/topicName.js';
import type { Delivery, Stream } from '../tracking/tracker.js';
import { logInternal, runHook, type Pipeline } from './pipeline.js';
import { overlay } from './overlay.js';
import type { ConsumerLike, MessageIdLike, MessageLike, SubscriptionTypeName } from './types.js';

export interface InstrumentConsumerOptions {
  /** Subscription name: a label on every consumer metric. */
  subscription: string;
  /** Recorded as `messaging.pulsar.subscription.type`. */
  subscriptionType?: SubscriptionTypeName;
  /** Used when a message does not report its topic. */
  topic?: string;
}

/** Telemetry state of one delivery, attached to the tracker's record. */
export class DeliveryTelemetry {
  windowOpen = false;
  settled = false;
  spanEnded = false;
  messageId: string | undefined = undefined;

  constructor(
    readonly span: Span,
    readonly instruments: StreamInstruments,
    readonly owner: ConsumerInstrumentation,
    readonly message: MessageLike,
    readonly topicName: string,
    readonly publishTimestamp: number,
  ) {}
}

type TelemetryDelivery = Delivery<DeliveryTelemetry>;

/** Per (topic) cache of a consumer's stream, destination and instruments. */
interface TopicRoute {
  stream: Stream;
  destination: Destination;
  instruments: StreamInstruments;
}

export class ConsumerInstrumentation {
  readonly consumerId = newInstanceId();
  private readonly stamps = new IncomingStamps();
  private readonly routes = new Map<string, TopicRoute>();
  /** This consumer's deliveries in flight, in receive order. */
  private readonly inflight = new Map<MessageLike, TelemetryDelivery>();
  /** Built on first use of an id-based ack; from then on kept current. */
  private byMessageId: Map<string, TelemetryDelivery> | undefined = undefined;
  private wrapped: ConsumerLike | undefined = undefined;

  constructor(
    private readonly pipeline: Pipeline,
    readonly options: InstrumentConsumerOptions,
  ) {}

  /** The instrumented view of `consumer` (created once). */
  wrap<C extends ConsumerLike>(consumer: C): C {
    if (this.wrapped !== undefined) return this.wrapped as C;
    const raw: ConsumerLike = consumer;
    const wrapped = overlay(consumer, {
      receive: (...args: [number?]) => raw.receive(...args).then((message) => this.deliverSafely(message)),
      batchReceive: () => {
        const batch = raw.batchReceive?.();
        if (batch === undefined) throw new TypeError('batchReceive is not supported by this consumer');
        return batch.then((messages) => {
          for (const message of messages) this.deliverSafely(message);
          return messages;
        });
      },
      acknowledge: (message: MessageLike) => {
        const result = raw.acknowledge(message);
        this.settleMessage(message, 'ack');
        return result;
      },
      acknowledgeId: (messageId: MessageIdLike) => {
        const result = raw.acknowledgeId(messageId);
        this.settleId(messageId, 'ack');
        return result;
      },
      negativeAcknowledge: (message: MessageLike) => {
        raw.negativeAcknowledge(message);
        this.settleMessage(message, 'nack');
      },
      negativeAcknowledgeId: (messageId: MessageIdLike) => {
        raw.negativeAcknowledgeId(messageId);
        this.settleId(messageId, 'nack');
      },
      acknowledgeCumulative: (message: MessageLike) => {
        const result = raw.acknowledgeCumulative(message);
        this.settleCumulative(this.inflight.get(message));
        return result;
      },
      acknowledgeCumulativeId: (messageId: MessageIdLike) => {
        const result = raw.acknowledgeCumulativeId?.(messageId);
        if (result === undefined) throw new TypeError('acknowledgeCumulativeId is not supported by this consumer');
        this.settleCumulative(this.findById(messageId));
        return result;
      },
      close: (...args: unknown[]) => {
        this.releaseAll();
        return (raw.close as (...a: unknown[]) => Promise<null>)(...args);
      },
      unsubscribe: (...args: unknown[]) => {
        this.releaseAll();
        return (raw.unsubscribe as (...a: unknown[]) => Promise<null>)(...args);
      },
    });
    this.wrapped = wrapped;
    return wrapped;
  }

  /** Wraps a listener so that each call is a delivery with a processing window. */
  wrapListener(listener: (message: MessageLike, consumer: ConsumerLike) => unknown): (message: MessageLike, consumer: ConsumerLike) => unknown {
    return (message, consumer) => {
      const wrappedConsumer = this.wrap(consumer);
      this.deliverSafely(message);
      return this.runWindow(message, () => listener(message, wrappedConsumer));
    };
  }

  /**
   * Runs `fn` inside the message's `process` span and processing window.
   * The window ends when `fn` returns or, for a promise, when it settles.
   */
  runWindow<T>(message: MessageLike, fn: () => T): T {
    const delivery = this.pipeline.active ? this.pipeline.deliveries.get(message) as TelemetryDelivery | undefined : undefined;
    if (delivery === undefined || delivery.attachment === undefined) return fn();
    const opened = this.openWindow(delivery);
    const telemetry = delivery.attachment;
    let result: T;
    try {
      result = context.with(trace.setSpan(context.active(), telemetry.span), fn);
    } catch (error) {
      if (opened) this.closeWindow(delivery, error);
      throw error;
    }
    if (opened) {
      if (isThenable(result)) {
        result.then(
          () => this.closeWindow(delivery, undefined),
          (error: unknown) => this.closeWindow(delivery, error),
        );
      } else {
        this.closeWindow(delivery, undefined);
      }
    }
    return result;
  }

  private openWindow(delivery: TelemetryDelivery): boolean {
    try {
      const telemetry = delivery.attachment as DeliveryTelemetry;
      if (telemetry.windowOpen) return false;
      telemetry.windowOpen = true;
      if (this.pipeline.tracker.beginWindow(delivery)) {
        telemetry.instruments.violations.concurrent.inc();
        telemetry.span.setAttribute(semconv.ATTR_KEYSCOPE_VIOLATION, 'concurrent');
      }
      return true;
    } catch (error) {
      logInternal(error);
      return false;
    }
  }

  private closeWindow(delivery: TelemetryDelivery, error: unknown): void {
    try {
      const telemetry = delivery.attachment as DeliveryTelemetry;
      telemetry.windowOpen = false;
      this.pipeline.tracker.endWindow(delivery);
      if (error !== undefined && telemetry.span.isRecording()) {
        telemetry.span.setAttribute(semconv.ATTR_ERROR_TYPE, error instanceof Error ? error.name || 'Error' : typeof error);
      }
      if (telemetry.settled) endSpan(telemetry);
    } catch (internal) {
      logInternal(internal);
    }
  }

  /** Registers a delivery; never throws, always returns the message unchanged. */
  deliverSafely(message: MessageLike): MessageLike {
    if (!this.pipeline.active) return message;
    try {
      this.deliver(message);
    } catch (error) {
      logInternal(error);
    }
    return message;
  }

  private deliver(message: MessageLike): void {
    const pipeline = this.pipeline;
    if (this.inflight.has(message)) return;
    const now = pipeline.clock();
    // Everything read from the message is read before the tracker is told,
    // so a throwing accessor cannot leave a half-registered delivery behind.
    const route = this.route(message);
    const stamps = this.stamps.read(message.getProperties());
    const key = messageKey(message);
    const redeliveryCount = typeof message.getRedeliveryCount === 'function' ? Number(message.getRedeliveryCount()) || 0 : 0;
    const publishTimestamp = Number(message.getPublishTimestamp()) || 0;
    const topic = route.destination.topic.base;
    if (stamps.firstError !== undefined) pipeline.countContextErrors(topic, stamps);
    if (redeliveryCount > 0) this.releaseEarlierDeliveryOf(message);

    const span = pipeline.spans.startProcess(route.destination, stamps.context);
    const delivery = pipeline.tracker.deliver<DeliveryTelemetry>(route.stream, key, stamps.producer, stamps.seq, redeliveryCount, now);
    const telemetry = new DeliveryTelemetry(span, route.instruments, this, message, topicNameOf(message), publishTimestamp);
    delivery.attachment = telemetry;
    this.inflight.set(message, delivery);
    pipeline.deliveries.set(message, delivery as Delivery);

    const instruments = route.instruments;
    instruments.received.inc();
    if (redeliveryCount > 0) instruments.redeliveries.inc();
    if (delivery.violation !== undefined) instruments.violations[delivery.violation].inc();
    if (this.byMessageId !== undefined) {
      telemetry.messageId = String(message.getMessageId());
      this.byMessageId.set(telemetry.messageId, delivery);
    }
    if (span.isRecording()) {
      const partition = route.destination.topic.partitionId;
      if (partition !== undefined) span.setAttribute(semconv.ATTR_MESSAGING_DESTINATION_PARTITION_ID, partition);
      pipeline.spans.setKey(span, key);
      span.setAttribute(semconv.ATTR_MESSAGING_MESSAGE_ID, telemetry.messageId ?? String(message.getMessageId()));
      span.setAttribute(semconv.ATTR_MESSAGING_PULSAR_REDELIVERY_COUNT, redeliveryCount);
      span.setAttribute(semconv.ATTR_KEYSCOPE_CONSUMER, this.consumerId);
      if (stamps.producer !== undefined) {
        span.setAttribute(semconv.ATTR_KEYSCOPE_PRODUCER, stamps.producer);
        span.setAttribute(semconv.ATTR_KEYSCOPE_SEQ, stamps.seq);
      }
      if (delivery.violation !== undefined) span.setAttribute(semconv.ATTR_KEYSCOPE_VIOLATION, delivery.violation);
    }
    runHook(pipeline.consumerHook, span, { topic, subscription: this.options.subscription, message });
  }

  private route(message: MessageLike): TopicRoute {
    const topicName = topicNameOf(message) || this.options.topic || 'unknown';
    let route = this.routes.get(topicName);
    if (route === undefined) {
      const parsed = parseTopicName(topicName);
      const subscription = this.options.subscription;
      route = {
        stream: this.pipeline.tracker.stream(parsed.base, subscription),
        destination: new Destination(parsed, subscription, this.options.subscriptionType),
        instruments: this.pipeline.metrics.stream(parsed.base, subscription),
      };
      this.routes.set(topicName, route);
    }
    return route;
  }

  private settleMessage(message: MessageLike, kind: SettleKind): void {
    try {
      const delivery = this.inflight.get(message) ?? (this.pipeline.deliveries.get(message) as TelemetryDelivery | undefined);
      if (delivery !== undefined) delivery.attachment?.owner.settle(delivery, kind);
    } catch (error) {
      logInternal(error);
    }
  }

  private settleId(messageId: MessageIdLike, kind: SettleKind): void {
    try {
      const delivery = this.findById(messageId);
      if (delivery !== undefined) this.settle(delivery, kind);
    } catch (error) {
      logInternal(error);
    }
  }

  /** Cumulative ack: this delivery and every earlier one of this consumer on the same topic partition. */
  private settleCumulative(last: TelemetryDelivery | undefined): void {
    try {
      if (last === undefined || last.attachment === undefined) return;
      const topicName = last.attachment.topicName;
      for (const delivery of [...this.inflight.values()]) {
        if (delivery.attachment?.topicName === topicName) this.settle(delivery, 'ack_cumulative');
        if (delivery === last) break;
      }
    } catch (error) {
      logInternal(error);
    }
  }

  private findById(messageId: MessageIdLike): TelemetryDelivery | undefined {
    if (this.byMessageId === undefined) {
      this.byMessageId = new Map();
      for (const delivery of this.inflight.values()) {
        const telemetry = delivery.attachment;
        if (telemetry === undefined) continue;
        telemetry.messageId = String(telemetry.message.getMessageId());
        this.byMessageId.set(telemetry.messageId, delivery);
      }
    }
    return this.byMessageId.get(String(messageId));
  }

  /**
   * A redelivery (after an ack timeout) of a message this consumer still
   * holds supersedes the earlier delivery, which would otherwise look stalled
   * forever. Redeliveries are rare, so a scan is fine.
   */
  private releaseEarlierDeliveryOf(message: MessageLike): void {
    const id = String(message.getMessageId());
    for (const delivery of this.inflight.values()) {
      const telemetry = delivery.attachment;
      if (telemetry === undefined) continue;
      telemetry.messageId ??= String(telemetry.message.getMessageId());
      if (telemetry.messageId === id) {
        this.release(delivery);
        return;
      }
    }
  }

  settle(delivery: TelemetryDelivery, kind: SettleKind): void {
    const telemetry = delivery.attachment;
    if (telemetry === undefined || telemetry.settled) return;
    const pipeline = this.pipeline;
    const now = pipeline.clock();
    this.release(delivery);
    const instruments = telemetry.instruments;
    const traceId = sampledTraceId(telemetry.span);
    if (kind === 'nack') instruments.nacked.inc();
    else instruments.acked.inc();
    pipeline.metrics.observeProcessing(instruments, Math.max(0, now - delivery.receivedAt) / 1000, traceId);
    if (kind !== 'nack' && telemetry.publishTimestamp > 0) {
      pipeline.metrics.observeEndToEnd(instruments, Math.max(0, now - telemetry.publishTimestamp) / 1000, traceId);
    }
    pipeline.spans.settle(telemetry.span, kind);
    if (!telemetry.windowOpen) endSpan(telemetry);
  }

  /** Takes a delivery out of flight without counting an ack (settle, supersede, close). */
  private release(delivery: TelemetryDelivery): void {
    const telemetry = delivery.attachment;
    if (telemetry === undefined) return;
    telemetry.settled = true;
    this.pipeline.tracker.settle(delivery as Delivery);
    this.inflight.delete(telemetry.message);
    this.pipeline.deliveries.delete(telemetry.message);
    if (this.byMessageId !== undefined && telemetry.messageId !== undefined) this.byMessageId.delete(telemetry.messageId);
  }

  /** On close/unsubscribe the broker redelivers what this consumer held; stop tracking it here. */
  releaseAll(): void {
    try {
      for (const delivery of [...this.inflight.values()]) {
        const telemetry = delivery.attachment;
        this.release(delivery);
        if (telemetry !== undefined) {
          this.pipeline.spans.settle(telemetry.span, 'closed');
          if (!telemetry.windowOpen) endSpan(telemetry);
        }
      }
    } catch (error) {
      logInternal(error);
    }
  }
}

function endSpan(telemetry: DeliveryTelemetry): void {
  if (telemetry.spanEnded) return;
  telemetry.spanEnded = true;
  telemetry.span.end();
}

/** A message's key: its ordering key if set, else its partition key; undefined when keyless. */
export function messageKey(message: MessageLike): string | undefined {
  const ordering = typeof message.getOrderingKey === 'function' ? message.getOrderingKey() : undefined;
  if (typeof ordering === 'string' && ordering !== '') return ordering;
  const partition = message.getPartitionKey();
  return typeof partition === 'string' && partition !== '' ? partition : undefined;
}

function topicNameOf(message: MessageLike): string {
  const name: unknown = message.getTopicName();
  return typeof name === 'string' ? name : '';
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

export function instrumentConsumer<C extends ConsumerLike>(pipeline: Pipeline, consumer: C, options: InstrumentConsumerOptions): C {
  return new ConsumerInstrumentation(pipeline, options).wrap(consumer);
}
