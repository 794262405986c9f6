/**
 * Span construction following the OpenTelemetry messaging conventions
 * (semconv.ts names the release): `send {topic}` (PRODUCER), `process {topic}`
 * (CONSUMER) and, by option, `receive {topic}` (CLIENT), in the shapes the
 * OpenTelemetry Java agent gives them in its messaging opt-in mode.
 * Attributes that cost work (key hash, message id, body size) are only
 * computed for recording spans.
 */
import {
  INVALID_TRACEID,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import * as semconv from '../semconv.js';
import type { KeyRenderer } from './key-policy.js';
import { formatMessageId, partitionOfMessageId } from './message-id.js';
import type { ServerAddress } from './server-address.js';
import type { TopicName } from './topic-name.js';

export type ConsumerSpanRelation = 'parent' | 'link';
/**
 * How a delivery left tracking. 'closed': its consumer closed. 'untracked':
 * dropped to stay within maxInflightMessages (its ack or nack, whenever it
 * comes, still reaches the client; it is just not recorded). 'redelivered':
 * the same message was delivered again while this delivery was in flight
 * (after a reconnect or an ack timeout); the new delivery takes its place.
 */
export type SettleKind = 'ack' | 'nack' | 'ack_cumulative' | 'closed' | 'untracked' | 'redelivered';

/** Where startProcess puts the span and the context the message carried (a delivery, to save an object). */
export interface ProcessTarget {
  span: Span;
  /** Extracted from the message: the producer's span context (the process span's parent or link) and baggage. */
  messageContext: Context;
}

/** What a receive span records of one message it returned, from its delivery (nothing is read from the message again). */
export interface ReceivedItem {
  message: ReceivedMessage;
  /** The context the message carried (see ProcessTarget). */
  messageContext: Context;
  /** The message id as read for its delivery, if it was. */
  messageId: string | undefined;
}

/**
 * Span name and constant attributes of one destination, built once. The
 * attributes the conventions list as relevant for sampling go into the span
 * options; the SDK checks every attribute passed at start, recording or not.
 */
export class Destination {
  readonly sendSpanName: string;
  readonly processSpanName: string;
  readonly receiveSpanName: string;
  readonly sendAttributes: Attributes;
  readonly processAttributes: Attributes;
  readonly receiveAttributes: Attributes;
  /** Not among the attributes a sampler may use, so set on recording spans only. */
  readonly subscriptionType: string | undefined;
  /** Span options shared by every span of this destination (the SDK copies what it keeps). */
  readonly sendOptions: SpanOptions;
  readonly processOptions: SpanOptions;

  /** `server`: the broker the client was created for, when its service URL names one. */
  constructor(
    readonly topic: TopicName,
    subscription?: string,
    subscriptionType?: string,
    server?: ServerAddress,
  ) {
    this.sendSpanName = `send ${topic.base}`;
    this.processSpanName = `process ${topic.base}`;
    this.receiveSpanName = `receive ${topic.base}`;
    const common: Attributes = {
      [semconv.ATTR_MESSAGING_SYSTEM]: semconv.MESSAGING_SYSTEM_VALUE_PULSAR,
      [semconv.ATTR_MESSAGING_DESTINATION_NAME]: topic.base,
    };
    if (topic.partitionId !== undefined) common[semconv.ATTR_MESSAGING_DESTINATION_PARTITION_ID] = topic.partitionId;
    if (server !== undefined) {
      common[semconv.ATTR_SERVER_ADDRESS] = server.address;
      if (server.port !== undefined) common[semconv.ATTR_SERVER_PORT] = server.port;
    }
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
    const receive: Attributes = {
      ...common,
      [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'receive',
      [semconv.ATTR_MESSAGING_OPERATION_TYPE]: semconv.MESSAGING_OPERATION_TYPE_VALUE_RECEIVE,
    };
    if (subscription !== undefined) {
      process[semconv.ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME] = subscription;
      receive[semconv.ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME] = subscription;
    }
    this.processAttributes = process;
    this.receiveAttributes = receive;
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
  redelivered: settleAttributes('redelivered'),
};

function settleAttributes(kind: SettleKind): Attributes {
  return {
    [semconv.ATTR_MESSAGING_OPERATION_NAME]: kind,
    [semconv.ATTR_MESSAGING_OPERATION_TYPE]: semconv.MESSAGING_OPERATION_TYPE_VALUE_SETTLE,
  };
}

export interface SpanSettings {
  /** How a `process` span relates to the producer's context. */
  relation: ConsumerSpanRelation;
  /** Record `messaging.message.body.size` (reads the payload's length). */
  bodySize: boolean;
  /** Record a `receive {topic}` span for each `receive()` / `batchReceive()`. */
  receiveSpans: boolean;
}

/** A received message as the receive span reads it. */
export interface ReceivedMessage {
  getProperties(): { [key: string]: string };
  getMessageId(): unknown;
  getData(): { readonly length: number };
}

/** When a `receive()` call started, and the context it was called in (the receive span's parent). */
export interface ReceiveStart {
  readonly startTime: number;
  readonly context: Context;
}

export class KeyscopeSpans {
  readonly receiveSpans: boolean;
  private readonly relation: ConsumerSpanRelation;
  private readonly bodySize: boolean;

  constructor(
    public tracer: Tracer,
    private readonly keys: KeyRenderer,
    settings: SpanSettings,
  ) {
    this.relation = settings.relation;
    this.bodySize = settings.bodySize;
    this.receiveSpans = settings.receiveSpans;
  }

  /** Starts a `send` span with the destination's constant attributes (the ones a sampler may use). */
  startSend(destination: Destination, parent: Context): Span {
    return this.tracer.startSpan(destination.sendSpanName, destination.sendOptions, parent);
  }

  /** The per-message attributes of a recording `send` span. */
  describeSend(span: Span, key: string | undefined, producerId: string, seq: number, data: unknown): void {
    span.setAttribute(semconv.ATTR_KEYSCOPE_PRODUCER, producerId);
    span.setAttribute(semconv.ATTR_KEYSCOPE_SEQ, seq);
    this.setKey(span, key);
    if (this.bodySize) setBodySize(span, data);
  }

  /**
   * Ends a `send` span with the id the broker assigned; a producer of a
   * partitioned topic learns the partition from that id.
   */
  endSend(span: Span, destination: Destination, messageId: unknown): void {
    if (span.isRecording()) {
      const id = formatMessageId(messageId);
      if (id !== undefined) {
        span.setAttribute(semconv.ATTR_MESSAGING_MESSAGE_ID, id);
        if (destination.topic.partitionId === undefined) {
          const partition = partitionOfMessageId(id);
          if (partition !== undefined) span.setAttribute(semconv.ATTR_MESSAGING_DESTINATION_PARTITION_ID, partition);
        }
      }
    }
    span.end();
  }

  endSendWithError(span: Span, error: unknown): void {
    recordError(span, error);
    span.end();
  }

  /**
   * Starts the process span of a delivery: a child of the producer's context
   * that also links to it (relation 'parent', as the conventions ask for every
   * message a span accounts for), or a new trace linked to it (relation
   * 'link'). Baggage in `extracted` is kept either way.
   */
  startProcess(destination: Destination, extracted: Context, target: ProcessTarget): void {
    target.messageContext = extracted;
    const producerSpan = trace.getSpanContext(extracted);
    if (producerSpan === undefined) {
      target.span = this.tracer.startSpan(destination.processSpanName, destination.processOptions, extracted);
      return;
    }
    const parent = this.relation === 'parent' ? extracted : trace.deleteSpan(extracted);
    target.span = this.tracer.startSpan(
      destination.processSpanName,
      { kind: SpanKind.CONSUMER, attributes: destination.processAttributes, links: [{ context: producerSpan }] },
      parent,
    );
  }

  /**
   * The per-message attributes every recording consumer-side span carries:
   * the message id (the id object, or its `toString()` when the caller has
   * it already), and the body size by option.
   */
  describeMessage(span: Span, message: ReceivedMessage, messageId: unknown = message.getMessageId()): void {
    const id = formatMessageId(messageId);
    if (id !== undefined) span.setAttribute(semconv.ATTR_MESSAGING_MESSAGE_ID, id);
    if (this.bodySize) setBodySize(span, message.getData());
  }

  /**
   * Where a `receive()` call starts (read before the call): its time and the
   * caller's context. Undefined when receive spans are off. Wall-clock
   * milliseconds, the scale the SDK anchors span times to.
   */
  receiveStart(): ReceiveStart | undefined {
    return this.receiveSpans ? { startTime: Date.now(), context: context.active() } : undefined;
  }

  /**
   * Records the `receive` span of one `receive()` or `batchReceive()` call
   * that returned messages: CLIENT kind, from the call to its result, a child
   * of the caller's context and linked to each message's producer context.
   * `destination` is the messages' common destination, or undefined when a
   * batch spans several (the span is then named `receive`).
   */
  recordReceive(start: ReceiveStart, destination: Destination | undefined, messages: readonly ReceivedItem[]): void {
    if (messages.length === 0) return;
    const links: Link[] = [];
    for (const item of messages) {
      const producer = trace.getSpanContext(item.messageContext);
      if (producer !== undefined) links.push({ context: producer });
    }
    const attributes: Attributes = destination === undefined ? RECEIVE_WITHOUT_DESTINATION : destination.receiveAttributes;
    const span = this.tracer.startSpan(
      destination === undefined ? 'receive' : destination.receiveSpanName,
      { kind: SpanKind.CLIENT, attributes, links, startTime: start.startTime },
      start.context,
    );
    if (span.isRecording()) {
      if (messages.length === 1) {
        const only = messages[0] as ReceivedItem;
        this.describeMessage(span, only.message, only.messageId ?? null);
      } else {
        span.setAttribute(semconv.ATTR_MESSAGING_BATCH_MESSAGE_COUNT, messages.length);
        if (this.bodySize) {
          let total = 0;
          for (const item of messages) total += payloadLength(item.message.getData()) ?? 0;
          span.setAttribute(semconv.ATTR_MESSAGING_MESSAGE_BODY_SIZE, total);
        }
      }
    }
    span.end();
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

const RECEIVE_WITHOUT_DESTINATION: Attributes = {
  [semconv.ATTR_MESSAGING_SYSTEM]: semconv.MESSAGING_SYSTEM_VALUE_PULSAR,
  [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'receive',
  [semconv.ATTR_MESSAGING_OPERATION_TYPE]: semconv.MESSAGING_OPERATION_TYPE_VALUE_RECEIVE,
};

/** The payload's length in bytes (a Buffer's `length`), or undefined for anything else. */
function payloadLength(data: unknown): number | undefined {
  const length = (data as { length?: unknown } | null | undefined)?.length;
  return typeof length === 'number' && Number.isFinite(length) && length >= 0 ? length : undefined;
}

function setBodySize(span: Span, data: unknown): void {
  const length = payloadLength(data);
  if (length !== undefined) span.setAttribute(semconv.ATTR_MESSAGING_MESSAGE_BODY_SIZE, length);
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
