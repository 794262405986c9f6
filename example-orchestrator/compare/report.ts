/**
 * report.json: one entry per mode run on the same seeded load and fault
 * schedule, and the targets the comparison checks. Everything the HTML report
 * and the printed table show comes from this object.
 */
import type { Mode } from '../modes/modes.js';
import type { ViolationExample, ViolationKind } from '../oracle/report.js';
import type { FaultRecord } from '../faults/runner.js';
import type { LoadSummary } from '../loadgen/plan.js';

export const KEYSCOPE_KINDS = ['reorder', 'redelivery_reorder', 'concurrent'] as const;
export type KeyscopeKind = (typeof KEYSCOPE_KINDS)[number];

/**
 * Which oracle kind each keyscope kind speaks to. keyscope sees one process:
 * a reorder there is an event applied out of order; two overlapping windows of
 * one key there are a split brain inside the process. Split brain across
 * processes (lost updates, double sends) needs a view over every consumer:
 * the cross-consumer auditor (`keyscope audit`).
 */
export const DETECTION_PAIRS: ReadonlyArray<{ keyscope: KeyscopeKind; oracle: ViolationKind[] }> = [
  { keyscope: 'reorder', oracle: ['out_of_order'] },
  { keyscope: 'concurrent', oracle: ['lost_update', 'double_send'] },
];

export interface DetectionScore {
  keyscope: KeyscopeKind;
  oracle: ViolationKind[];
  /** Subscribers the oracle found with a violation of these kinds. */
  oracleKeys: number;
  /** Subscribers keyscope flagged with this kind. */
  detectedKeys: number;
  /** Flagged by both. */
  truePositiveKeys: number;
  /** Flagged by keyscope, clean for the oracle. */
  falsePositiveKeys: number;
  /** truePositiveKeys / oracleKeys; null when the oracle found none. */
  recall: number | null;
}

interface TimeSeries {
  /** Seconds since the run's clock origin (when publishing started). */
  t: number[];
  /** Events published per second. */
  published: number[];
  /** State writes (events and timers applied) per second. */
  applied: number[];
  /** End-to-end latency (event publish -> provider acceptance) per second of acceptance. */
  p50Ms: Array<number | null>;
  p99Ms: Array<number | null>;
}

export interface ModeResult {
  mode: Mode;
  runId: string;
  runDir: string;
  /** Orchestrator processes at the start (add-consumer faults add more). */
  consumers: number;
  /** Events published and confirmed. */
  events: number;
  /** Subscriber events applied by state writes (timer writes not counted). */
  applied: number;
  /** From the first publish to the last state write, ms. */
  elapsedMs: number;
  /** Subscriber events applied per second over elapsedMs. */
  throughput: number;
  /** End-to-end latency of sends, event publish -> provider acceptance. */
  p50Ms: number;
  p99Ms: number;
  deliveries: number;
  /** Oracle violations by kind. */
  oracle: Record<ViolationKind, number>;
  oracleTotal: number;
  oracleExamples: Partial<Record<ViolationKind, ViolationExample[]>>;
  /** keyscope detections by kind (sum over the mode's processes, killed ones included). */
  keyscope: Record<KeyscopeKind, number>;
  detection: DetectionScore[];
  /** What the stack's cross-consumer auditor (keyscope audit) counted during this mode's leg; null without an auditor. */
  auditor: { exclusivity: number; reorder: number } | null;
  /** Messages keyscope counted as stalled (in flight past the stall threshold). */
  stalls: number;
  /** Keys keyscope reported among the oldest stalled ones, with the oldest age seen. */
  stalledKeys: Array<{ key: string; maxAgeSeconds: number }>;
  /** Timed sends (reminders, follow-ups): acceptance minus due time, wall ms. */
  lateness: { count: number; p50Ms: number; p99Ms: number; maxMs: number };
  redeliveries: number;
  /** shared_redis_lock only: lock acquisitions, their waits and the fencing rejections. */
  locks: { acquisitions: number; waitMeanMs: number; waitTotalMs: number; contended: number; fencingRejections: number } | null;
  deadLettered: number;
  deadLettersByReason: Record<string, number>;
  /** CPU of the orchestrator processes per applied event, ms. */
  cpuMsPerEvent: number;
  faults: FaultRecord[];
  series: TimeSeries;
  /** From starting the mode's processes until all were subscribed, ms. */
  startupMs: number;
  /** What went differently from plan (e.g. the backlog did not drain in time). */
  notes: string[];
  /** A trace of a key the oracle found split (shared modes), for Jaeger. */
  trace?: { subscriberId: string; traceId?: string; url: string; searchUrl: string };
}

export interface TargetCheck {
  name: string;
  passed: boolean;
  /** The measured figure, e.g. "0.97x". */
  measured: string;
  detail: string;
}

export interface ComparisonReport {
  generatedAt: string;
  command: string;
  options: {
    modes: Mode[];
    durationMs: number;
    subscribers: number;
    ratePerSecond: number;
    seed: number;
    faults: string;
    consumers: number;
  };
  load: LoadSummary;
  modes: ModeResult[];
  targets: TargetCheck[];
  links: { jaeger: string; prometheus: string; grafana: string };
}

/** The comparison's targets, over whichever of the modes ran. */
export function checkTargets(modes: readonly ModeResult[]): TargetCheck[] {
  const byMode = new Map(modes.map((result) => [result.mode, result]));
  const keyShared = byMode.get('key_shared');
  const shared = byMode.get('shared');
  const locked = byMode.get('shared_redis_lock');
  const failover = byMode.get('failover');
  const checks: TargetCheck[] = [];
  const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.POSITIVE_INFINITY);
  if (keyShared !== undefined && shared !== undefined) {
    const r = ratio(keyShared.throughput, shared.throughput);
    checks.push({
      name: 'key_shared throughput >= 0.9x shared',
      passed: r >= 0.9,
      measured: `${r.toFixed(2)}x`,
      detail: `${keyShared.throughput.toFixed(1)} vs ${shared.throughput.toFixed(1)} events/s`,
    });
  }
  for (const safe of [keyShared, failover, locked]) {
    if (safe === undefined) continue;
    const total = Object.values(safe.oracle).reduce((sum, count) => sum + count, 0);
    checks.push({
      name: `${safe.mode}: zero oracle violations under the faults`,
      passed: total === 0,
      measured: String(total),
      detail: [total === 0 ? 'clean' : describeCounts(safe.oracle), ...safe.notes].join('; '),
    });
  }
  if (shared !== undefined) {
    const split = shared.oracle.lost_update + shared.oracle.double_send + shared.oracle.out_of_order;
    checks.push({
      name: 'shared shows split-brain violations',
      passed: split > 0,
      measured: String(split),
      detail:
        split > 0 ? describeCounts(shared.oracle) : 'no lost update, double send or out-of-order apply seen: raise --rate or the skew',
    });
  }
  if (keyShared !== undefined && locked !== undefined) {
    const r = ratio(keyShared.throughput, locked.throughput);
    checks.push({
      name: 'key_shared throughput >= 2x shared_redis_lock',
      passed: r >= 2,
      measured: `${r.toFixed(2)}x`,
      detail: `${keyShared.throughput.toFixed(1)} vs ${locked.throughput.toFixed(1)} events/s`,
    });
  }
  return checks;
}

export function describeCounts(counts: Readonly<Record<string, number>>): string {
  const parts = Object.entries(counts)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${kind} ${count}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}
