/**
 * Consumer instrumentation: every delivery (receive, batchReceive, listener)
 * is registered with the tracker, gets a `process` span and is counted; ack
 * and nack settle it. Ack semantics are untouched (see consumer-overlay.ts).
 * The parts live beside it: the delivery record, the in-flight list, settle
 * accounting, cumulative acks, the processing window; the redelivery policy
 * is a tracking rule.
 */
import { IncomingStamps } from '../context/incoming.js';
import { newInstanceId } from '../context/stamps.js';
import * as semconv from '../semconv.js';
import { parseServiceUrl, type ServerAddress } from '../telemetry/server-address.js';
import { Destination, type ReceivedItem, type ReceiveStart, type SettleKind } from '../telemetry/spans.js';
import { parseTopicName } from '../telemetry/topic-name.js';
import { RedeliveryPolicy } from '../tracking/redelivery-policy.js';
import { ConsumerDelivery, type TopicRoute } from './consumer-delivery.js';
import { consumerOverlay } from './consumer-overlay.js';
import { coveredBy, settleWhenAcknowledged } from './cumulative-ack.js';
import { InflightList } from './inflight-list.js';
import { messageKey } from './keys.js';
import { logInternal, runHook, type Pipeline, type TrackedConsumer } from './pipeline.js';
import { runWindow } from './processing-window.js';
import { recordLeft, recordSettle } from './settlement.js';
import type { ConsumerLike, MessageIdLike, MessageLike, SubscriptionTypeName } from './types.js';

export { ConsumerDelivery } from './consumer-delivery.js';
export { runWindow } from './processing-window.js';

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
  /** The client's service URL: `server.address` / `server.port` on spans (instrumentClient knows it). */
  serviceUrl?: string;
}

export class ConsumerInstrumentation {
  readonly consumerId = newInstanceId();
  private readonly stamps: IncomingStamps;
  private readonly server: ServerAddress | undefined;
  private readonly routes = new Map<string, TopicRoute>();
  private readonly inflight = new InflightList();
  /** In-flight deliveries by message id, once an id-based ack asked for one (see findById). */
  private byId: Map<string, ConsumerDelivery> | undefined = undefined;
  private readonly redelivery: RedeliveryPolicy;
  private wrapped: ConsumerLike | undefined = undefined;
  private stopWatchingConnection: (() => void) | undefined = undefined;
  /** The set of consumers of the client this one was subscribed through, left on close. */
  private clientConsumers: Set<TrackedConsumer> | undefined = undefined;

  constructor(
    private readonly pipeline: Pipeline,
    readonly options: InstrumentConsumerOptions,
  ) {
    this.redelivery = new RedeliveryPolicy(options);
    this.stamps = new IncomingStamps(pipeline.unstampedOrdering);
    this.server = parseServiceUrl(options.serviceUrl);
  }

  /** The instrumented view of `consumer` (created once; a consumer instrumented before is returned as it is). */
  wrap<C extends ConsumerLike>(consumer: C): C {
    if (this.wrapped !== undefined) return this.wrapped as C;
    if (this.pipeline.alreadyInstrumented('consumer', consumer)) return consumer;
    const known = this.pipeline.wrappers.get(consumer);
    if (known !== undefined) return known as C;
    const wrapped = consumerOverlay(consumer, {
      delivered: (message) => void this.deliverSafely(message),
      receiving: () => (this.pipeline.active ? this.pipeline.spans.receiveStart() : undefined),
      received: (start, messages) => this.recordReceive(start, messages),
      settledMessage: (message, kind) => this.settleMessage(message, kind),
      settledId: (messageId, kind) => this.settleId(messageId, kind),
      cumulativeAck: (result, upTo) => this.settleCumulative(result, () => this.ownDelivery(upTo)),
      cumulativeAckId: (result, upTo) => this.settleCumulative(result, () => this.findById(upTo)),
      closing: (expectRedelivery) => this.stopTracking(expectRedelivery),
    });
    this.wrapped = wrapped;
    this.pipeline.wrappers.set(consumer, wrapped);
    this.pipeline.consumers.add(this);
    this.watchConnection(consumer);
    return wrapped;
  }

  /** Records the client this consumer was subscribed through: it is released when that client closes. */
  belongsTo(clientConsumers: Set<TrackedConsumer>): void {
    if (!this.pipeline.consumers.has(this)) return;
    this.clientConsumers = clientConsumers;
    clientConsumers.add(this);
  }

  /** A client that tells when the connection drops gets its held messages expected back; others show it by redelivered ids alone. */
  private watchConnection(consumer: ConsumerLike): void {
    try {
      if (typeof consumer.onConnectionLost !== 'function') return;
      const stop: unknown = consumer.onConnectionLost(() => this.connectionLost());
      if (typeof stop === 'function') this.stopWatchingConnection = stop as () => void;
    } catch (error) {
      logInternal(error);
    }
  }

  /**
   * The broker redelivers what this consumer held, to it once it reconnects
   * (found by id then) or to another consumer; the held deliveries stay in
   * flight until the application settles them or their redelivery arrives.
   */
  private connectionLost(): void {
    if (!this.pipeline.active) return;
    try {
      const now = this.pipeline.clock();
      for (let d = this.inflight.oldest; d !== undefined; d = d.nextOfConsumer) this.pipeline.tracker.expectRedelivery(d, now, 0);
    } catch (error) {
      logInternal(error);
    }
  }

  /** `expectRedelivery`: the broker hands what this consumer held to another one (close, not unsubscribe). */
  stopTracking(expectRedelivery: boolean): void {
    this.releaseAll(expectRedelivery);
    this.pipeline.consumers.delete(this);
    this.clientConsumers?.delete(this);
    this.clientConsumers = undefined;
    const stop = this.stopWatchingConnection;
    this.stopWatchingConnection = undefined;
    try {
      stop?.();
    } catch (error) {
      logInternal(error);
    }
  }

  /** Wraps a listener so that each call is a delivery with a processing window. */
  wrapListener(
    listener: (message: MessageLike, consumer: ConsumerLike) => unknown,
  ): (message: MessageLike, consumer: ConsumerLike) => unknown {
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

  /** The `receive` span of one receive() / batchReceive() call; never throws. */
  private recordReceive(start: ReceiveStart, messages: readonly MessageLike[]): void {
    if (!this.pipeline.active) return;
    try {
      // One destination for the span when every message shares it (a multi-topic batch names none).
      let common: Destination | undefined;
      let mixed = false;
      const items: ReceivedItem[] = [];
      for (const message of messages) {
        const delivery = this.ownDelivery(message);
        if (delivery === undefined) continue;
        // What its delivery read: nothing is asked of the message again.
        items.push({ message, messageContext: delivery.messageContext, messageId: delivery.messageId });
        const destination = delivery.route.destination;
        if (common === undefined) common = destination;
        else if (destination.topic.base !== common.topic.base) mixed = true;
      }
      // Nothing of it was instrumented (the instance closed, or delivery failed): no span either.
      if (common === undefined) return;
      this.pipeline.spans.recordReceive(start, mixed ? undefined : common, items);
    } catch (error) {
      logInternal(error);
    }
  }

  private deliver(message: MessageLike): ConsumerDelivery | undefined {
    const pipeline = this.pipeline;
    const known = this.ownDelivery(message);
    if (known !== undefined) return known;
    const now = pipeline.clock();
    // Everything read from the message is read before the tracker is told,
    // so a throwing accessor cannot leave a half-registered delivery behind.
    let topicName: string;
    let stamps: IncomingStamps;
    let key: string | undefined;
    let redeliveryCount: number;
    let publishTimestamp: number;
    let messageId: string | undefined;
    try {
      topicName = topicNameOf(message);
      stamps = this.stamps.read(message.getProperties(), message);
      key = messageKey(message);
      redeliveryCount = typeof message.getRedeliveryCount === 'function' ? Number(message.getRedeliveryCount()) || 0 : 0;
      publishTimestamp = Number(message.getPublishTimestamp()) || 0;
      // A keyed message with stamps is recognised by them; the id (two calls into a native client) only when needed.
      messageId = this.byId !== undefined || key === undefined || stamps.producer === undefined ? messageIdOf(message) : undefined;
    } catch {
      this.countUnreadable(message);
      return undefined;
    }
    const route = this.route(topicName);
    const topic = route.destination.topic.base;
    if (stamps.firstError !== undefined) pipeline.countContextErrors(topic, stamps);

    const delivery = new ConsumerDelivery(route.stream, key, now, this, message, route, publishTimestamp);
    delivery.messageId = messageId;
    pipeline.spans.startProcess(route.destination, stamps.context, delivery);
    // A message id seen before is a redelivery whatever the count says (0 after a reconnect, on Exclusive and Failover, for a nacked batch's siblings).
    const tracker = pipeline.tracker;
    tracker.register(delivery, stamps.producer, stamps.seq, redeliveryCount > 0);
    const redelivered = tracker.redelivered;
    const superseded = tracker.superseded;
    if (superseded instanceof ConsumerDelivery) superseded.owner.supersede(superseded);
    this.inflight.append(delivery);
    if (this.byId !== undefined && messageId !== undefined) this.byId.set(messageId, delivery);
    pipeline.deliveries.set(message, delivery);
    if (pipeline.tracker.overInflightBound) this.dropOldestTracked(delivery);

    const instruments = route.instruments;
    instruments.received.inc();
    if (!stamps.stamped) instruments.unstamped.inc();
    if (redelivered) instruments.redeliveries.inc();
    if (delivery.violation !== undefined) instruments.violations[delivery.violation].inc();
    const span = delivery.span;
    // Attribute values cost work (key hash, message id); a span that records nothing gets none.
    if (span.isRecording()) {
      const subscriptionType = route.destination.subscriptionType;
      if (subscriptionType !== undefined) span.setAttribute(semconv.ATTR_MESSAGING_PULSAR_SUBSCRIPTION_TYPE, subscriptionType);
      pipeline.spans.setKey(span, key);
      // Read once here unless tracking read it; kept for a receive span of the same message.
      delivery.messageId ??= this.messageIdForSpan(message);
      pipeline.spans.describeMessage(span, message, delivery.messageId ?? null);
      span.setAttribute(semconv.ATTR_MESSAGING_PULSAR_REDELIVERY_COUNT, redeliveryCount);
      span.setAttribute(semconv.ATTR_KEYSCOPE_CONSUMER, this.consumerId);
      if (stamps.stamped && stamps.producer !== undefined) {
        span.setAttribute(semconv.ATTR_KEYSCOPE_PRODUCER, stamps.producer);
        span.setAttribute(semconv.ATTR_KEYSCOPE_SEQ, stamps.seq);
      }
      if (delivery.violation !== undefined) span.setAttribute(semconv.ATTR_KEYSCOPE_VIOLATION, delivery.violation);
    }
    if (pipeline.consumerHook !== undefined)
      runHook(pipeline.consumerHook, span, { topic, subscription: this.options.subscription, message });
    return delivery;
  }

  /**
   * A message whose accessor threw flows on to the application untracked,
   * but is counted: received, and as `unreadable_message` (on the topic it
   * reports, if that much can be read).
   */
  private countUnreadable(message: MessageLike): void {
    try {
      let topicName = '';
      try {
        topicName = topicNameOf(message);
      } catch {
        // The topic is what threw: the consumer's own topic labels it.
      }
      const route = this.route(topicName);
      route.instruments.received.inc();
      this.pipeline.countContextError(route.destination.topic.base, 'unreadable_message');
    } catch (error) {
      logInternal(error);
    }
  }

  private route(topicName: string): TopicRoute {
    const name = topicName || this.options.topic || 'unknown';
    let route = this.routes.get(name);
    if (route === undefined) {
      const parsed = parseTopicName(name);
      const subscription = this.options.subscription;
      route = {
        stream: this.pipeline.tracker.stream(parsed.base, subscription),
        destination: new Destination(parsed, subscription, this.options.subscriptionType, this.server),
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

  private settleCumulative(result: unknown, find: () => ConsumerDelivery | undefined): void {
    if (!this.pipeline.active) return;
    let covered: ConsumerDelivery[];
    try {
      const last = find();
      if (last === undefined) return;
      covered = coveredBy(this.inflight, last);
    } catch (error) {
      logInternal(error);
      return;
    }
    settleWhenAcknowledged(result, covered);
  }

  /**
   * This consumer's delivery in flight with that id. The index by id is
   * built on the first id-based ack or nack; from then on every delivery of
   * this consumer reads its message id, which the others need not.
   */
  private findById(messageId: MessageIdLike): ConsumerDelivery | undefined {
    let byId = this.byId;
    if (byId === undefined) {
      byId = new Map();
      for (let d = this.inflight.oldest; d !== undefined; d = d.nextOfConsumer) {
        try {
          d.messageId ??= messageIdOf(d.message);
        } catch (error) {
          logInternal(error);
        }
        if (d.messageId !== undefined) byId.set(d.messageId, d);
      }
      this.byId = byId;
    }
    return byId.get(String(messageId));
  }

  /** The id for a recording span's attribute, when tracking did not read it; undefined when it cannot be read. */
  private messageIdForSpan(message: MessageLike): string | undefined {
    try {
      return messageIdOf(message);
    } catch {
      return undefined;
    }
  }

  /**
   * The message of `delivery`, still in flight, was delivered again (to this
   * consumer or another one of its stream): the earlier delivery would
   * otherwise look stalled forever. Its span ends with a 'redelivered' settle event.
   */
  supersede(delivery: ConsumerDelivery): void {
    this.release(delivery);
    recordLeft(this.pipeline, delivery, 'redelivered');
  }

  settle(delivery: ConsumerDelivery, kind: SettleKind): void {
    if (!delivery.inflight) return;
    const pipeline = this.pipeline;
    const now = pipeline.clock();
    this.release(delivery);
    if (kind === 'ack' || kind === 'ack_cumulative' || kind === 'nack') recordSettle(pipeline, delivery, kind, now);
    else recordLeft(pipeline, delivery, kind);
    if (kind === 'nack') pipeline.tracker.expectRedelivery(delivery, now, this.redelivery.nackDelayMs);
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
      if (oldest instanceof ConsumerDelivery) oldest.owner.settle(oldest, 'untracked');
      else tracker.settle(oldest);
    }
  }

  /** Records the deliveries whose ack timeout passed as expected redeliveries. Called by the periodic sweep. */
  expireAckTimeouts(now: number): void {
    try {
      this.redelivery.expireAckTimeouts(this.inflight.newest, now, (delivery) => this.pipeline.tracker.expectRedelivery(delivery, now, 0));
    } catch (error) {
      logInternal(error);
    }
  }

  private ownDelivery(message: MessageLike): ConsumerDelivery | undefined {
    const delivery = this.pipeline.deliveries.get(message);
    return delivery instanceof ConsumerDelivery && delivery.owner === this ? delivery : undefined;
  }

  /** Takes a delivery out of flight without counting an ack (settle, supersede, close). */
  private release(delivery: ConsumerDelivery): void {
    this.pipeline.tracker.settle(delivery);
    this.inflight.remove(delivery);
    const id = delivery.messageId;
    if (this.byId !== undefined && id !== undefined && this.byId.get(id) === delivery) this.byId.delete(id);
    this.pipeline.deliveries.delete(delivery.message);
  }

  /**
   * On close/unsubscribe, or when Keyscope closes, stop tracking what this
   * consumer held. `expectRedelivery`: the broker redelivers it (close).
   */
  private releaseAll(expectRedelivery: boolean): void {
    try {
      const now = this.pipeline.clock();
      for (const delivery of this.inflight.snapshot()) {
        this.release(delivery);
        if (expectRedelivery) this.pipeline.tracker.expectRedelivery(delivery, now, 0);
        recordLeft(this.pipeline, delivery, 'closed');
      }
    } catch (error) {
      logInternal(error);
    }
  }
}

function messageIdOf(message: MessageLike): string | undefined {
  const id: unknown = message.getMessageId();
  return id === undefined || id === null ? undefined : String(id);
}

function topicNameOf(message: MessageLike): string {
  const name: unknown = message.getTopicName();
  return typeof name === 'string' ? name : '';
}

export function instrumentConsumer<C extends ConsumerLike>(pipeline: Pipeline, consumer: C, options: InstrumentConsumerOptions): C {
  return new ConsumerInstrumentation(pipeline, options).wrap(consumer);
}
