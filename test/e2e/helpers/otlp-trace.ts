/**
 * One trace as Jaeger v2 serves it in OpenTelemetry's own shape
 * (`/api/v3/traces/<id>`): parent span id and links side by side, which the
 * older `/api/traces` view folds into one list of references.
 */

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** SpanKind as OTLP numbers it: 3 CLIENT, 4 PRODUCER, 5 CONSUMER. */
  kind: number;
  links: { traceId: string; spanId: string }[];
  attributes: Record<string, string | number | boolean>;
  /** `service.name` of the resource the span came from. */
  service: string;
}

export const SPAN_KIND = { CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}

interface KeyValue {
  key: string;
  value: AnyValue;
}

interface TraceResponse {
  result?: {
    resourceSpans?: {
      resource?: { attributes?: KeyValue[] };
      scopeSpans?: {
        spans?: {
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          kind: number | string;
          links?: { traceId: string; spanId: string }[];
          attributes?: KeyValue[];
        }[];
      }[];
    }[];
  };
}

const KIND_NAMES: Record<string, number> = { SPAN_KIND_CLIENT: 3, SPAN_KIND_PRODUCER: 4, SPAN_KIND_CONSUMER: 5 };

function plain(value: AnyValue): string | number | boolean {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  return JSON.stringify(value);
}

function attributes(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) out[key] = plain(value);
  return out;
}

/** The spans of one trace; empty while Jaeger does not have it. */
export async function getOtlpTrace(jaegerUrl: string, traceId: string): Promise<OtlpSpan[]> {
  const response = await fetch(`${jaegerUrl}/api/v3/traces/${traceId}`, { signal: AbortSignal.timeout(5_000) });
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`Jaeger answered ${response.status} for trace ${traceId}: ${(await response.text()).slice(0, 300)}`);
  const body = (await response.json()) as TraceResponse;
  const spans: OtlpSpan[] = [];
  for (const resourceSpans of body.result?.resourceSpans ?? []) {
    const service = String(attributes(resourceSpans.resource?.attributes)['service.name'] ?? '');
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        spans.push({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId === undefined || span.parentSpanId === '' ? undefined : span.parentSpanId,
          name: span.name,
          kind: typeof span.kind === 'number' ? span.kind : (KIND_NAMES[span.kind] ?? 0),
          links: (span.links ?? []).map((link) => ({ traceId: link.traceId, spanId: link.spanId })),
          attributes: attributes(span.attributes),
          service,
        });
      }
    }
  }
  return spans;
}
