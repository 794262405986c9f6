/**
 * Reads one key's spans from Jaeger's HTTP query API (/api/services,
 * /api/traces with a tag filter), as served by Jaeger v2 and by the Jaeger
 * container image, and turns them into the OTLP span shape the auditor reads.
 */
import { KeyscopeError } from '../errors.js';
import * as semconv from '../semconv.js';
import type { OtlpKeyValue, OtlpSpan } from '../audit/otlp/types.js';

export class JaegerQueryError extends KeyscopeError {
  override get name(): string {
    return 'JaegerQueryError';
  }
}

interface JaegerTag {
  key: string;
  type?: string;
  value: unknown;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  /** Microseconds since the epoch. */
  startTime: number;
  duration: number;
  tags?: JaegerTag[];
  logs?: Array<{ timestamp: number; fields?: JaegerTag[] }>;
  processID?: string;
}

interface JaegerTrace {
  traceID: string;
  spans?: JaegerSpan[];
  processes?: Record<string, { serviceName?: string }>;
}

export interface KeySpansQuery {
  /** Jaeger's query URL, e.g. http://127.0.0.1:16686. */
  jaegerUrl: string;
  /** The key as it appears on spans (hashed, or plain under keyPolicy 'plain'). */
  renderedKey: string;
  /** Services to search; default every service Jaeger knows (up to maxServices). */
  services?: string[];
  startMs: number;
  endMs: number;
  /** Traces per service. Default 200. */
  limit?: number;
  maxServices?: number;
  timeoutMs?: number;
}

export interface KeySpan {
  readonly span: OtlpSpan;
  readonly service: string;
}

export async function fetchKeySpans(query: KeySpansQuery): Promise<KeySpan[]> {
  const base = query.jaegerUrl.replace(/\/+$/, '');
  const timeoutMs = query.timeoutMs ?? 10_000;
  const services = query.services ?? (await listServices(base, timeoutMs)).slice(0, query.maxServices ?? 50);
  const tags = JSON.stringify({ [semconv.ATTR_MESSAGING_PULSAR_MESSAGE_KEY]: query.renderedKey });
  const seen = new Set<string>();
  const found: KeySpan[] = [];
  for (const service of services) {
    const params = new URLSearchParams({
      service,
      tags,
      start: String(Math.floor(query.startMs * 1000)),
      end: String(Math.ceil(query.endMs * 1000)),
      limit: String(query.limit ?? 200),
    });
    const body = (await getJson(`${base}/api/traces?${params.toString()}`, timeoutMs)) as { data?: JaegerTrace[] } | null;
    for (const trace of body?.data ?? []) {
      for (const span of trace.spans ?? []) {
        if (seen.has(span.spanID)) continue;
        seen.add(span.spanID);
        const serviceName = trace.processes?.[span.processID ?? '']?.serviceName ?? service;
        found.push({ span: toOtlpSpan(span), service: serviceName });
      }
    }
  }
  return found;
}

async function listServices(base: string, timeoutMs: number): Promise<string[]> {
  const body = (await getJson(`${base}/api/services`, timeoutMs)) as { data?: unknown } | null;
  const data = Array.isArray(body?.data) ? body.data.filter((s): s is string => typeof s === 'string') : [];
  return data.filter((service) => service !== 'jaeger' && service !== 'jaeger-all-in-one');
}

async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    throw new JaegerQueryError(
      `Jaeger's query API is unreachable at ${new URL(url).origin} (${cause?.code ?? (error as Error).message}): check --jaeger-url`,
    );
  }
  if (!response.ok) {
    const text = (await response.text().catch(() => '')).slice(0, 300);
    throw new JaegerQueryError(`Jaeger answered HTTP ${response.status} for ${new URL(url).pathname}: ${text}`);
  }
  return response.json();
}

/** A Jaeger JSON span in OTLP's shape: tags become attributes, logs become events (their `event` field is the name). */
export function toOtlpSpan(span: JaegerSpan): OtlpSpan {
  const attributes = (span.tags ?? []).map(toKeyValue);
  const kind = span.tags?.find((t) => t.key === 'span.kind')?.value;
  return {
    traceId: span.traceID,
    spanId: span.spanID,
    name: span.operationName,
    kind: kind === 'consumer' ? 5 : kind === 'producer' ? 4 : undefined,
    startTimeUnixNano: span.startTime * 1000,
    endTimeUnixNano: (span.startTime + span.duration) * 1000,
    attributes,
    events: (span.logs ?? []).map((log) => ({
      timeUnixNano: log.timestamp * 1000,
      name: String(log.fields?.find((f) => f.key === 'event')?.value ?? ''),
      attributes: (log.fields ?? []).filter((f) => f.key !== 'event').map(toKeyValue),
    })),
  };
}

function toKeyValue(tag: JaegerTag): OtlpKeyValue {
  const value = tag.value;
  if (typeof value === 'number')
    return { key: tag.key, value: Number.isInteger(value) && tag.type !== 'float64' ? { intValue: value } : { doubleValue: value } };
  if (typeof value === 'boolean') return { key: tag.key, value: { boolValue: value } };
  return { key: tag.key, value: { stringValue: String(value) } };
}
