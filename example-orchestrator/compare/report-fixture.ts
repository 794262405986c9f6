/** A plausible comparison report for rendering tests (no run behind it). */
import { checkTargets, type ComparisonReport, type ModeResult } from './report.js';
import { VIOLATION_KINDS, type ViolationKind } from '../oracle/report.js';
import type { Mode } from '../modes/modes.js';

function zeroViolations(): Record<ViolationKind, number> {
  return Object.fromEntries(VIOLATION_KINDS.map((kind) => [kind, 0])) as Record<ViolationKind, number>;
}

function modeResult(mode: Mode, throughput: number, overrides: Partial<ModeResult> = {}): ModeResult {
  const seconds = 60;
  const t = Array.from({ length: seconds }, (_, i) => i);
  const wave = (i: number) => Math.sin(i / 4) * 8;
  return {
    mode,
    runId: `fixture-${mode}`,
    runDir: `/tmp/fixture/${mode}`,
    consumers: 3,
    events: 18_000,
    applied: 18_000,
    elapsedMs: 61_000,
    throughput,
    p50Ms: 12,
    p99Ms: 80,
    deliveries: 2_400,
    oracle: zeroViolations(),
    oracleTotal: 0,
    oracleExamples: {},
    keyscope: { reorder: 0, redelivery_reorder: 3, concurrent: 0 },
    detection: [
      {
        keyscope: 'reorder',
        oracle: ['out_of_order'],
        oracleKeys: 0,
        detectedKeys: 0,
        truePositiveKeys: 0,
        falsePositiveKeys: 0,
        recall: null,
      },
      {
        keyscope: 'concurrent',
        oracle: ['lost_update', 'double_send'],
        oracleKeys: 0,
        detectedKeys: 0,
        truePositiveKeys: 0,
        falsePositiveKeys: 0,
        recall: null,
      },
    ],
    stalls: 2,
    stalledKeys: [{ key: 'sub-00042', maxAgeSeconds: 6 }],
    lateness: { count: 300, p50Ms: 40, p99Ms: 400, maxMs: 900 },
    redeliveries: 12,
    locks: null,
    deadLettered: 1,
    deadLettersByReason: { handler_failed: 1 },
    cpuMsPerEvent: 0.8,
    notes: [],
    auditor: { exclusivity: 0, reorder: 0 },
    startupMs: 9_000,
    faults: [
      { kind: 'kill', plannedAtMs: 12_000, atMs: 12_003, durationMs: 20, detail: 'orchestrator-0 pid 1234' },
      { kind: 'restart', plannedAtMs: 15_000, atMs: 15_001, durationMs: 1500, detail: 'orchestrator-0 pid 1300' },
      { kind: 'slow', plannedAtMs: 30_000, atMs: 30_000, durationMs: 0, detail: 'sub-00042 events 210, 211 take 3000 ms each' },
    ],
    series: {
      t,
      published: t.map(() => 300),
      applied: t.map((i) => Math.max(0, throughput + wave(i) - (i >= 12 && i < 16 ? 120 : 0))),
      p50Ms: t.map((i) => 10 + (i % 7)),
      p99Ms: t.map((i) => (i === 20 ? null : 60 + (i >= 12 && i < 16 ? 2000 : 0) + (i % 11) * 3)),
    },
    ...overrides,
  };
}

export function comparisonFixture(): ComparisonReport {
  const sharedViolations = { ...zeroViolations(), lost_update: 310, double_send: 12, out_of_order: 95, missing_send: 8 };
  const modes = [
    modeResult('key_shared', 296),
    modeResult('shared', 299, {
      oracle: sharedViolations,
      oracleTotal: 425,
      oracleExamples: {
        lost_update: [{ subscriberId: 'sub-00042', detail: 'two writes from version 17 (orchestrator-0, orchestrator-2) <script>' }],
      },
      keyscope: { reorder: 40, redelivery_reorder: 3, concurrent: 0 },
      auditor: { exclusivity: 290, reorder: 60 },
      trace: {
        subscriberId: 'sub-00042',
        url: 'http://127.0.0.1:16686/search?service=orchestrator',
        searchUrl: 'http://127.0.0.1:16686/search?service=orchestrator',
      },
    }),
    modeResult('failover', 240),
    modeResult('shared_redis_lock', 120, {
      locks: { acquisitions: 18_000, waitMeanMs: 14.2, waitTotalMs: 255_600, contended: 2_100, fencingRejections: 0 },
      stalledKeys: [],
    }),
  ];
  return {
    generatedAt: '2026-01-05T12:00:00.000Z',
    command: 'npm run compare -- --out .run/compare',
    options: {
      modes: modes.map((m) => m.mode),
      durationMs: 60_000,
      subscribers: 10_000,
      ratePerSecond: 300,
      seed: 1,
      faults: 'kill@20%,slow@50%',
      consumers: 3,
    },
    load: {
      events: 18_000,
      byType: { subscribed: 4000, product_viewed: 7000, cart_updated: 4000, checkout_started: 1800, order_placed: 1100, unsubscribed: 100 },
      activeSubscribers: 4000,
      hotKeys: [
        { subscriberId: 'sub-00042', events: 1800 },
        { subscriberId: 'sub-07310', events: 900 },
      ],
    },
    modes,
    targets: checkTargets(modes),
    links: { jaeger: 'http://127.0.0.1:16686', prometheus: 'http://127.0.0.1:9090', grafana: 'http://127.0.0.1:3000' },
  };
}
