import { describe, expect, it } from 'vitest';
import { renderReportHtml } from './html.js';
import { checkTargets } from './report.js';
import { quantile, SecondBuckets } from './stats.js';
import { formatTable, formatTargets } from './table.js';
import { comparisonFixture } from './report-fixture.js';

describe('comparison report', () => {
  it('renders one self-contained page: Chart.js inlined, no script or stylesheet from the network, data embedded safely', () => {
    const report = comparisonFixture();
    const html = renderReportHtml(report);
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+stylesheet/);
    expect(html).toContain('Chart.js v4');
    // The oracle example holds "<script>": it must not open an element.
    expect(html.match(/<script/g)?.length).toBe(3);
    const json = /<script id="report-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    expect(JSON.parse(json).report).toEqual(report);
    for (const mode of report.options.modes) expect(html).toContain(`id="mode-${mode}"`);
  });

  it('checks the targets and says by how much one is missed', () => {
    const report = comparisonFixture();
    expect(report.targets.every((target) => target.passed)).toBe(true);
    const [keyShared, shared, failover, locked] = report.modes;
    if (keyShared === undefined || shared === undefined || failover === undefined || locked === undefined)
      throw new Error('fixture has four modes');
    const slower = { ...keyShared, throughput: 200, oracle: { ...keyShared.oracle, double_send: 2 } };
    const cleanShared = { ...shared, oracle: { ...keyShared.oracle } };
    const targets = checkTargets([slower, cleanShared, failover, locked]);
    const byName = Object.fromEntries(targets.map((t) => [t.name, t]));
    expect(byName['key_shared throughput >= 0.9x shared']).toMatchObject({ passed: false, measured: '0.67x' });
    expect(byName['key_shared: zero oracle violations under the faults']).toMatchObject({
      passed: false,
      measured: '2',
      detail: 'double_send 2',
    });
    expect(byName['shared shows split-brain violations']?.passed).toBe(false);
    expect(byName['key_shared throughput >= 2x shared_redis_lock']).toMatchObject({ passed: false, measured: '1.67x' });
    expect(checkTargets([keyShared]).map((t) => t.name)).toEqual(['key_shared: zero oracle violations under the faults']);
  });

  it('prints a table with one row per mode and the targets', () => {
    const report = comparisonFixture();
    const lines = formatTable(report.modes).split('\n');
    expect(lines).toHaveLength(2 + report.modes.length);
    expect(lines[0]).toMatch(/^mode\s+events\/s\s+p50 ms\s+p99 ms\s+oracle violations/);
    expect(lines[3]).toContain('lost_update 310');
    expect(formatTargets(report).split('\n')[0]).toMatch(/^PASS {2}key_shared throughput >= 0.9x shared: 0.99x/);
  });
});

describe('report statistics', () => {
  it('takes nearest-rank quantiles and buckets by second, with gaps as null', () => {
    expect(quantile([], 0.5)).toBe(0);
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(
      quantile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        0.99,
      ),
    ).toBe(99);
    const buckets = new SecondBuckets();
    buckets.add(100, 10);
    buckets.add(900, 30);
    buckets.add(2500, 7);
    expect(buckets.counts()).toEqual([2, 0, 1]);
    expect(buckets.quantiles(0.5)).toEqual([10, null, 7]);
    expect(buckets.counts(5)).toEqual([2, 0, 1, 0, 0]);
  });
});
