/** The oracle's report as text, for the terminal. */
import { VIOLATION_KINDS, type OracleReport } from './report.js';

export function formatReport(report: OracleReport, examplesPerKind = 2): string {
  const lines: string[] = [];
  const { inputs } = report;
  lines.push(
    `oracle: ${inputs.events} events of ${inputs.subscribers} subscribers, ${inputs.writes} state writes, ${inputs.deliveries} deliveries (replay predicts ${report.predictedSends}), ${inputs.deadLetters} dead letters`,
  );
  const width = Math.max(...VIOLATION_KINDS.map((kind) => kind.length));
  for (const kind of VIOLATION_KINDS) {
    const count = report.counts[kind];
    lines.push(`  ${kind.padEnd(width)}  ${String(count).padStart(6)}`);
    for (const example of report.examples[kind].slice(0, count > 0 ? examplesPerKind : 0))
      lines.push(`      e.g. ${example.subscriberId}: ${example.detail}`);
  }
  lines.push(`  ${'total'.padEnd(width)}  ${String(report.total).padStart(6)}  (${report.subscribersAffected} subscribers affected)`);
  if (report.lateness.count > 0) {
    lines.push(
      `  timed sends: ${report.lateness.count}, late by p50 ${report.lateness.p50Ms} ms, p99 ${report.lateness.p99Ms} ms, max ${report.lateness.maxMs} ms (wall clock)`,
    );
  }
  const reasons = Object.entries(report.deadLettersByReason);
  if (reasons.length > 0) lines.push(`  dead letters by reason: ${reasons.map(([reason, count]) => `${reason} ${count}`).join(', ')}`);
  return lines.join('\n');
}
