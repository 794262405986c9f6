/**
 * Small clients for the HTTP APIs of Jaeger (the query API its UI uses) and
 * Prometheus, plus bounded polling. Used by the demo's report and by the
 * end-to-end test of the stack.
 */

export interface JaegerTag {
  key: string;
  type: string;
  value: unknown;
}

export interface JaegerReference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: JaegerReference[];
  tags: JaegerTag[];
  /** Microseconds since the epoch. */
  startTime: number;
  /** Microseconds. */
  duration: number;
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags?: JaegerTag[] }>;
}

export interface TraceSearch {
  service: string;
  operation?: string;
  /** Tag filters, e.g. { 'messaging.destination.name': topic }. */
  tags?: Record<string, string>;
  limit?: number;
  lookback?: string;
}

async function getJson<T>(url: string, what: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    throw new Error(`${what} at ${new URL(url).origin} did not answer (${String(error)}); is the stack up? (npm run stack:status)`);
  }
  if (!response.ok) throw new Error(`${what} answered ${response.status} for ${url}: ${(await response.text()).slice(0, 300)}`);
  return (await response.json()) as T;
}

export async function searchTraces(jaegerUrl: string, search: TraceSearch): Promise<JaegerTrace[]> {
  const params = new URLSearchParams({
    service: search.service,
    limit: String(search.limit ?? 20),
    lookback: search.lookback ?? '1h',
  });
  if (search.operation !== undefined) params.set('operation', search.operation);
  if (search.tags !== undefined) params.set('tags', JSON.stringify(search.tags));
  const body = await getJson<{ data: JaegerTrace[] | null }>(`${jaegerUrl}/api/traces?${params}`, 'Jaeger');
  return body.data ?? [];
}

/** The trace with this id, or undefined when Jaeger does not have it (404). */
export async function getTrace(jaegerUrl: string, traceId: string): Promise<JaegerTrace | undefined> {
  const url = `${jaegerUrl}/api/traces/${traceId}`;
  const status = (await fetch(url, { method: 'GET', signal: AbortSignal.timeout(5_000) }).catch(() => undefined))?.status;
  if (status === 404) return undefined;
  const body = await getJson<{ data: JaegerTrace[] | null }>(url, 'Jaeger');
  return body.data?.[0];
}

export function tag(span: JaegerSpan, key: string): unknown {
  return span.tags.find((candidate) => candidate.key === key)?.value;
}

/** The producer span and a consumer span of one trace, the consumer a child of the producer. */
export interface MessageHop {
  trace: JaegerTrace;
  send: JaegerSpan;
  process: JaegerSpan;
}

export function findMessageHop(trace: JaegerTrace, topic?: string): MessageHop | undefined {
  const isKind = (span: JaegerSpan, kind: string) => tag(span, 'span.kind') === kind;
  for (const process of trace.spans) {
    if (!isKind(process, 'consumer') || !process.operationName.startsWith('process ')) continue;
    if (topic !== undefined && process.operationName !== `process ${topic}`) continue;
    // A parent that is also linked (the messaging conventions' process span) shows as one FOLLOWS_FROM reference in this view.
    const parent =
      process.references.find((reference) => reference.refType === 'CHILD_OF') ??
      process.references.find((reference) => reference.refType === 'FOLLOWS_FROM' && reference.traceID === process.traceID);
    const send = trace.spans.find(
      (span) => span.spanID === parent?.spanID && isKind(span, 'producer') && span.operationName.startsWith('send '),
    );
    if (send !== undefined) return { trace, send, process };
  }
  return undefined;
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export async function promQuery(prometheusUrl: string, query: string): Promise<PromSample[]> {
  const body = await getJson<{
    status: string;
    error?: string;
    data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
  }>(`${prometheusUrl}/api/v1/query?${new URLSearchParams({ query })}`, 'Prometheus');
  if (body.status !== 'success') throw new Error(`Prometheus rejected ${query}: ${body.error ?? body.status}`);
  if (body.data.resultType !== 'vector') throw new Error(`expected an instant vector from ${query}, got ${body.data.resultType}`);
  return body.data.result.map((sample) => ({ metric: sample.metric, value: Number(sample.value[1]) }));
}

/**
 * Calls `attempt` every `intervalMs` until it returns a value other than
 * undefined or `timeoutMs` passes; then returns undefined. Errors of an
 * attempt count as "not yet" (the last one is rethrown at the deadline).
 */
export async function pollUntil<T>(attempt: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 1_000): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await attempt();
      if (result !== undefined) return result;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() + intervalMs > deadline) {
      if (lastError !== undefined) throw lastError;
      return undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
