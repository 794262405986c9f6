import { describe, expect, it } from 'vitest';
import { scoreDetections } from './measure.js';
import { parsePrometheusText, sumOf } from './prometheus-text.js';

describe('Prometheus text', () => {
  it('reads samples with labels, skips comments and exemplars, sums by label', () => {
    const samples = parsePrometheusText(
      [
        '# HELP keyscope_ordering_violations_total Per-key ordering violations.',
        '# TYPE keyscope_ordering_violations_total counter',
        'keyscope_ordering_violations_total{topic="t",subscription="s",kind="reorder"} 3',
        'keyscope_ordering_violations_total{topic="t",subscription="s2",kind="reorder"} 2',
        'keyscope_ordering_violations_total{topic="t",subscription="s",kind="concurrent"} 1 # {trace_id="abc"} 1 1700000000',
        'keyscope_stalled_key_age_seconds{key="a \\"quoted\\" key"} 4.5',
        'process_cpu_seconds_total 12.25',
        'garbage line',
      ].join('\n'),
    );
    expect(samples).toHaveLength(5);
    expect(sumOf(samples, 'keyscope_ordering_violations_total', { kind: 'reorder' })).toBe(5);
    expect(sumOf(samples, 'keyscope_ordering_violations_total')).toBe(6);
    expect(samples[3]?.labels.key).toBe('a "quoted" key');
    expect(sumOf(samples, 'process_cpu_seconds_total')).toBe(12.25);
  });
});

describe('detection scores', () => {
  it('scores keyscope per key against the oracle: recall and false positives', () => {
    const detections = [
      { subscriberId: 'a', kind: 'reorder', consumer: 'orchestrator-0', traceId: '1', at: 0 },
      { subscriberId: 'a', kind: 'reorder', consumer: 'orchestrator-1', traceId: '2', at: 0 },
      { subscriberId: 'z', kind: 'reorder', consumer: 'orchestrator-0', traceId: '3', at: 0 },
      { subscriberId: 'b', kind: 'concurrent', consumer: 'orchestrator-0', traceId: '4', at: 0 },
    ];
    const [reorder, concurrent] = scoreDetections(
      { detections },
      { out_of_order: ['a', 'c'], lost_update: ['b', 'd'], double_send: ['d', 'e'] },
    );
    expect(reorder).toMatchObject({
      keyscope: 'reorder',
      oracleKeys: 2,
      detectedKeys: 2,
      truePositiveKeys: 1,
      falsePositiveKeys: 1,
      recall: 0.5,
    });
    expect(concurrent).toMatchObject({
      keyscope: 'concurrent',
      oracleKeys: 3,
      detectedKeys: 1,
      truePositiveKeys: 1,
      falsePositiveKeys: 0,
      recall: 0.333,
    });
    expect(scoreDetections({ detections: [] }, {})[0]?.recall).toBeNull();
  });
});
