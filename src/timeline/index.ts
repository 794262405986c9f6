/** One key's messages across consumers, from Jaeger: `import { keyTimeline } from 'pulsar-keyscope/timeline'`. */
import { AUDITOR_DEFAULTS } from '../audit/auditor.js';
import { windowOfSpan } from '../audit/otlp/span-window.js';
import type { ProcessWindow } from '../audit/window.js';
import { DEFAULT_KEY_HASH_SECRET, KeyRenderer } from '../telemetry/key-policy.js';
import { fetchKeySpans } from './jaeger.js';
import { timelineJson, type TimelineJson } from './render.js';
import { buildTimeline } from './timeline.js';

export { fetchKeySpans, toOtlpSpan, JaegerQueryError, type JaegerSpan, type KeySpansQuery, type KeySpan } from './jaeger.js';
export { buildTimeline, type TimelineRow } from './timeline.js';
export { renderTimeline, timelineJson, type TimelineJson } from './render.js';

export interface KeyTimelineOptions {
  jaegerUrl: string;
  /** The message key. */
  key: string;
  /**
   * How the key appears on spans: 'hashed' (the library's default: the key is
   * hashed here the same way), 'plain', or 'hash' when `key` already is the hash.
   */
  keyForm?: 'hashed' | 'plain' | 'hash';
  keyHashSecret?: string;
  services?: string[];
  startMs: number;
  endMs: number;
  limit?: number;
  skewToleranceMs?: number;
}

export async function keyTimeline(options: KeyTimelineOptions): Promise<TimelineJson> {
  const form = options.keyForm ?? 'hashed';
  const renderedKey =
    form === 'hashed' ? new KeyRenderer('hashed', options.keyHashSecret ?? DEFAULT_KEY_HASH_SECRET).hash(options.key) : options.key;
  const spans = await fetchKeySpans({
    jaegerUrl: options.jaegerUrl,
    renderedKey,
    services: options.services,
    startMs: options.startMs,
    endMs: options.endMs,
    limit: options.limit,
  });
  const entries: Array<{ window: ProcessWindow; service: string }> = [];
  for (const { span, service } of spans) {
    const window = windowOfSpan(span);
    // The tag filter matches whole traces: keep this key's process spans only.
    if (typeof window === 'object' && window.key === renderedKey) entries.push({ window, service });
  }
  return timelineJson(options.key, renderedKey, buildTimeline(entries, options.skewToleranceMs ?? AUDITOR_DEFAULTS.skewToleranceMs));
}
