/** The timeline as a table for people and as JSON for machines. */
import type { TimelineRow } from './timeline.js';

export interface TimelineJson {
  key: string;
  renderedKey: string;
  rows: Array<{
    index: number;
    subscription: string;
    topic: string;
    consumer: string;
    service: string;
    producer: string | null;
    seq: number | null;
    redeliveryCount: number;
    receivedAt: string;
    settledAt: string;
    durationMs: number;
    settle: string;
    overlaps: number[];
    overlapMs: number;
    reorder: boolean;
    traceId: string;
    messageId: string | null;
  }>;
  exclusivityOverlaps: number;
  reorders: number;
}

export function timelineJson(key: string, renderedKey: string, rows: readonly TimelineRow[]): TimelineJson {
  return {
    key,
    renderedKey,
    rows: rows.map((r) => ({
      index: r.index,
      subscription: r.window.subscription,
      topic: r.window.topic,
      consumer: r.window.consumer,
      service: r.service,
      producer: r.window.producer ?? null,
      seq: r.window.seq ?? null,
      redeliveryCount: r.window.redeliveryCount,
      receivedAt: new Date(r.window.receivedAt).toISOString(),
      settledAt: new Date(r.window.settledAt).toISOString(),
      durationMs: round(r.window.settledAt - r.window.receivedAt),
      settle: r.window.settle,
      overlaps: r.overlaps,
      overlapMs: round(r.overlapMs),
      reorder: r.reorder,
      traceId: r.window.traceId,
      messageId: r.window.messageId ?? null,
    })),
    exclusivityOverlaps: rows.reduce((n, r) => n + r.overlaps.filter((o) => o > r.index).length, 0),
    reorders: rows.filter((r) => r.reorder).length,
  };
}

export function renderTimeline(json: TimelineJson): string {
  if (json.rows.length === 0) {
    return `No process spans for key ${json.key} (${json.renderedKey} on spans) in that time range.\n`;
  }
  const header = ['#', 'received', 'settled', 'ms', 'settle', 'subscription', 'consumer', 'service', 'producer', 'seq', 'redel', 'marks'];
  const lines = json.rows.map((r) => [
    String(r.index),
    clock(r.receivedAt),
    clock(r.settledAt),
    r.durationMs.toFixed(1),
    r.settle,
    r.subscription,
    r.consumer,
    r.service,
    r.producer ?? '-',
    r.seq === null ? '-' : String(r.seq),
    String(r.redeliveryCount),
    [
      r.overlaps.length > 0 ? `OVERLAP ${r.overlaps.map((o) => `#${o}`).join(',')} (${r.overlapMs.toFixed(1)} ms)` : '',
      r.reorder ? 'REORDER' : '',
    ]
      .filter(Boolean)
      .join(' '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const format = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const consumers = new Set(json.rows.map((r) => r.consumer)).size;
  return [
    `key ${json.key} (${json.renderedKey} on spans): ${json.rows.length} deliveries at ${consumers} consumer(s), ${json.exclusivityOverlaps} overlap(s) across consumers, ${json.reorders} reorder(s)`,
    format(header),
    ...lines.map(format),
    '',
  ].join('\n');
}

function clock(iso: string): string {
  // UTC time of day; the date and full times are in --json.
  return iso.slice(11, 23);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
