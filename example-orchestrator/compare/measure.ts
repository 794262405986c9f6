/**
 * Turns one mode's run files, process samples and oracle report into its
 * report entry: throughput, latency, the series behind the charts, and how
 * keyscope's per-key detections compare with the oracle's findings.
 */
import type { FaultRecord } from '../faults/runner.js';
import type { Mode } from '../modes/modes.js';
import { VIOLATION_KINDS, type OracleReport, type ViolationKind } from '../oracle/report.js';
import { DETECTION_PAIRS, KEYSCOPE_KINDS, type DetectionScore, type KeyscopeKind, type ModeResult } from './report.js';
import type { RunFiles } from './run-files.js';
import type { ProcessSampler } from './sampler.js';
import { quantile, round, SecondBuckets } from './stats.js';

export interface MeasureInput {
  mode: Mode;
  runId: string;
  runDir: string;
  consumers: number;
  /** Wall clock when the load's first event was due: time 0 of the series. */
  loadStartedAt: number;
  files: RunFiles;
  sampler: ProcessSampler;
  oracle: OracleReport;
  /** Subscriber ids per oracle kind (for per-key detection scores). */
  oracleSubscribers: Partial<Record<ViolationKind, readonly string[]>>;
  faults: FaultRecord[];
}

export function measureMode(input: MeasureInput): Omit<ModeResult, 'trace' | 'notes' | 'startupMs' | 'auditor'> {
  const { files, sampler } = input;
  const origin = input.loadStartedAt;
  const published = new SecondBuckets();
  for (const event of files.events) published.add(event.publishedAt - origin, 1);

  const applied = new SecondBuckets();
  const appliedEvents = new Set<string>();
  let lastWrite = origin;
  for (const write of files.writes) {
    if (write.applied.kind !== 'event') continue;
    appliedEvents.add(`${write.subscriberId}#${write.applied.seq}`);
    applied.add(write.writtenAt - origin, 1);
    lastWrite = Math.max(lastWrite, write.writtenAt);
  }

  const latency = new SecondBuckets();
  const latencies: number[] = [];
  for (const delivery of files.deliveries) {
    if (delivery.triggerPublishedAt === undefined) continue;
    const ms = delivery.acceptedAt - delivery.triggerPublishedAt;
    latencies.push(ms);
    latency.add(delivery.acceptedAt - origin, ms);
  }

  const seconds = Math.max(published.seconds, applied.seconds, latency.seconds);
  const elapsedMs = Math.max(1, lastWrite - origin);
  const keyscope = Object.fromEntries(
    KEYSCOPE_KINDS.map((kind) => [kind, sampler.sum('keyscope_ordering_violations_total', { kind })]),
  ) as Record<KeyscopeKind, number>;
  const lockCount = sampler.sum('orchestrator_lock_wait_seconds_count');
  const orchestratorCpuMs = sampler.cpuMs('orchestrator');
  return {
    mode: input.mode,
    runId: input.runId,
    runDir: input.runDir,
    consumers: input.consumers,
    events: files.events.length,
    applied: appliedEvents.size,
    elapsedMs,
    throughput: round((appliedEvents.size * 1000) / elapsedMs, 1),
    p50Ms: round(quantile(latencies, 0.5), 1),
    p99Ms: round(quantile(latencies, 0.99), 1),
    deliveries: files.deliveries.length,
    oracle: { ...input.oracle.counts },
    oracleTotal: input.oracle.total,
    oracleExamples: Object.fromEntries(
      VIOLATION_KINDS.filter((kind) => input.oracle.counts[kind] > 0).map((kind) => [kind, input.oracle.examples[kind].slice(0, 3)]),
    ),
    keyscope,
    detection: scoreDetections(files, input.oracleSubscribers),
    stalls: sampler.sum('keyscope_stalls_total'),
    stalledKeys: sampler.stalledKeyAges().slice(0, 10),
    lateness: input.oracle.lateness,
    redeliveries: sampler.sum('keyscope_redeliveries_total'),
    locks:
      input.mode === 'shared_redis_lock'
        ? {
            acquisitions: lockCount,
            waitTotalMs: round(sampler.sum('orchestrator_lock_wait_seconds_sum') * 1000),
            waitMeanMs: lockCount === 0 ? 0 : round((sampler.sum('orchestrator_lock_wait_seconds_sum') * 1000) / lockCount, 2),
            contended: sampler.sum('orchestrator_lock_contention_total'),
            fencingRejections: sampler.sum('orchestrator_fencing_rejections_total'),
          }
        : null,
    deadLettered: input.oracle.inputs.deadLetters,
    deadLettersByReason: input.oracle.deadLettersByReason,
    cpuMsPerEvent: appliedEvents.size === 0 ? 0 : round(orchestratorCpuMs / appliedEvents.size, 3),
    faults: input.faults,
    series: {
      t: Array.from({ length: seconds }, (_, i) => i),
      published: published.counts(seconds),
      applied: applied.counts(seconds),
      p50Ms: latency.quantiles(0.5, seconds),
      p99Ms: latency.quantiles(0.99, seconds),
    },
  };
}

/** Per key: which subscribers keyscope flagged with each kind, against those the oracle found. */
export function scoreDetections(
  files: Pick<RunFiles, 'detections'>,
  oracleSubscribers: Partial<Record<ViolationKind, readonly string[]>>,
): DetectionScore[] {
  return DETECTION_PAIRS.map(({ keyscope, oracle }) => {
    const detected = new Set(files.detections.filter((d) => d.kind === keyscope && d.subscriberId !== '').map((d) => d.subscriberId));
    const found = new Set(oracle.flatMap((kind) => oracleSubscribers[kind] ?? []));
    let truePositive = 0;
    for (const key of detected) if (found.has(key)) truePositive += 1;
    return {
      keyscope,
      oracle,
      oracleKeys: found.size,
      detectedKeys: detected.size,
      truePositiveKeys: truePositive,
      falsePositiveKeys: detected.size - truePositive,
      recall: found.size === 0 ? null : round(truePositive / found.size, 3),
    };
  });
}
