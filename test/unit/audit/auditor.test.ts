import { describe, expect, it } from 'vitest';
import { Auditor, type AuditorOptions, type ProcessWindow } from '../../../src/audit/index.js';
import { ManualClock } from '../../support/harness.js';

let nextSpan = 0;
function window(overrides: Partial<ProcessWindow> & { consumer: string; receivedAt: number; settledAt: number }): ProcessWindow {
  return {
    subscription: 'sub',
    topic: 't',
    key: 'k',
    producer: 'p',
    seq: undefined,
    redeliveryCount: 0,
    settle: 'ack',
    spanId: `span-${nextSpan++}`,
    traceId: 'trace',
    messageId: undefined,
    ...overrides,
  };
}

function auditor(options: AuditorOptions = {}): { auditor: Auditor; clock: ManualClock; t0: number } {
  const clock = new ManualClock();
  return { auditor: new Auditor({ clock: clock.now, skewToleranceMs: 5, ...options }), clock, t0: clock.nowMs - 10_000 };
}

describe('exclusivity', () => {
  it('counts overlapping windows of one key at two consumers, not at one', () => {
    const { auditor: a, t0 } = auditor();
    a.ingest(window({ consumer: 'A', receivedAt: t0, settledAt: t0 + 100 }));
    a.ingest(window({ consumer: 'A', receivedAt: t0 + 50, settledAt: t0 + 150 })); // same consumer: its own concurrency
    expect(a.violations('exclusivity')).toBe(0);
    a.ingest(window({ consumer: 'B', receivedAt: t0 + 90, settledAt: t0 + 200 }));
    // Overlaps both windows of A.
    expect(a.violations('exclusivity', 'sub')).toBe(2);
    expect(a.recentViolations().map((v) => v.overlapMs)).toEqual([10, 60]);
  });

  it('ignores overlaps within the skew tolerance and windows that follow each other', () => {
    const { auditor: a, t0 } = auditor({ skewToleranceMs: 10 });
    a.ingest(window({ consumer: 'A', receivedAt: t0, settledAt: t0 + 100 }));
    a.ingest(window({ consumer: 'B', receivedAt: t0 + 95, settledAt: t0 + 200 })); // 5 ms: skew
    a.ingest(window({ consumer: 'A', receivedAt: t0 + 201, settledAt: t0 + 300 })); // after B
    expect(a.violations('exclusivity')).toBe(0);
    a.ingest(window({ consumer: 'C', receivedAt: t0 + 250, settledAt: t0 + 400 })); // 50 ms with A
    expect(a.violations('exclusivity')).toBe(1);
  });

  it('finds the same pairs whatever order the spans arrive in', () => {
    const windows = [
      window({ consumer: 'A', receivedAt: 0, settledAt: 100 }),
      window({ consumer: 'B', receivedAt: 50, settledAt: 150 }),
      window({ consumer: 'A', receivedAt: 140, settledAt: 160 }),
      window({ consumer: 'B', receivedAt: 300, settledAt: 400 }),
    ];
    const counts = [windows, [...windows].reverse(), [windows[2]!, windows[0]!, windows[3]!, windows[1]!]].map((order) => {
      const { auditor: a, t0 } = auditor();
      for (const w of order) a.ingest({ ...w, receivedAt: t0 + w.receivedAt, settledAt: t0 + w.settledAt });
      return a.violations('exclusivity');
    });
    expect(counts).toEqual([2, 2, 2]);
  });

  it('keeps topics, subscriptions and keys apart', () => {
    const { auditor: a, t0 } = auditor();
    a.ingest(window({ consumer: 'A', receivedAt: t0, settledAt: t0 + 100 }));
    a.ingest(window({ consumer: 'B', key: 'other', receivedAt: t0, settledAt: t0 + 100 }));
    a.ingest(window({ consumer: 'B', subscription: 'sub2', receivedAt: t0, settledAt: t0 + 100 }));
    // Same subscription name on another topic: another dispatcher.
    a.ingest(window({ consumer: 'B', topic: 'other-topic', receivedAt: t0, settledAt: t0 + 100 }));
    expect(a.violations('exclusivity')).toBe(0);
  });

  it('counts a span delivered twice once', () => {
    const { auditor: a, t0 } = auditor();
    const first = window({ consumer: 'A', receivedAt: t0, settledAt: t0 + 100 });
    a.ingest(first);
    a.ingest(window({ consumer: 'B', receivedAt: t0 + 10, settledAt: t0 + 100 }));
    a.ingest(first);
    expect(a.violations('exclusivity')).toBe(1);
    expect(a.dropped.duplicate).toBe(1);
  });
});

describe('reorder across consumers', () => {
  it('counts a first delivery with a lower seq processed after a higher one elsewhere, once, in any arrival order', () => {
    const build = (t0: number): ProcessWindow[] => [
      window({ consumer: 'A', seq: 1, receivedAt: t0, settledAt: t0 + 1 }),
      window({ consumer: 'A', seq: 3, receivedAt: t0 + 10, settledAt: t0 + 11 }),
      window({ consumer: 'B', seq: 2, receivedAt: t0 + 20, settledAt: t0 + 21 }),
      window({ consumer: 'B', seq: 4, receivedAt: t0 + 30, settledAt: t0 + 31 }),
    ];
    for (const reverse of [false, true]) {
      const { auditor: a, t0 } = auditor();
      const windows = build(t0);
      for (const w of reverse ? windows.reverse() : windows) a.ingest(w);
      expect(a.violations('reorder')).toBe(1);
      expect(a.recentViolations()[0]?.window.seq).toBe(2);
      expect(a.violations('exclusivity')).toBe(0);
    }
  });

  it("leaves redeliveries, other producers and one consumer's own order out", () => {
    const { auditor: a, t0 } = auditor();
    a.ingest(window({ consumer: 'A', seq: 5, receivedAt: t0, settledAt: t0 + 1 }));
    a.ingest(window({ consumer: 'B', seq: 4, redeliveryCount: 1, receivedAt: t0 + 10, settledAt: t0 + 11 }));
    a.ingest(window({ consumer: 'B', seq: 1, producer: 'q', receivedAt: t0 + 20, settledAt: t0 + 21 }));
    a.ingest(window({ consumer: 'A', seq: 2, receivedAt: t0 + 30, settledAt: t0 + 31 }));
    a.ingest(window({ consumer: 'B', seq: undefined, receivedAt: t0 + 40, settledAt: t0 + 41 }));
    expect(a.violations('reorder')).toBe(0);
  });
});

describe('bounds', () => {
  it('drops spans older than the window and forgets state that left it', () => {
    const { auditor: a, clock } = auditor({ windowMs: 1000 });
    const now = clock.nowMs;
    a.ingest(window({ consumer: 'A', receivedAt: now - 5000, settledAt: now - 4000 }));
    expect(a.dropped.late).toBe(1);
    a.ingest(window({ consumer: 'A', receivedAt: now - 500, settledAt: now - 400 }));
    expect(a.keyCount).toBe(1);
    clock.advance(2000);
    a.sweep();
    expect(a.keyCount).toBe(0);
    // The forgotten window no longer conflicts with a new one (it is outside the window anyway).
    a.ingest(window({ consumer: 'B', receivedAt: now - 450, settledAt: clock.nowMs }));
    expect(a.violations('exclusivity')).toBe(0);
  });

  it('caps keys, windows per key and subscriptions, and counts what it forgot or refused', () => {
    const { auditor: a, t0 } = auditor({ maxKeys: 3, maxWindowsPerKey: 2, maxSubscriptions: 2 });
    for (let i = 0; i < 10; i++) a.ingest(window({ consumer: 'A', key: `k${i}`, receivedAt: t0 + i, settledAt: t0 + i + 1 }));
    expect(a.keyCount).toBe(3);
    expect(a.overflow.keys).toBe(7);
    for (let i = 0; i < 5; i++) a.ingest(window({ consumer: 'A', key: 'hot', receivedAt: t0 + 100 + i, settledAt: t0 + 101 + i }));
    expect(a.overflow.windows).toBe(3);
    a.ingest(window({ consumer: 'A', subscription: 'sub2', receivedAt: t0, settledAt: t0 + 1 }));
    a.ingest(window({ consumer: 'A', subscription: 'sub3', receivedAt: t0, settledAt: t0 + 1 }));
    expect(a.dropped.subscription_cap).toBe(1);
    expect(a.spans).toBe(17);
  });

  it('keeps the top K violating keys, most first, within a bounded table', () => {
    const { auditor: a, t0 } = auditor({ maxViolatingKeys: 2 });
    const clash = (key: string, times: number): void => {
      for (let i = 0; i < times; i++) {
        a.ingest(window({ consumer: 'A', key, receivedAt: t0 + i * 10, settledAt: t0 + i * 10 + 8 }));
        a.ingest(window({ consumer: 'B', key, receivedAt: t0 + i * 10, settledAt: t0 + i * 10 + 8 }));
      }
    };
    clash('hot', 3);
    clash('warm', 2);
    clash('cold', 1); // the table is full: the least violating key ('warm', 2) is forgotten for it
    expect(a.topViolatingKeys(10).map((k) => [k.key, k.violations])).toEqual([
      ['hot', 3],
      ['cold', 1],
    ]);
    expect(a.overflow.violating_keys).toBe(1);
  });

  it('rejects options that cannot work, naming the option', () => {
    expect(() => new Auditor({ windowMs: 0 })).toThrow(/windowMs/);
    expect(() => new Auditor({ maxKeys: Number.NaN })).toThrow(/maxKeys/);
    expect(() => new Auditor({ skewToleranceMs: -1 })).toThrow(/skewToleranceMs/);
    expect(new Auditor({ skewToleranceMs: 0 }).options.skewToleranceMs).toBe(0);
  });

  it('a throwing violation listener does not stop the audit', () => {
    const { auditor: a, t0 } = auditor({
      onViolation: () => {
        throw new Error('listener bug');
      },
    });
    a.ingest(window({ consumer: 'A', receivedAt: t0, settledAt: t0 + 100 }));
    expect(() => a.ingest(window({ consumer: 'B', receivedAt: t0, settledAt: t0 + 100 }))).not.toThrow();
    expect(a.violations('exclusivity')).toBe(1);
  });
});
