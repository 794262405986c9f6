/**
 * One key's processing windows in receive order, each marked with the rows it
 * overlaps at another consumer and whether it came out of order: the same
 * rules the auditor counts by (src/audit/window.ts).
 */
import { breaksExclusivity, overlapMs, reorderedOf, type ProcessWindow } from '../audit/window.js';

export interface TimelineRow {
  /** 1-based position in receive order. */
  readonly index: number;
  readonly window: ProcessWindow;
  readonly service: string;
  /** Indexes of rows at another consumer of the same subscription this one overlaps (beyond the tolerance). */
  readonly overlaps: number[];
  /** Longest of those overlaps. */
  readonly overlapMs: number;
  /** A first delivery with a lower seq than one received earlier at another consumer. */
  readonly reorder: boolean;
}

export function buildTimeline(entries: ReadonlyArray<{ window: ProcessWindow; service: string }>, skewToleranceMs: number): TimelineRow[] {
  const sorted = [...entries].sort((a, b) => a.window.receivedAt - b.window.receivedAt || a.window.settledAt - b.window.settledAt);
  const rows = sorted.map((entry, i) => ({
    index: i + 1,
    window: entry.window,
    service: entry.service,
    overlaps: [] as number[],
    overlapMs: 0,
    reorder: false,
  }));
  for (const [i, a] of rows.entries()) {
    for (const b of rows.slice(i + 1)) {
      if (a.window.subscription !== b.window.subscription) continue;
      if (breaksExclusivity(a.window, b.window, skewToleranceMs)) {
        const overlap = overlapMs(a.window, b.window);
        a.overlaps.push(b.index);
        b.overlaps.push(a.index);
        a.overlapMs = Math.max(a.overlapMs, overlap);
        b.overlapMs = Math.max(b.overlapMs, overlap);
      }
      const late = reorderedOf(a.window, b.window);
      if (late === a.window) a.reorder = true;
      else if (late === b.window) b.reorder = true;
    }
  }
  return rows;
}
