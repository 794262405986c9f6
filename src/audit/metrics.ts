/**
 * The auditor's Prometheus metrics. Values are read from the Auditor when the
 * registry collects, so auditing a span costs no metric work.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Auditor, AuditViolationKind, OverflowKind } from './auditor.js';
import { DROP_REASONS } from './window.js';

const KINDS: readonly AuditViolationKind[] = ['exclusivity', 'reorder'];
const OVERFLOWS: readonly OverflowKind[] = ['keys', 'windows', 'violating_keys'];

export interface AuditMetricsOptions {
  /** Keys exported with a `key` label on keyscope_audit_violating_key_violations. Default 10. */
  topKeys?: number;
}

/** Registers the auditor's metrics on `registry` (prom-client Registry). */
export function registerAuditMetrics(registry: Registry, auditor: Auditor, options: AuditMetricsOptions = {}): void {
  const topKeys = options.topKeys ?? 10;
  const registers = [registry];
  new Counter({
    name: 'keyscope_audit_violations_total',
    help: 'Cross-consumer violations found by the auditor, by subscription and kind (exclusivity: one key processed at two consumers at once; reorder: a lower seq processed after a higher one elsewhere).',
    labelNames: ['subscription', 'kind'],
    registers,
    collect() {
      this.reset();
      for (const [subscription, counts] of auditor.violationsBySubscription()) {
        for (const kind of KINDS) this.inc({ subscription, kind }, counts[kind]);
      }
    },
  });
  new Counter({
    name: 'keyscope_audit_spans_total',
    help: 'Spans received by the auditor (audited, dropped or not process spans).',
    registers,
    collect() {
      this.reset();
      this.inc(auditor.spans);
    },
  });
  new Counter({
    name: 'keyscope_audit_audited_spans_total',
    help: 'Process spans audited as processing windows.',
    registers,
    collect() {
      this.reset();
      this.inc(auditor.audited);
    },
  });
  new Counter({
    name: 'keyscope_audit_ignored_spans_total',
    help: 'Spans that are not process spans (sends, other operations), not audited.',
    registers,
    collect() {
      this.reset();
      this.inc(auditor.ignored);
    },
  });
  new Counter({
    name: 'keyscope_audit_dropped_spans_total',
    help: 'Process spans not audited, by reason (missing key, subscription or consumer attribute, bad times, older than the window, duplicates, over the subscription cap).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const reason of DROP_REASONS) this.inc({ reason }, auditor.dropped[reason]);
    },
  });
  new Counter({
    name: 'keyscope_audit_overflow_total',
    help: 'State forgotten early to stay within the auditor bounds (keys, windows per key, violating keys).',
    labelNames: ['what'],
    registers,
    collect() {
      this.reset();
      for (const what of OVERFLOWS) this.inc({ what }, auditor.overflow[what]);
    },
  });
  new Gauge({
    name: 'keyscope_audit_keys',
    help: 'Keys the auditor currently remembers (bounded by its key cap).',
    registers,
    collect() {
      this.set(auditor.keyCount);
    },
  });
  new Gauge({
    name: 'keyscope_audit_lag_seconds',
    help: 'How long after the newest span of the latest batch ended it was audited.',
    registers,
    collect() {
      this.reset();
      if (auditor.lagSeconds !== undefined) this.set(auditor.lagSeconds);
    },
  });
  new Gauge({
    name: 'keyscope_audit_violating_key_violations',
    help: 'Violations of the keys with the most violations (top K only).',
    labelNames: ['subscription', 'key'],
    registers,
    collect() {
      this.reset();
      // The label set has no topic: one key of two topics under one subscription name adds up.
      const bySubscriptionKey = new Map<string, { subscription: string; key: string; violations: number }>();
      for (const entry of auditor.topViolatingKeys(topKeys)) {
        const id = `${entry.subscription}\n${entry.key}`;
        const sum = bySubscriptionKey.get(id) ?? { subscription: entry.subscription, key: entry.key, violations: 0 };
        sum.violations += entry.violations;
        bySubscriptionKey.set(id, sum);
      }
      for (const sum of bySubscriptionKey.values()) this.set({ subscription: sum.subscription, key: sum.key }, sum.violations);
    },
  });
}
