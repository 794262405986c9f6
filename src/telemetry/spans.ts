/**
 * Span construction following the OpenTelemetry messaging conventions:
 * `send {topic}` (PRODUCER) and `process {topic}` (CONSUMER). Attributes that
 * cost work (key hash, message id) are only computed for recording spans.
 */
import {
  INVALID_TRACEID,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import * as semconv from '../semconv.js';
import type { KeyRenderer } from './key-policy.js';
import type { TopicName } from './topic-name.js';

export type ConsumerSpanRelation = 'parent' | 'link';
/**
 * How a delivery left tracking. 'closed': its consumer closed. 'untracked':
 * dropped to stay within maxInflightMessages (its ack or nack, whenever it
 * comes, still reaches the client; it is just not recorded).
 */
export type SettleKind = 'ack' | 'nack' | 'ack_cumulative' | 'closed' | 'untracked';

/** Where startProcess puts the span and the context it was started in (a delivery, to save an object). */
export interface ProcessTarget {
  span: Span;
  parentContext: Context;
}

/**
 * Span name and constant attributes of one destination, built once. The
 * attributes the conventions list as relevant for sampling go into the span
 * options; the SDK checks every attribute passed at start, recording or not.
 */
export class Destination {
  readonly sendSpanName: string;
  readonly processSpanName: string;
  readonly sendAttributes: Attributes;
  readonly processAttributes: Attributes;
  /** Not among the attributes a sampler may use, so set on recording spans only. */
  readonly subscriptionType: string | undefined;
  /** Span options shared by every span of this destination (the SDK copies what it keeps). */
  readonly sendOptions: SpanOptions;
  readonly processOptions: SpanOptions;

  constructor(readonly topic: TopicName, subscription?: string, subscriptionType?: string) {
    this.sendSpanName = 'send ' + topic.base;
    this.processSpanName = 'process ' + topic.base;
    const common: Attributes = {
      [semconv.ATTR_MESSAGING_SYSTEM]: semconv.MESSAGING_SYSTEM_VALUE_PULSAR,
      [semconv.ATTR_MESSAGING_DESTINATION_NAME]: topic.base,
    };
    if (topic.partitionId !== undefined) common[semconv.ATTR_MESSAGING_DESTINATION_PARTITION_ID] = topic.partitionId;
    // Shared by every span of this destination; the SDK copies attributes, so sharing is safe.
    this.sendAttributes = {
      ...common,
      [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'send',
      [semconv.ATTR_MESSAGING_OPERATION_TYPE]: semconv.MESSAGING_OPERATION_TYPE_VALUE_SEND,
    };
    const process: Attributes = {
      ...common,
      [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'process',
      [semconv.ATTR_MESSAGING_OPERATION_TYPE]: semconv.MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
    };
    if (subscription !== undefined) process[semconv.ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME] = subscription;
    this.processAttributes = process;
    this.subscriptionType = subscriptionType;
    this.sendOptions = { kind: SpanKind.PRODUCER, attributes: this.sendAttributes };
    this.processOptions = { kind: SpanKind.CONSUMER, attributes: this.processAttributes };
  }
}

const SETTLE_EVENT_ATTRIBUTES: Record<SettleKind, Attributes> = {
  ack: settleAttributes('ack'),
  nack: settleAttributes('nack'),
  ack_cumulative: settleAttributes('ack_cumulative'),
  closed: settleAttributes('closed'),
  untracked: settleAttributes('untracked'),
};

function settleAttributes(kind: SettleKind): Attributes {
  return {
    [semconv.ATTR_MESSAGING_OPERATION_NAME]: kind,
    [semconv.ATTR_MESSAGING_OPERATION_TYPE]: semconv.MESSAGING_OPERATION_TYPE_VALUE_SETTLE,
  };
}

export class KeyscopeSpans {
  constructor(
    public tracer: Tracer,
    private readonly keys: KeyRenderer,
    private readonly relation: ConsumerSpanRelation,
  ) {}

  /** Starts a `send` span with the destination's constant attributes (the ones a sampler may use). */
  startSend(destination: Destination, parent: Context): Span {
    return this.tracer.startSpan(destination.sendSpanName, destination.sendOptions, parent);
  }

  /** The per-message attributes of a recording `send` span. */
  describeSend(span: Span, key: string | undefined, producerId: string, seq: number): void {
    span.setAttribute(semconv.ATTR_KEYSCOPE_PRODUCER, producerId);
    span.setAttribute(semconv.ATTR_KEYSCOPE_SEQ, seq);
    this.setKey(span, key);
  }

  endSend(span: Span, messageId: { toString(): string } | undefined): void {
    if (span.isRecording() && messageId !== undefined && messageId !== null) {
      span.setAttribute(semconv.ATTR_MESSAGING_MESSAGE_ID, String(messageId));
    }
    span.end();
  }

  endSendWithError(span: Span, error: unknown): void {
    recordError(span, error);
    span.end();
  }

  /**
   * Starts the process span of a delivery: a child of the producer's context
   * (relation 'parent') or a new trace linked to it (relation 'link').
   * Baggage in `extracted` is kept either way.
   */
  startProcess(destination: Destination, extracted: Context, target: ProcessTarget): void {
    const producerSpan = this.relation === 'parent' ? undefined : trace.getSpanContext(extracted);
    if (producerSpan === undefined) {
      target.parentContext = extracted;
      target.span = this.tracer.startSpan(destination.processSpanName, destination.processOptions, extracted);
      return;
    }
    const parent = trace.deleteSpan(extracted);
    target.parentContext = parent;
    target.span = this.tracer.startSpan(
      destination.processSpanName,
      { kind: SpanKind.CONSUMER, attributes: destination.processAttributes, links: [{ context: producerSpan }] },
      parent,
    );
  }

  setKey(span: Span, key: string | undefined): void {
    if (key === undefined) return;
    const rendered = this.keys.render(key);
    if (rendered !== undefined) span.setAttribute(semconv.ATTR_MESSAGING_PULSAR_MESSAGE_KEY, rendered);
  }

  /** Records ack / nack as a `settle` event on the process span. */
  settle(span: Span, kind: SettleKind): void {
    if (!span.isRecording()) return;
    span.addEvent('settle', SETTLE_EVENT_ATTRIBUTES[kind]);
  }
}

/**
 * Marks the operation failed: `error.type` and status ERROR with a message,
 * as the conventions ask. Never throws, even for a hostile error value, so
 * the span still ends.
 */
export function recordError(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  let type: string = typeof error;
  let message = type;
  try {
    if (error instanceof Error) {
      const name: unknown = error.name;
      const text: unknown = error.message;
      type = typeof name === 'string' && name !== '' ? name : 'Error';
      message = typeof text === 'string' ? text : type;
    } else if (typeof error === 'string' || typeof error === 'number' || typeof error === 'boolean' || typeof error === 'bigint') {
      message = String(error);
    }
  } catch {
    // A throwing getter on a hostile error: keep the generic type.
  }
  span.setAttribute(semconv.ATTR_ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * False for the spans of a no-op tracer (tracing off), whose context carries
 * nothing to propagate. (Propagators validate the ids themselves.)
 */
export function hasContext(span: Span): boolean {
  return span.spanContext().traceId !== INVALID_TRACEID;
}

/** The trace id of a sampled span, for exemplars; undefined otherwise. */
export function sampledTraceId(span: Span): string | undefined {
  const spanContext = span.spanContext();
  return (spanContext.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? spanContext.traceId : undefined;
}
