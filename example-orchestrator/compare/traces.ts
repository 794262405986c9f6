/** Finds a trace of one subscriber in Jaeger, for the report's "look here" link. */

export interface TraceLink {
  subscriberId: string;
  traceId?: string;
  url: string;
}

const KEY_TAG = 'messaging.pulsar.message.key';

export async function findTrace(jaegerUrl: string, subscriberId: string, runId: string): Promise<TraceLink> {
  const base = jaegerUrl.replace(/\/+$/, '');
  const tags = JSON.stringify({ [KEY_TAG]: subscriberId });
  let service = 'orchestrator';
  try {
    const services = (await (await fetch(`${base}/api/services`, { signal: AbortSignal.timeout(5000) })).json()) as { data?: string[] };
    service = services.data?.find((name) => name.includes('orchestrator')) ?? service;
  } catch {
    // Jaeger not reachable: the search link below still tells where to look.
  }
  const search = `${base}/search?service=${encodeURIComponent(service)}&tags=${encodeURIComponent(tags)}&lookback=2h&limit=20`;
  try {
    const response = await fetch(
      `${base}/api/traces?service=${encodeURIComponent(service)}&tags=${encodeURIComponent(tags)}&lookback=2h&limit=20`,
      { signal: AbortSignal.timeout(5000) },
    );
    const body = (await response.json()) as {
      data?: Array<{ traceID: string; spans: Array<{ tags: Array<{ key: string; value: unknown }> }> }>;
    };
    // Prefer a trace of this run (the topic names carry the run id).
    const traces = body.data ?? [];
    const ofRun = traces.find((trace) =>
      trace.spans.some((span) => span.tags.some((tag) => typeof tag.value === 'string' && tag.value.includes(runId))),
    );
    const traceId = (ofRun ?? traces[0])?.traceID;
    if (traceId !== undefined) return { subscriberId, traceId, url: `${base}/trace/${traceId}` };
  } catch {
    // Fall back to the search link.
  }
  return { subscriberId, url: search };
}
