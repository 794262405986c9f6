/**
 * The one object a received message costs: the tracker's delivery record
 * extended with its telemetry and its place in its consumer's receive order.
 * (In flight and in a processing window are the tracker's `inflight` and
 * `inWindow` flags.)
 */
import { ROOT_CONTEXT, type Context, type Span } from '@opentelemetry/api';
import type { StreamInstruments } from '../telemetry/metrics.js';
import type { Destination } from '../telemetry/spans.js';
import type { AckTimeoutLink } from '../tracking/redelivery-policy.js';
import { Delivery, type Stream } from '../tracking/tracker.js';
import type { ConsumerInstrumentation } from './consumer.js';
import type { MessageLike } from './types.js';

/** Per topic (as the message reports it, partition included) cache of a consumer's stream, destination and instruments. */
export interface TopicRoute {
  readonly stream: Stream;
  readonly destination: Destination;
  readonly instruments: StreamInstruments;
}

export class ConsumerDelivery extends Delivery implements AckTimeoutLink<ConsumerDelivery> {
  spanEnded = false;
  redeliveryExpected = false;
  span!: Span;
  /** The context the message carried (extracted from it): the process span's parent or link, and baggage. */
  messageContext: Context = ROOT_CONTEXT;
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

/** Ends the delivery's process span once (settle and window end may both ask). */
export function endSpan(delivery: ConsumerDelivery): void {
  if (delivery.spanEnded) return;
  delivery.spanEnded = true;
  delivery.span.end();
}
