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
  /** Wrapped consumers, so that close() can end what they hold; they leave when closed. */
  readonly consumers = new Set<{ releaseAll(expectRedelivery: boolean): void; expireAckTimeouts(now: number): void }>();

  constructor(parts: PipelineParts) {
    this.tracker = parts.tracker;
    this.metrics = parts.metrics;
    this.spans = parts.spans;
    this.clock = parts.clock;
    this.producerHook = parts.producerHook;
    this.consumerHook = parts.consumerHook;
    this.unstampedOrdering = parts.unstampedOrdering;
  }

  get tracer(): Tracer {
    return this.spans.tracer;
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
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}
