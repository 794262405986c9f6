/**
 * Consumer wrapper: every delivery (receive, batchReceive, listener) is
 * registered with the tracker, gets a `process` span and is counted; ack and
 * nack settle it. Ack semantics are untouched: every call reaches the
 * original consumer with the original arguments, and its result or error is
 * returned as is.
 */
import { ROOT_CONTEXT, context, trace, type Context, type Span } from '@opentelemetry/api';
import { IncomingStamps } from '../context/incoming.js';
import { newInstanceId } from '../context/stamps.js';
import * as semconv from '../semconv.js';
import type { StreamInstruments } from '../telemetry/metrics.js';
import { Destination, hasContext, recordError, sampledTraceId, type SettleKind } from '../telemetry/spans.js';
import { parseTopicName } from '../telemetry/topic-name.js';
import { Delivery, type Stream } from '../tracking/tracker.js';
import { messageKey } from './keys.js';
import { isThenable, logInternal, runHook, type Pipeline } from './pipeline.js';
import { overlay } from './overlay.js';
import type { ConsumerLike, MessageIdLike, MessageLike, SubscriptionTypeName } from './types.js';

export interface InstrumentConsumerOptions {
  /** Subscription name: a label on every consumer metric. */
  subscription: string;
  /** Recorded as `messaging.pulsar.subscription.type`. */
  subscriptionType?: SubscriptionTypeName;
  /** Used when a message does not report its topic. */
  topic?: string;
  /**
   * The consumer's `ackTimeoutMs`, if set: a delivery in flight longer than
   * this is expected back from the client's redelivery (taken from the
   * subscribe config by instrumentClient and PulsarInstrumentation).
   */
  ackTimeoutMs?: number;
  /** The consumer's `nAckRedeliverTimeoutMs` (pulsar-client's default: 60000), when a nacked message is expected back. */
  nAckRedeliverTimeoutMs?: number;
}

/** pulsar-client's default delay before a negatively acknowledged message is redelivered. */
const DEFAULT_NACK_REDELIVERY_DELAY_MS = 60_000;

/**
 * A delivery with its telemetry: the one object a received message costs.
 * (In flight and in a processing window are the tracker's `inflight` and
 * `inWindow` flags.)
 */
export class ConsumerDelivery extends Delivery {
  spanEnded = false;
  /** Its ack timeout passed: the client redelivers it (recorded once). */
  redeliveryExpected = false;
  messageId: string | undefined = undefined;
  span!: Span;
  /** The context the process span was started in (extracted from the message). */
  parentContext: Context = ROOT_CONTEXT;
  /** This consumer's in-flight deliveries, in receive order. */
  previousOfConsumer: ConsumerDelivery | undefined = undefined;
  nextOfConsumer: ConsumerDelivery | undefined = undefined;

  constructor(
    stream: Stream,
    key: string | undefined,
    receivedAt: number,
    readonly owner: ConsumerInstrumentation,
    readonly message: MessageLike,
    readonly route: TopicRoute,
    readonly publishTimestamp: number,
  ) {
    super(stream, key, receivedAt);
  }
}

/** Per topic (as the message reports it, partition included) cache of a consumer's stream, destination and instruments. */
interface TopicRoute {
  readonly stream: Stream;
  readonly destination: Destination;
  readonly instruments: StreamInstruments;
}

export class ConsumerInstrumentation {
  readonly consumerId = newInstanceId();
  private readonly stamps = new IncomingStamps();
  private readonly routes = new Map<string, TopicRoute>();
  /** This consumer's deliveries in flight, in receive order (linked through the deliveries). */
  private oldest: ConsumerDelivery | undefined = undefined;
  private newest: ConsumerDelivery | undefined = undefined;
  /** Built on first use of an id-based ack; from then on kept current. */
  private byMessageId: Map<string, ConsumerDelivery> | undefined = undefined;
  private wrapped: ConsumerLike | undefined = undefined;
  private readonly nackRedeliveryDelayMs: number;
  private readonly ackTimeoutMs: number | undefined;
  /**
   * Exclusive and Failover consumers answer an ack timeout by redelivering
   * everything unacknowledged, not only the messages that timed out.
   */
  private readonly redeliversAllOnAckTimeout: boolean;

  constructor(
    private readonly pipeline: Pipeline,
    readonly options: InstrumentConsumerOptions,
  ) {
    this.nackRedeliveryDelayMs = nonNegative(options.nAckRedeliverTimeoutMs) ?? DEFAULT_NACK_REDELIVERY_DELAY_MS;
    const ackTimeoutMs = nonNegative(options.ackTimeoutMs);
    this.ackTimeoutMs = ackTimeoutMs === 0 ? undefined : ackTimeoutMs;
    this.redeliversAllOnAckTimeout = options.subscriptionType !== 'Shared' && options.subscriptionType !== 'KeyShared';
  }

  /** The instrumented view of `consumer` (created once). */
  wrap<C extends ConsumerLike>(consumer: C): C {
    if (this.wrapped !== undefined) return this.wrapped as C;
    const raw: ConsumerLike = consumer;
    const deliverOne = (message: MessageLike): MessageLike => {
      this.deliverSafely(message);
      return message;
    };
    const wrapped = overlay(consumer, {
      receive: (timeout?: number) => (timeout === undefined ? raw.receive() : raw.receive(timeout)).then(deliverOne),
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
        this.settleCumulativeWhenDone(result, () => this.ownDelivery(message));
        return result;
      },
      acknowledgeCumulativeId: (messageId: MessageIdLike) => {
        const result = raw.acknowledgeCumulativeId?.(messageId);
        if (result === undefined) throw new TypeError('acknowledgeCumulativeId is not supported by this consumer');
        this.settleCumulativeWhenDone(result, () => this.findById(messageId));
        return result;
      },
      close: (...args: unknown[]) => {
        // The broker hands what this consumer held to the next consumer, possibly with redelivery count 0.
        this.releaseAll(true);
        this.pipeline.consumers.delete(this);
        return (raw.close as (...a: unknown[]) => Promise<null>)(...args);
      },
      unsubscribe: (...args: unknown[]) => {
        this.releaseAll(false);
        this.pipeline.consumers.delete(this);
        return (raw.unsubscribe as (...a: unknown[]) => Promise<null>)(...args);
      },
    });
    this.wrapped = wrapped;
    this.pipeline.consumers.add(this);
    return wrapped;
  }

  /** Wraps a listener so that each call is a delivery with a processing window. */
  wrapListener(listener: (message: MessageLike, consumer: ConsumerLike) => unknown): (message: MessageLike, consumer: ConsumerLike) => unknown {
    return (message, consumer) => {
      const wrappedConsumer = this.wrap(consumer);
      const delivery = this.deliverSafely(message);
      const run = () => listener(message, wrappedConsumer);
      return delivery === undefined ? run() : runWindow(this.pipeline, delivery, run);
    };
  }

  /** Registers a delivery; never throws. Undefined when not instrumented (closed, or it failed). */
  deliverSafely(message: MessageLike): ConsumerDelivery | undefined {
    if (!this.pipeline.active) return undefined;
    try {
      return this.deliver(message);
    } catch (error) {
      logInternal(error);
      return undefined;
    }
  }

  private deliver(message: MessageLike): ConsumerDelivery {
    const pipeline = this.pipeline;
    const known = this.ownDelivery(message);
    if (known !== undefined) return known;
    const now = pipeline.clock();
    // Everything read from the message is read before the tracker is told,
    // so a throwing accessor cannot leave a half-registered delivery behind.
    const topicName = topicNameOf(message);
    const route = this.route(topicName);
    const stamps = this.stamps.read(message.getProperties());
    const key = messageKey(message);
    const redeliveryCount = typeof message.getRedeliveryCount === 'function' ? Number(message.getRedeliveryCount()) || 0 : 0;
    const publishTimestamp = Number(message.getPublishTimestamp()) || 0;
    const topic = route.destination.topic.base;
    if (stamps.firstError !== undefined) pipeline.countContextErrors(topic, stamps);
    if (redeliveryCount > 0) this.releaseEarlierDeliveryOf(message);

    const delivery = new ConsumerDelivery(route.stream, key, now, this, message, route, publishTimestamp);
    pipeline.spans.startProcess(route.destination, stamps.context, delivery);
    pipeline.tracker.register(delivery, stamps.producer, stamps.seq, redeliveryCount);
    const tail = this.newest;
    if (tail === undefined) this.oldest = delivery;
    else {
      tail.nextOfConsumer = delivery;
      delivery.previousOfConsumer = tail;
    }
    this.newest = delivery;
    pipeline.deliveries.set(message, delivery);
    if (pipeline.tracker.overInflightBound) this.dropOldestTracked(delivery);

    const instruments = route.instruments;
    instruments.received.inc();
    if (redeliveryCount > 0) instruments.redeliveries.inc();
    if (delivery.violation !== undefined) instruments.violations[delivery.violation].inc();
    if (this.byMessageId !== undefined) {
      delivery.messageId = String(message.getMessageId());
      this.byMessageId.set(delivery.messageId, delivery);
    }
    const span = delivery.span;
    // Attribute values cost work (key hash, message id); a span that records nothing gets none.
    if (span.isRecording()) {
      const subscriptionType = route.destination.subscriptionType;
      if (subscriptionType !== undefined) span.setAttribute(semconv.ATTR_MESSAGING_PULSAR_SUBSCRIPTION_TYPE, subscriptionType);
      pipeline.spans.setKey(span, key);
      span.setAttribute(semconv.ATTR_MESSAGING_MESSAGE_ID, delivery.messageId ?? String(message.getMessageId()));
      span.setAttribute(semconv.ATTR_MESSAGING_PULSAR_REDELIVERY_COUNT, redeliveryCount);
      span.setAttribute(semconv.ATTR_KEYSCOPE_CONSUMER, this.consumerId);
      if (stamps.producer !== undefined) {
        span.setAttribute(semconv.ATTR_KEYSCOPE_PRODUCER, stamps.producer);
        span.setAttribute(semconv.ATTR_KEYSCOPE_SEQ, stamps.seq);
      }
      if (delivery.violation !== undefined) span.setAttribute(semconv.ATTR_KEYSCOPE_VIOLATION, delivery.violation);
    }
    if (pipeline.consumerHook !== undefined) runHook(pipeline.consumerHook, span, { topic, subscription: this.options.subscription, message });
    return delivery;
  }

  private route(topicName: string): TopicRoute {
    const name = topicName || this.options.topic || 'unknown';
    let route = this.routes.get(name);
    if (route === undefined) {
      const parsed = parseTopicName(name);
      const subscription = this.options.subscription;
      route = {
        stream: this.pipeline.tracker.stream(parsed.base, subscription),
        destination: new Destination(parsed, subscription, this.options.subscriptionType),
        instruments: this.pipeline.metrics.stream(parsed.base, subscription),
      };
      this.routes.set(name, route);
    }
    return route;
  }

  private settleMessage(message: MessageLike, kind: SettleKind): void {
    if (!this.pipeline.active) return;
    try {
      // A message may be acked through another wrapper than the one that received it.
      const delivery = this.pipeline.deliveries.get(message);
      if (delivery instanceof ConsumerDelivery) delivery.owner.settle(delivery, kind);
    } catch (error) {
      logInternal(error);
    }
  }

  private settleId(messageId: MessageIdLike, kind: SettleKind): void {
    if (!this.pipeline.active) return;
    try {
      const delivery = this.findById(messageId);
      if (delivery !== undefined) this.settle(delivery, kind);
    } catch (error) {
      logInternal(error);
    }
  }

  /**
   * Cumulative ack: this delivery and every earlier one of this consumer on
   * the same topic partition, chosen when the ack is issued and settled once
   * the client's promise fulfils. A rejected cumulative ack (the WebSocket
   * client cannot do them) acknowledged nothing, so nothing is settled.
   */
  private settleCumulativeWhenDone(result: unknown, find: () => ConsumerDelivery | undefined): void {
    if (!this.pipeline.active) return;
    let covered: ConsumerDelivery[];
    try {
      const last = find();
      if (last === undefined) return;
      covered = [];
      for (const delivery of this.inflightList()) {
        if (delivery.route === last.route) covered.push(delivery);
        if (delivery === last) break;
      }
    } catch (error) {
      logInternal(error);
      return;
    }
    const settleCovered = (): void => {
      try {
        for (const delivery of covered) delivery.owner.settle(delivery, 'ack_cumulative');
      } catch (error) {
        logInternal(error);
      }
    };
    if (isThenable(result)) result.then(settleCovered, () => undefined);
    else settleCovered();
  }

  private findById(messageId: MessageIdLike): ConsumerDelivery | undefined {
    if (this.byMessageId === undefined) {
      this.byMessageId = new Map();
      for (const delivery of this.inflightList()) {
        delivery.messageId = String(delivery.message.getMessageId());
        this.byMessageId.set(delivery.messageId, delivery);
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
    for (const delivery of this.inflightList()) {
      delivery.messageId ??= String(delivery.message.getMessageId());
      if (delivery.messageId === id) {
        this.release(delivery);
        endSpan(delivery);
        return;
      }
    }
  }

  settle(delivery: ConsumerDelivery, kind: SettleKind): void {
    if (!delivery.inflight) return;
    const pipeline = this.pipeline;
    const now = pipeline.clock();
    this.release(delivery);
    const instruments = delivery.route.instruments;
    const traceId = pipeline.metrics.exemplars ? sampledTraceId(delivery.span) : undefined;
    if (kind === 'nack') instruments.nacked.inc();
    else instruments.acked.inc();
    pipeline.metrics.observeProcessing(instruments, Math.max(0, now - delivery.receivedAt) / 1000, traceId, now);
    if (kind !== 'nack' && delivery.publishTimestamp > 0) {
      pipeline.metrics.observeEndToEnd(instruments, Math.max(0, now - delivery.publishTimestamp) / 1000, traceId, now);
    }
    pipeline.spans.settle(delivery.span, kind);
    if (!delivery.inWindow) endSpan(delivery);
    if (kind === 'nack') pipeline.tracker.expectRedelivery(delivery, now, this.nackRedeliveryDelayMs);
  }

  /**
   * Beyond maxInflightMessages the oldest tracked delivery (of any consumer)
   * is dropped from tracking: its span ends with an 'untracked' settle record
   * and it is counted in keyscope_inflight_evictions_total. Its message is
   * untouched, and a later ack or nack still reaches the client; it is not
   * counted, since nothing tracks it any more.
   */
  private dropOldestTracked(newest: ConsumerDelivery): void {
    const tracker = this.pipeline.tracker;
    while (tracker.overInflightBound) {
      const oldest = tracker.oldestInflight(newest);
      if (oldest === undefined) return;
      if (oldest instanceof ConsumerDelivery) oldest.owner.untrack(oldest);
      else tracker.settle(oldest);
    }
  }

  private untrack(delivery: ConsumerDelivery): void {
    this.release(delivery);
    delivery.route.instruments.inflightEvictions.inc();
    this.pipeline.spans.settle(delivery.span, 'untracked');
    if (!delivery.inWindow) endSpan(delivery);
  }

  /**
   * Records the deliveries whose ack timeout passed as expected redeliveries
   * (once each). Called by the periodic sweep; the recorded ones are a prefix
   * of the receive-order list, so the walk covers only the unrecorded rest.
   */
  expireAckTimeouts(now: number): void {
    const timeout = this.ackTimeoutMs;
    if (timeout === undefined) return;
    try {
      let firstUnrecorded: ConsumerDelivery | undefined;
      for (let d = this.newest; d !== undefined && !d.redeliveryExpected; d = d.previousOfConsumer) firstUnrecorded = d;
      const cutoff = now - timeout;
      if (firstUnrecorded === undefined || firstUnrecorded.receivedAt > cutoff) return;
      const all = this.redeliversAllOnAckTimeout;
      for (let d: ConsumerDelivery | undefined = firstUnrecorded; d !== undefined && (all || d.receivedAt <= cutoff); d = d.nextOfConsumer) {
        d.redeliveryExpected = true;
        this.pipeline.tracker.expectRedelivery(d, now, 0);
      }
    } catch (error) {
      logInternal(error);
    }
  }

  /** A snapshot of this consumer's in-flight deliveries, oldest first (for the rare paths that walk them). */
  private inflightList(): ConsumerDelivery[] {
    const list: ConsumerDelivery[] = [];
    for (let d = this.oldest; d !== undefined; d = d.nextOfConsumer) list.push(d);
    return list;
  }

  private ownDelivery(message: MessageLike): ConsumerDelivery | undefined {
    const delivery = this.pipeline.deliveries.get(message);
    return delivery instanceof ConsumerDelivery && delivery.owner === this ? delivery : undefined;
  }

  /** Takes a delivery out of flight without counting an ack (settle, supersede, close). */
  private release(delivery: ConsumerDelivery): void {
    this.pipeline.tracker.settle(delivery);
    const { previousOfConsumer, nextOfConsumer } = delivery;
    if (previousOfConsumer === undefined) this.oldest = nextOfConsumer;
    else previousOfConsumer.nextOfConsumer = nextOfConsumer;
    if (nextOfConsumer === undefined) this.newest = previousOfConsumer;
    else nextOfConsumer.previousOfConsumer = previousOfConsumer;
    delivery.previousOfConsumer = delivery.nextOfConsumer = undefined;
    this.pipeline.deliveries.delete(delivery.message);
    if (this.byMessageId !== undefined && delivery.messageId !== undefined) this.byMessageId.delete(delivery.messageId);
  }

  /**
   * On close/unsubscribe, or when Keyscope closes, stop tracking what this
   * consumer held. `expectRedelivery`: the broker redelivers it (close).
   */
  releaseAll(expectRedelivery: boolean): void {
    try {
      const now = this.pipeline.clock();
      for (const delivery of this.inflightList()) {
        this.release(delivery);
        if (expectRedelivery) this.pipeline.tracker.expectRedelivery(delivery, now, 0);
        this.pipeline.spans.settle(delivery.span, 'closed');
        if (!delivery.inWindow) endSpan(delivery);
      }
    } catch (error) {
      logInternal(error);
    }
  }
}

/**
 * Runs `fn` inside the delivery's `process` span and processing window. The
 * window ends when `fn` returns or, for a promise, when it settles; `fn`'s
 * result (or error) is passed on untouched.
 */
export function runWindow<T>(pipeline: Pipeline, delivery: ConsumerDelivery, fn: () => T): T {
  if (!pipeline.active) return fn();
  const opened = openWindow(pipeline, delivery);
  let result: T;
  try {
    const span = delivery.span;
    // Nothing to make active when tracing is off and the message carried no context.
    result =
      delivery.parentContext === ROOT_CONTEXT && !hasContext(span)
        ? fn()
        : context.with(trace.setSpan(delivery.parentContext, span), fn);
  } catch (error) {
    if (opened) closeWindow(pipeline, delivery, true, error);
    throw error;
  }
  if (opened) {
    if (isThenable(result)) {
      result.then(
        () => closeWindow(pipeline, delivery, false, undefined),
        (error: unknown) => closeWindow(pipeline, delivery, true, error),
      );
    } else {
      closeWindow(pipeline, delivery, false, undefined);
    }
  }
  return result;
}

function openWindow(pipeline: Pipeline, delivery: ConsumerDelivery): boolean {
  try {
    if (delivery.inWindow) return false;
    if (pipeline.tracker.beginWindow(delivery)) {
      delivery.route.instruments.violations.concurrent.inc();
      delivery.span.setAttribute(semconv.ATTR_KEYSCOPE_VIOLATION, 'concurrent');
    }
    return true;
  } catch (error) {
    logInternal(error);
    return false;
  }
}

function closeWindow(pipeline: Pipeline, delivery: ConsumerDelivery, failed: boolean, error: unknown): void {
  try {
    pipeline.tracker.endWindow(delivery);
    // A failed handler fails the operation: error.type plus status ERROR, per the conventions.
    if (failed) recordError(delivery.span, error);
    if (!delivery.inflight) endSpan(delivery);
  } catch (internal) {
    logInternal(internal);
  }
}

function endSpan(delivery: ConsumerDelivery): void {
  if (delivery.spanEnded) return;
  delivery.spanEnded = true;
  delivery.span.end();
}

function nonNegative(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function topicNameOf(message: MessageLike): string {
  const name: unknown = message.getTopicName();
  return typeof name === 'string' ? name : '';
}

export function instrumentConsumer<C extends ConsumerLike>(pipeline: Pipeline, consumer: C, options: InstrumentConsumerOptions): C {
  return new ConsumerInstrumentation(pipeline, options).wrap(consumer);
}
