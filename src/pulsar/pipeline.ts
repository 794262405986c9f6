/**
 * The shared runtime behind every wrapper of one Keyscope instance: the
 * tracker (pure rules), the metrics and span helpers, hooks, and the clock.
 * Data flows one way: wrapper -> tracker -> telemetry.
 */
import { diag, type Span, type Tracer } from '@opentelemetry/api';
import type { ContextErrorReason, IncomingStamps, UnstampedOrdering } from '../context/incoming.js';
import type { KeyscopeMetrics } from '../telemetry/metrics.js';
import type { KeyscopeSpans } from '../telemetry/spans.js';
import type { Delivery, Tracker } from '../tracking/tracker.js';
import { isInstrumented } from './instrumented.js';
import type { MessageLike, ProducerMessageLike } from './types.js';

export interface ProducerHookInfo {
  /** Topic the producer sends to. */
  topic: string;
  /** The copy of the message that is sent, stamps included. */
  message: Readonly<ProducerMessageLike>;
}

export interface ConsumerHookInfo {
  topic: string;
  subscription: string;
  message: MessageLike;
}

/** Called with each `send` span before the message is sent. A throwing hook is logged and ignored. */
export type ProducerHook = (span: Span, info: ProducerHookInfo) => void;
/** Called with each `process` span when a message is delivered. A throwing hook is logged and ignored. */
export type ConsumerHook = (span: Span, info: ConsumerHookInfo) => void;

export interface PipelineParts {
  tracker: Tracker;
  metrics: KeyscopeMetrics;
  spans: KeyscopeSpans;
  clock: () => number;
  producerHook: ProducerHook | undefined;
  consumerHook: ConsumerHook | undefined;
  unstampedOrdering: UnstampedOrdering | undefined;
}

/** What the pipeline keeps of a wrapped consumer. */
export interface TrackedConsumer {
  expireAckTimeouts(now: number): void;
  /** Ends what it holds in flight and forgets it. `expectRedelivery`: the broker hands those messages to another consumer (a close, not an unsubscribe or Keyscope's own close). */
  stopTracking(expectRedelivery: boolean): void;
}

export class Pipeline {
  readonly tracker: Tracker;
  readonly metrics: KeyscopeMetrics;
  readonly spans: KeyscopeSpans;
  readonly clock: () => number;
  readonly producerHook: ProducerHook | undefined;
  readonly consumerHook: ConsumerHook | undefined;
  readonly unstampedOrdering: UnstampedOrdering | undefined;
  /** False after close(): wrappers then pass every call straight through. */
  active = true;
  /**
   * Deliveries in flight by message object, for `process()` and acks through
   * any wrapper. Entries leave when the delivery settles or its consumer
   * closes. A WeakMap: its entries cost no allocation per message, whereas a
   * Map that keeps emptying and refilling reallocates its table.
   */
  readonly deliveries = new WeakMap<object, Delivery>();
  /** The wrapper made for each object wrapped, so that wrapping it again returns the same one. */
  readonly wrappers = new WeakMap<object, object>();
  private readonly warned = new Set<string>();
  /** Wrapped consumers, so that close() can end what they hold; they leave when closed. */
  readonly consumers = new Set<TrackedConsumer>();
  /** The consumers subscribed through each client, released when it closes. */
  private readonly clientConsumers = new WeakMap<object, Set<TrackedConsumer>>();

  constructor(parts: PipelineParts) {
    this.tracker = parts.tracker;
    this.metrics = parts.metrics;
    this.spans = parts.spans;
    this.clock = parts.clock;
    this.producerHook = parts.producerHook;
    this.consumerHook = parts.consumerHook;
    this.unstampedOrdering = parts.unstampedOrdering;
  }

  consumersOfClient(client: object): Set<TrackedConsumer> {
    let consumers = this.clientConsumers.get(client);
    if (consumers === undefined) {
      consumers = new Set();
      this.clientConsumers.set(client, consumers);
    }
    return consumers;
  }

  /** The client is closing: its consumers' deliveries leave tracking, as when each consumer closes. */
  releaseClient(client: object): void {
    const consumers = this.clientConsumers.get(client);
    if (consumers === undefined) return;
    this.clientConsumers.delete(client);
    for (const consumer of [...consumers]) consumer.stopTracking(true);
  }

  /** Logs `message` as a diag warning the first time `topic` comes up for this instance. */
  warnOnce(topic: string, message: string): void {
    if (this.warned.has(topic)) return;
    this.warned.add(topic);
    diag.warn(`pulsar-keyscope: ${message} (said once)`);
  }

  /**
   * Whether `value` is already instrumented (by this or another keyscope
   * instance): then it is used as it is, and the diag log says so once.
   */
  alreadyInstrumented(what: 'client' | 'producer' | 'consumer', value: unknown): boolean {
    if (!isInstrumented(value)) return false;
    this.warnOnce(
      `instrumented-${what}`,
      `a ${what} that is already instrumented was given to be instrumented again; it is returned as it is (a second wrapper would count every message twice)`,
    );
    return true;
  }

  countContextErrors(topic: string, stamps: IncomingStamps): void {
    if (stamps.firstError !== undefined) this.metrics.contextError(topic, stamps.firstError);
    if (stamps.secondError !== undefined) this.metrics.contextError(topic, stamps.secondError);
  }

  countContextError(topic: string, reason: ContextErrorReason): void {
    try {
      this.metrics.contextError(topic, reason);
    } catch (error) {
      logInternal(error);
    }
  }
}

/** Instrumentation faults are logged through OpenTelemetry's diag logger, never thrown. */
export function logInternal(error: unknown): void {
  diag.error('pulsar-keyscope: instrumentation error (the message was passed through unchanged)', error);
}

/** Runs a user hook so that a throwing hook never breaks the instrumented call. */
export function runHook<Info>(hook: ((span: Span, info: Info) => void) | undefined, span: Span, info: Info): void {
  if (hook === undefined) return;
  try {
    hook(span, info);
  } catch (error) {
    diag.error('pulsar-keyscope: a producerHook/consumerHook threw; the call went on', error);
  }
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function'
  );
}
