/** Hands every span of a decoded OTLP trace export to an auditor. */
import type { Auditor } from '../auditor.js';
import { spanEndMillis, windowOfSpan } from './span-window.js';
import type { OtlpTracesRequest } from './types.js';

export interface FeedResult {
  spans: number;
  violations: number;
}

export function auditTraces(auditor: Auditor, request: OtlpTracesRequest): FeedResult {
  let spans = 0;
  let violations = 0;
  let newestEnd = 0;
  for (const resourceSpans of request.resourceSpans ?? []) {
    for (const scopeSpans of resourceSpans?.scopeSpans ?? []) {
      for (const span of scopeSpans?.spans ?? []) {
        if (span === null || typeof span !== 'object') continue;
        spans++;
        const verdict = windowOfSpan(span);
        if (verdict === 'ignored') auditor.ignore();
        else if (typeof verdict === 'string') auditor.drop(verdict);
        else violations += auditor.ingest(verdict);
        const end = spanEndMillis(span);
        if (end > newestEnd) newestEnd = end;
      }
    }
  }
  auditor.observeBatch(newestEnd);
  return { spans, violations };
}
