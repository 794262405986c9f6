/**
 * The comparison end to end on the real broker and Redis, small: two modes on
 * one seeded load with one fault (an orchestrator process killed with
 * SIGKILL and restarted), then the report opened in headless Chromium.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LOAD, summarizeLoad } from '../loadgen/plan.js';
import { compare } from './main.js';
import type { ComparisonReport } from './report.js';
import { checkReportPage } from './report-page.js';

const OUT = resolve(import.meta.dirname, '..', '..', '.run', 'compare-e2e');
const LOAD = { ...DEFAULT_LOAD, subscribers: 2_000, ratePerSecond: 60, durationMs: 20_000, seed: 11 };

describe('npm run compare (short)', () => {
  it('runs key_shared and shared on the same load with a kill -9, key_shared clean, and writes a report Chromium shows with every chart drawn', async () => {
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    const report = await compare(
      {
        outDir: OUT,
        modes: ['key_shared', 'shared'],
        load: LOAD,
        faults: 'kill@35%:process=1:restartAfter=2s',
        consumers: 3,
        startStack: false,
      },
      (line) => console.log(`[compare] ${line}`),
    );
    const written = JSON.parse(readFileSync(join(OUT, 'report.json'), 'utf8')) as ComparisonReport;
    expect(written.modes.map((m) => m.mode)).toEqual(['key_shared', 'shared']);
    expect(written).toEqual(JSON.parse(JSON.stringify(report)));

    const planned = summarizeLoad(LOAD).events;
    const [keyShared, shared] = report.modes;
    if (keyShared === undefined || shared === undefined) throw new Error('both modes ran');
    for (const mode of report.modes) {
      // Every planned event was published, and the fault happened, with its restart.
      expect(mode.events).toBe(planned);
      expect(mode.faults.map((f) => [f.kind, f.error])).toEqual([
        ['kill', undefined],
        ['restart', undefined],
      ]);
      expect(mode.throughput).toBeGreaterThan(0);
      expect(mode.series.applied.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    }
    // key_shared: one consumer per subscriber at a time, also across the kill: nothing for the oracle.
    expect(keyShared.oracle).toEqual(Object.fromEntries(Object.keys(keyShared.oracle).map((kind) => [kind, 0])));
    expect(keyShared.applied).toBe(planned);
    expect(keyShared.deliveries).toBeGreaterThan(0);
    console.log(
      `[compare] shared: ${shared.oracleTotal} oracle violations (${JSON.stringify(shared.oracle)}); keyscope ${JSON.stringify(shared.keyscope)}`,
    );

    const screenshot = join(OUT, 'report.png');
    const page = await checkReportPage(join(OUT, 'report.html'), screenshot);
    expect(page.consoleErrors).toEqual([]);
    expect(page.charts.length).toBeGreaterThanOrEqual(6);
    expect(page.charts.length).toBe(page.canvases);
    for (const chart of page.charts) {
      expect(chart.points, `chart ${chart.id} has data`).toBeGreaterThan(0);
      expect(chart.inkedPixels, `chart ${chart.id} drew something`).toBeGreaterThan(2_000);
    }
    expect(existsSync(screenshot)).toBe(true);
    console.log(`[compare] report ${join(OUT, 'report.html')}, screenshot ${screenshot}`);
  }, 420_000);
});
