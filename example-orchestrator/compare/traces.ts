/** Finds a trace of one subscriber of one run in Jaeger, for the report's "look here" link. */

export interface TraceLink {
  subscriberId: string;
  traceId?: string;
  /** The trace, or the search when none was found. */
  url: string;
  /** Every trace of the subscriber on the run's events topic. */
  searchUrl: string;
}

const KEY_TAG = 'messaging.pulsar.message.key';
const TOPIC_TAG = 'messaging.destination.name';

/**
 * A trace of the subscriber's events on the run's events topic (its process
 * spans carry both as tags), or, when Jaeger has none (yet), the search that
 * lists them.
 */
export async function findTrace(jaegerUrl: string, subscriberId: string, eventsTopic: string): Promise<TraceLink> {
  const base = jaegerUrl.replace(/\/+$/, '');
  const tags = encodeURIComponent(JSON.stringify({ [KEY_TAG]: subscriberId, [TOPIC_TAG]: eventsTopic }));
  let service = 'orchestrator';
  try {
    const services = (await (await fetch(`${base}/api/services`, { signal: AbortSignal.timeout(5000) })).json()) as { data?: string[] };
    // The orchestrator's consumers report as service "orchestrator"; other tools' names may contain the word.
    const names = services.data ?? [];
    service = names.includes(service) ? service : (names.find((name) => name.includes('orchestrator')) ?? service);
  } catch {
    // Jaeger not reachable: the search link below still tells where to look.
  }
  const query = `service=${encodeURIComponent(service)}&tags=${tags}&lookback=2h&limit=20`;
  const searchUrl = `${base}/search?${query}`;
  try {
    const response = await fetch(`${base}/api/traces?${query}`, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { data?: Array<{ traceID: string }> };
    const traceId = body.data?.[0]?.traceID;
    if (traceId !== undefined) return { subscriberId, traceId, url: `${base}/trace/${traceId}`, searchUrl };
  } catch {
    // Fall back to the search link.
  }
  return { subscriberId, url: searchUrl, searchUrl };
}
