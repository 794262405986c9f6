/**
 * The part of OTLP's trace data model the auditor reads, as both encodings
 * present it once decoded: protobufjs messages (ids as bytes, 64-bit integers
 * as Long) and OTLP/JSON (ids as hex, 64-bit integers as strings or numbers).
 * Field names are the protobuf JSON names, which both share.
 */
interface LongLike {
  toNumber(): number;
}

export type OtlpInt64 = number | string | LongLike;

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: OtlpInt64;
  doubleValue?: number;
}

export interface OtlpKeyValue {
  key?: string;
  value?: OtlpAnyValue | null;
}

interface OtlpEvent {
  timeUnixNano?: OtlpInt64;
  name?: string;
  attributes?: OtlpKeyValue[];
}

export interface OtlpSpan {
  traceId?: Uint8Array | string;
  spanId?: Uint8Array | string;
  name?: string;
  kind?: number | string;
  startTimeUnixNano?: OtlpInt64;
  endTimeUnixNano?: OtlpInt64;
  attributes?: OtlpKeyValue[];
  events?: OtlpEvent[];
}

interface OtlpScopeSpans {
  spans?: OtlpSpan[];
}

interface OtlpResourceSpans {
  resource?: { attributes?: OtlpKeyValue[] } | null;
  scopeSpans?: OtlpScopeSpans[];
}

export interface OtlpTracesRequest {
  resourceSpans?: OtlpResourceSpans[];
}
