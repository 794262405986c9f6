/** The comparison as a plain-text table for the terminal: one row per mode. */
import { describeCounts, type ComparisonReport, type ModeResult } from './report.js';

const COLUMNS: Array<[string, (m: ModeResult) => string]> = [
  ['mode', (m) => m.mode],
  ['events/s', (m) => m.throughput.toFixed(1)],
  ['p50 ms', (m) => m.p50Ms.toFixed(0)],
  ['p99 ms', (m) => m.p99Ms.toFixed(0)],
  ['oracle violations', (m) => describeCounts(m.oracle)],
  ['keyscope detected', (m) => describeCounts(m.keyscope)],
  ['auditor', (m) => (m.auditor === null ? '-' : describeCounts(m.auditor))],
  ['stalls', (m) => String(m.stalls)],
  ['late p99 ms', (m) => (m.lateness.count === 0 ? '-' : m.lateness.p99Ms.toFixed(0))],
  ['redeliv.', (m) => String(m.redeliveries)],
  ['lock waits', (m) => (m.locks === null ? '-' : `${m.locks.acquisitions} (${m.locks.waitMeanMs.toFixed(1)} ms)`)],
  ['CPU ms/ev', (m) => m.cpuMsPerEvent.toFixed(2)],
];

export function formatTable(modes: readonly ModeResult[]): string {
  const cells = modes.map((mode) => COLUMNS.map(([, value]) => value(mode)));
  const widths = COLUMNS.map(([title], i) => Math.max(title.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(COLUMNS.map(([title]) => title)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export function formatTargets(report: ComparisonReport): string {
  return report.targets
    .map((target) => `${target.passed ? 'PASS' : 'MISS'}  ${target.name}: ${target.measured}  (${target.detail})`)
    .join('\n');
}
