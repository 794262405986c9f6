/**
 * What the stack's cross-consumer auditor (`keyscope audit`) counted for the
 * orchestrator's subscription: it sees every consumer's spans, so it finds
 * the split brain that no single process can see. Read before and after a
 * mode's leg; the difference is that leg's (plus that of any other run on the
 * same stack at the same time: the auditor's labels do not name the topic).
 */
import { parsePrometheusText, sumOf } from './prometheus-text.js';

export interface AuditCounts {
  exclusivity: number;
  reorder: number;
}

const METRIC = 'keyscope_audit_violations_total';

export function auditorMetricsUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.KEYSCOPE_AUDIT_METRICS_URL ?? `http://127.0.0.1:${env.KEYSCOPE_AUDIT_METRICS_PORT ?? '9465'}/metrics`;
}

/** The auditor's counts for one subscription; undefined when no auditor answers there. */
export async function readAuditCounts(url: string, subscription: string): Promise<AuditCounts | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    if (!response.ok) return undefined;
    const samples = parsePrometheusText(await response.text());
    if (!samples.some((sample) => sample.name === METRIC)) return undefined;
    return {
      exclusivity: sumOf(samples, METRIC, { subscription, kind: 'exclusivity' }),
      reorder: sumOf(samples, METRIC, { subscription, kind: 'reorder' }),
    };
  } catch {
    return undefined;
  }
}

export function auditDelta(before: AuditCounts | undefined, after: AuditCounts | undefined): AuditCounts | null {
  if (before === undefined || after === undefined) return null;
  return { exclusivity: after.exclusivity - before.exclusivity, reorder: after.reorder - before.reorder };
}
