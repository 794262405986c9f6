import { describe, expect, it } from 'vitest';
import { Tracker } from '../../../src/tracking/tracker.js';

function tracker(overrides: Partial<{ maxTrackedKeys: number; stallThresholdMs: number; topStalledKeys: number }> = {}) {
  return new Tracker({ maxTrackedKeys: 1000, stallThresholdMs: 1000, topStalledKeys: 3, ...overrides });
}

describe('ordering', () => {
  it('flags a first delivery with a lower seq than seen for (key, producer) as reorder', () => {
    const t = tracker();
    const s = t.stream('t', 's');
    expect(t.deliver(s, 'k', 'p', 2, 0, 0).violation).toBeUndefined();
    expect(t.deliver(s, 'k', 'p', 1, 0, 0).violation).toBe('reorder');
  });

  it('flags the same for a redelivered message as redelivery_reorder', () => {
    const t = tracker();
    const s = t.stream('t', 's');
    t.deliver(s, 'k', 'p', 5, 0, 0);
    expect(t.deliver(s, 'k', 'p', 4, 1, 0).violation).toBe('redelivery_reorder');
  });

  it('keeps keys, producers and streams apart', () => {
    const t = tracker();
    const s1 = t.stream('t', 's1');
    const s2 = t.stream('t', 's2');
    t.deliver(s1, 'k', 'p', 5, 0, 0);
    expect(t.deliver(s1, 'other', 'p', 1, 0, 0).violation).toBeUndefined();
    expect(t.deliver(s1, 'k', 'q', 1, 0, 0).violation).toBeUndefined();
    expect(t.deliver(s2, 'k', 'p', 1, 0, 0).violation).toBeUndefined();
  });

  it('does not check messages without stamps or without a key', () => {
    const t = tracker();
    const s = t.stream('t', 's');
    t.deliver(s, 'k', 'p', 5, 0, 0);
    expect(t.deliver(s, 'k', undefined, Number.NaN, 0, 0).violation).toBeUndefined();
    expect(t.deliver(s, undefined, 'p', 1, 0, 0).violation).toBeUndefined();
    expect(t.keys.size).toBe(1);
  });
});

describe('processing windows', () => {
  it('reports concurrent when two windows of one key overlap, not when they follow each other', () => {
    const t = tracker();
    const s = t.stream('t', 's');
    const a = t.deliver(s, 'k', 'p', 1, 0, 0);
    const b = t.deliver(s, 'k', 'p', 2, 0, 0);
    const c = t.deliver(s, 'k', 'p', 3, 0, 0);
    expect(t.beginWindow(a)).toBe(false);
    t.endWindow(a);
    expect(t.beginWindow(b)).toBe(false);
    expect(t.beginWindow(c)).toBe(true);
    t.endWindow(b);
    t.endWindow(c);
    const other = t.deliver(s, 'other', 'p', 4, 0, 0);
    expect(t.beginWindow(other)).toBe(false);
  });
});

describe('in flight and stalls', () => {
  it('counts in-flight messages and keys per stream, and settles idempotently', () => {
    const t = tracker();
    const s = t.stream('t', 's');
    const a = t.deliver(s, 'k1', 'p', 1, 0, 0);
    const b = t.deliver(s, 'k1', 'p', 2, 0, 0);
    const c = t.deliver(s, undefined, undefined, Number.NaN, 0, 0);
    let sweep = t.sweep(10).streams[0];
    expect(sweep?.inflightMessages).toBe(3);
    expect(sweep?.inflightKeys).toBe(1);
    expect(sweep?.oldestInflightMs).toBe(10);
    t.settle(a);
    t.settle(a);
    t.settle(b);
    t.settle(c);
    sweep = t.sweep(20).streams[0];
    expect(sweep?.inflightMessages).toBe(0);
    expect(sweep?.inflightKeys).toBe(0);
    expect(sweep?.oldestInflightMs).toBe(0);
  });

  it('stalls messages past the threshold, counts each new stall once, and measures head-of-line blocking', () => {
    const t = tracker({ stallThresholdMs: 1000 });
    const s = t.stream('t', 's');
    const head = t.deliver(s, 'slow', 'p', 1, 0, 0);
    t.deliver(s, 'slow', 'p', 2, 0, 100);
    t.deliver(s, 'fast', 'p', 4, 0, 200);
    t.deliver(s, undefined, undefined, Number.NaN, 0, 300);
    t.deliver(s, 'slow', 'p', 3, 0, 1500);

    expect(t.sweep(900).streams[0]?.stalledMessages).toBe(0);

    let sweep = t.sweep(1400);
    let stream = sweep.streams[0];
    // slow#1, slow#2, fast, keyless: received at or before 400.
    expect(stream?.stalledMessages).toBe(4);
    expect(stream?.newStalls).toBe(4);
    // The stalled key `slow` has two more messages behind its oldest; `fast` has none.
    expect(stream?.headOfLineBlocked).toBe(2);
    expect(sweep.topStalledKeys.map((k) => [k.key, k.ageMs])).toEqual([
      ['slow', 1400],
      ['fast', 1200],
    ]);

    sweep = t.sweep(1450);
    expect(sweep.streams[0]?.newStalls).toBe(0);

    // Acking the head: slow#2 becomes the oldest and is stalled itself.
    t.settle(head);
    sweep = t.sweep(2600);
    stream = sweep.streams[0];
    expect(stream?.stalledMessages).toBe(4);
    expect(stream?.newStalls).toBe(1);
    expect(stream?.headOfLineBlocked).toBe(1);
    expect(sweep.topStalledKeys[0]).toMatchObject({ key: 'slow', ageMs: 2500 });
  });

  it('counts messages queued behind a stalled head as blocked even when they are not stalled themselves', () => {
    const t = tracker({ stallThresholdMs: 1000 });
    const s = t.stream('t', 's');
    t.deliver(s, 'slow', 'p', 1, 0, 0);
    t.deliver(s, 'slow', 'p', 2, 0, 1900);
    t.deliver(s, 'slow', 'p', 3, 0, 1950);
    // A fresh key with several messages in flight is not blocked: its head is not stalled.
    t.deliver(s, 'busy', 'p', 4, 0, 1900);
    t.deliver(s, 'busy', 'p', 5, 0, 1950);
    const stream = t.sweep(2000).streams[0];
    expect(stream?.stalledMessages).toBe(1);
    expect(stream?.headOfLineBlocked).toBe(2);
    expect(stream?.inflightKeys).toBe(2);
  });

  it('exports only the top K oldest stalled keys across streams', () => {
    const t = tracker({ stallThresholdMs: 10, topStalledKeys: 3 });
    const s1 = t.stream('t1', 's');
    const s2 = t.stream('t2', 's');
    for (let i = 0; i < 5; i++) t.deliver(s1, `a${i}`, 'p', i + 1, 0, i * 10);
    for (let i = 0; i < 5; i++) t.deliver(s2, `b${i}`, 'p', i + 1, 0, i * 10 + 5);
    const top = t.sweep(1000).topStalledKeys;
    expect(top.map((k) => `${k.stream.topic}/${k.key}`)).toEqual(['t1/a0', 't2/b0', 't1/a1']);
  });

  it('exports no stalled keys when topStalledKeys is 0', () => {
    const t = tracker({ stallThresholdMs: 10, topStalledKeys: 0 });
    const s = t.stream('t', 's');
    t.deliver(s, 'k', 'p', 1, 0, 0);
    const sweep = t.sweep(100);
    expect(sweep.topStalledKeys).toEqual([]);
    expect(sweep.streams[0]?.stalledMessages).toBe(1);
  });
});

describe('locally known redeliveries (the broker reports count 0)', () => {
  it('counts a nacked message coming back behind newer ones with count 0 as redelivery_reorder', () => {
    const t = tracker({ stallThresholdMs: 1000 });
    const s = t.stream('t', 's');
    const nacked = t.deliver(s, 'k', 'p', 1, 0, 0);
    t.settle(nacked);
    t.expectRedelivery(nacked, 0, 500);
    t.settle(t.deliver(s, 'k', 'p', 3, 0, 10));
    expect(t.deliver(s, 'k', 'p', 1, 0, 600).violation).toBe('redelivery_reorder');
    // The expectation was used up: the key is judged strictly again (seq 2 never came before, so it repeats nothing).
    expect(t.deliver(s, 'k', 'p', 2, 0, 700).violation).toBe('reorder');
  });

  it('still counts reorder on another key, and on the same key below every expected seq', () => {
    const t = tracker();
    const s = t.stream('t', 's');
    t.deliver(s, 'k', 'p', 1, 0, 0);
    const nacked = t.deliver(s, 'k', 'p', 5, 0, 0);
    t.deliver(s, 'other', 'p', 6, 0, 0);
    t.settle(nacked);
    t.expectRedelivery(nacked, 0, 0);
    t.deliver(s, 'k', 'p', 7, 0, 0);
    expect(t.deliver(s, 'other', 'p', 3, 0, 0).violation).toBe('reorder');
    expect(t.deliver(s, 'k', 'p', 2, 0, 0).violation).toBe('reorder');
    expect(t.deliver(s, 'k', 'p', 5, 0, 0).violation).toBe('redelivery_reorder');
  });

  it('uses an expectation up on a message that comes again without going backwards', () => {
    const t = tracker();
    const s = t.stream('t', 's');
    const newest = t.deliver(s, 'k', 'p', 4, 0, 0);
    t.settle(newest);
    t.expectRedelivery(newest, 0, 0);
    expect(t.deliver(s, 'k', 'p', 4, 0, 1).violation).toBeUndefined();
    expect(t.keys.touch(s.keys, 'k').pendingRedeliveries).toBeUndefined();
  });

  it('lets an expectation lapse after its due time plus the stall threshold', () => {
    const t = tracker({ stallThresholdMs: 1000 });
    const s = t.stream('t', 's');
    const nacked = t.deliver(s, 'k', 'p', 1, 0, 0);
    t.settle(nacked);
    t.expectRedelivery(nacked, 0, 500);
    t.deliver(s, 'k', 'p', 2, 0, 10);
    expect(t.deliver(s, 'k', 'p', 1, 0, 1501).violation).toBe('reorder');
    expect(t.keys.touch(s.keys, 'k').pendingRedeliveries).toBeUndefined();
  });

  it('keeps one small record per key however many redeliveries are expected, within the key bound', () => {
    const t = tracker({ maxTrackedKeys: 100 });
    const s = t.stream('t', 's');
    for (let i = 0; i < 10_000; i++) {
      const delivery = t.deliver(s, `k${i % 500}`, 'p', i, 0, i);
      t.settle(delivery);
      t.expectRedelivery(delivery, i, 0);
    }
    expect(t.keys.size).toBeLessThanOrEqual(100);
    let records = 0;
    for (const state of s.keys.values()) {
      const pending = state.pendingRedeliveries;
      if (pending === undefined) continue;
      records++;
      expect(Object.keys(pending).sort()).toEqual(['count', 'expiresAt', 'lowestSeq']);
    }
    expect(records).toBe(s.keys.size);
    // Several expectations of one key share its record.
    const first = t.deliver(s, 'one', 'p', 20_000, 0, 0);
    const second = t.deliver(s, 'one', 'p', 20_001, 0, 0);
    t.settle(first);
    t.settle(second);
    t.expectRedelivery(first, 0, 0);
    t.expectRedelivery(second, 0, 0);
    const record = t.keys.touch(s.keys, 'one').pendingRedeliveries;
    expect(record?.count).toBe(2);
    expect(record?.lowestSeq).toBe(20_000);
  });

  it('ignores messages without stamps or key', () => {
    const t = tracker();
    const s = t.stream('t', 's');
    const unstamped = t.deliver(s, 'k', undefined, Number.NaN, 0, 0);
    const keyless = t.deliver(s, undefined, 'p', 1, 0, 0);
    t.expectRedelivery(unstamped, 0, 0);
    t.expectRedelivery(keyless, 0, 0);
    expect(t.keys.touch(s.keys, 'k').pendingRedeliveries).toBeUndefined();
  });
});
