import { describe, expect, it } from 'vitest';
import { KeyTable, SEQ_BACKWARDS, SEQ_FORWARD, SEQ_REPEATED, type KeyState } from '../../../src/tracking/key-table.js';
import { Tracker } from '../../../src/tracking/tracker.js';
import { exposeGc } from '../../../testing/gc.js';

/** Marks a key as having a message in flight, as the tracker does. */
function holdMessage(state: KeyState): void {
  state.newestInflight = { previousOfKey: undefined, nextOfKey: undefined };
}

describe('KeyTable', () => {
  it('evicts the least recently active key first and counts evictions', () => {
    const table = new KeyTable(3);
    const scope = table.createScope();
    table.touch(scope, 'a');
    table.touch(scope, 'b');
    table.touch(scope, 'c');
    table.touch(scope, 'a'); // a is now the most recent; b is the least recent
    table.touch(scope, 'd');
    expect(table.size).toBe(3);
    expect(scope.get('b')).toBeUndefined();
    expect(scope.get('a')).toBeDefined();
    expect(table.evictions).toBe(1);
  });

  it('never evicts a key with messages in flight or an open processing window', () => {
    const table = new KeyTable(2);
    const scope = table.createScope();
    holdMessage(table.touch(scope, 'busy'));
    table.touch(scope, 'window').processingWindows = 1;
    table.touch(scope, 'idle');
    // Over the cap with both older keys busy: the newest idle key is the only candidate.
    expect(scope.get('busy')).toBeDefined();
    expect(scope.get('window')).toBeDefined();
    table.touch(scope, 'another');
    expect(scope.get('busy')).toBeDefined();
    expect(scope.get('window')).toBeDefined();
    expect(table.size).toBeLessThanOrEqual(3);
  });

  it('stays over the cap only while more keys than the cap are busy, and trims later', () => {
    const table = new KeyTable(2);
    const scope = table.createScope();
    const states = ['a', 'b', 'c'].map((id) => {
      const state = table.touch(scope, id);
      holdMessage(state);
      return state;
    });
    expect(table.size).toBe(3);
    for (const state of states) state.newestInflight = undefined;
    table.trim();
    expect(table.size).toBe(2);
    expect(table.evictions).toBe(1);
  });

  it('shares one bound and one recency order across streams', () => {
    const table = new KeyTable(2);
    const first = table.createScope();
    const second = table.createScope();
    table.touch(first, 'k');
    table.touch(second, 'k');
    table.touch(first, 'k');
    table.touch(second, 'other');
    expect(first.has('k')).toBe(true);
    expect(second.has('k')).toBe(false);
    expect(second.has('other')).toBe(true);
    expect(table.size).toBe(2);
  });

  it('remembers the highest sequence per producer of a key, across several producers', () => {
    const table = new KeyTable(10);
    const state = table.touch(table.createScope(), 'k');
    expect(state.observeSequence('p1', 1)).toBe(SEQ_FORWARD);
    expect(state.observeSequence('p2', 7)).toBe(SEQ_FORWARD);
    expect(state.observeSequence('p1', 2)).toBe(SEQ_FORWARD);
    expect(state.observeSequence('p2', 8)).toBe(SEQ_FORWARD);
    expect(state.observeSequence('p1', 1)).toBe(SEQ_BACKWARDS);
    expect(state.observeSequence('p2', 3)).toBe(SEQ_BACKWARDS);
    // A duplicate (same seq) is not a reorder, but it is told apart from a new message.
    expect(state.observeSequence('p2', 8)).toBe(SEQ_REPEATED);
    expect(state.observeSequence('p1', 2)).toBe(SEQ_REPEATED);
  });
});

describe('key bound under a flood of distinct keys', () => {
  it('a million distinct keys never exceed maxTrackedKeys and the heap stays bounded', () => {
    const cap = 10_000;
    const tracker = new Tracker({ maxTrackedKeys: cap, stallThresholdMs: 30_000, topStalledKeys: 10 });
    const stream = tracker.stream('t', 's');
    const gc = exposeGc();
    // Warm up to the cap, then measure the growth over the rest of the flood.
    for (let i = 0; i < cap; i++) tracker.settle(tracker.deliver(stream, `user-${i}`, 'producer-a', i + 1, 0, i));
    gc();
    const before = process.memoryUsage().heapUsed;
    let maxSize = 0;
    for (let i = cap; i < 1_000_000; i++) {
      const delivery = tracker.deliver(stream, `user-${i}`, 'producer-a', i + 1, 0, i);
      tracker.settle(delivery);
      if ((i & 1023) === 0 && tracker.keys.size > maxSize) maxSize = tracker.keys.size;
    }
    gc();
    const after = process.memoryUsage().heapUsed;
    expect(maxSize).toBeLessThanOrEqual(cap);
    expect(tracker.keys.size).toBe(cap);
    expect(tracker.keys.evictions).toBe(1_000_000 - cap);
    // 990k keys went through; keeping them all would take well over 100 MB. The
    // table was already full before measuring, so growth stays near zero.
    expect(after - before).toBeLessThan(16 * 1024 * 1024);
    const sweep = tracker.sweep(2_000_000);
    expect(sweep.trackedKeys).toBe(cap);
    expect(sweep.streams[0]?.inflightMessages).toBe(0);
  });
});
