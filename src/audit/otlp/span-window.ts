/**
 * Turns a decoded `process` span into a processing window, reading the
 * attributes keyscope's consumer wrapper writes (see src/telemetry/spans.ts)
 * and its `settle` event.
 */
import * as semconv from '../../semconv.js';
import type { DropReason, ProcessWindow } from '../window.js';
import type { OtlpAnyValue, OtlpInt64, OtlpKeyValue, OtlpSpan } from './types.js';

/** OTLP's SPAN_KIND_CONSUMER. */
const SPAN_KIND_CONSUMER = 5;
const SETTLE_EVENT = 'settle';

export type SpanVerdict = ProcessWindow | DropReason | 'ignored';

export function windowOfSpan(span: OtlpSpan): SpanVerdict {
  let operationType: string | undefined;
  let subscription: string | undefined;
  let topic = '';
  let key: string | undefined;
  let consumer: string | undefined;
  let producer: string | undefined;
  let seq: number | undefined;
  let redeliveryCount = 0;
  let messageId: string | undefined;
  const attributes = span.attributes ?? [];
  for (let i = 0; i < attributes.length; i++) {
    const attribute = attributes[i] as OtlpKeyValue;
    switch (attribute.key) {
      case semconv.ATTR_MESSAGING_OPERATION_TYPE:
        operationType = stringOf(attribute.value);
        break;
      case semconv.ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME:
        subscription = stringOf(attribute.value);
        break;
      case semconv.ATTR_MESSAGING_DESTINATION_NAME:
        topic = stringOf(attribute.value) ?? '';
        break;
      case semconv.ATTR_MESSAGING_PULSAR_MESSAGE_KEY:
        key = stringOf(attribute.value);
        break;
      case semconv.ATTR_KEYSCOPE_CONSUMER:
        consumer = stringOf(attribute.value);
        break;
      case semconv.ATTR_KEYSCOPE_PRODUCER:
        producer = stringOf(attribute.value);
        break;
      case semconv.ATTR_KEYSCOPE_SEQ:
        seq = numberOf(attribute.value);
        break;
      case semconv.ATTR_MESSAGING_PULSAR_REDELIVERY_COUNT:
        redeliveryCount = numberOf(attribute.value) ?? 0;
        break;
      case semconv.ATTR_MESSAGING_MESSAGE_ID:
        messageId = stringOf(attribute.value);
        break;
    }
  }
  if (operationType !== semconv.MESSAGING_OPERATION_TYPE_VALUE_PROCESS) return 'ignored';
  // Spans of other instrumentations may use the same operation type on another span kind.
  if (span.kind !== undefined && Number(span.kind) !== SPAN_KIND_CONSUMER && span.kind !== 'SPAN_KIND_CONSUMER') return 'ignored';
  if (key === undefined || key === '') return 'no_key';
  if (subscription === undefined || subscription === '') return 'no_subscription';
  if (consumer === undefined || consumer === '') return 'no_consumer';
  const receivedAt = millisOf(span.startTimeUnixNano);
  const endedAt = millisOf(span.endTimeUnixNano);
  if (!(receivedAt > 0) || !(endedAt >= receivedAt)) return 'bad_time';
  let settledAt = endedAt;
  let settle = 'ended';
  const events = span.events;
  if (events !== undefined) {
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      if (event?.name !== SETTLE_EVENT) continue;
      const at = millisOf(event.timeUnixNano);
      if (at >= receivedAt) settledAt = at;
      settle = settleKindOf(event.attributes) ?? 'settle';
      break;
    }
  }
  return {
    subscription,
    topic,
    key,
    consumer,
    producer,
    seq,
    redeliveryCount,
    receivedAt,
    settledAt,
    settle,
    spanId: idOf(span.spanId),
    traceId: idOf(span.traceId),
    messageId,
  };
}

/** The end time of a span in epoch milliseconds (0 when absent), for the audit lag. */
export function spanEndMillis(span: OtlpSpan): number {
  return millisOf(span.endTimeUnixNano);
}

function settleKindOf(attributes: OtlpKeyValue[] | undefined): string | undefined {
  if (attributes === undefined) return undefined;
  for (const attribute of attributes) {
    if (attribute.key === semconv.ATTR_MESSAGING_OPERATION_NAME) return stringOf(attribute.value);
  }
  return undefined;
}

// Decoded protobuf messages keep unset fields' defaults on the prototype, so
// only own properties tell which member of AnyValue's oneof is set.
function stringOf(value: OtlpAnyValue | null | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Object.hasOwn(value, 'stringValue')) return value.stringValue;
  if (Object.hasOwn(value, 'intValue')) return String(int64Of(value.intValue));
  return undefined;
}

function numberOf(value: OtlpAnyValue | null | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  let n: number;
  if (Object.hasOwn(value, 'intValue')) n = int64Of(value.intValue);
  else if (Object.hasOwn(value, 'doubleValue')) n = Number(value.doubleValue);
  else if (Object.hasOwn(value, 'stringValue')) n = Number(value.stringValue);
  else return undefined;
  return Number.isFinite(n) ? n : undefined;
}

function int64Of(value: OtlpInt64 | undefined): number {
  if (value === undefined) return Number.NaN;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  return value.toNumber();
}

function millisOf(nanos: OtlpInt64 | undefined): number {
  const n = int64Of(nanos);
  return Number.isFinite(n) ? n / 1e6 : 0;
}

function idOf(id: Uint8Array | string | undefined): string {
  if (id === undefined) return '';
  if (typeof id === 'string') return id.toLowerCase();
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}
