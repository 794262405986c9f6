import { describe, expect, it } from 'vitest';
import { RecentlySettled } from '../../../src/tracking/recently-settled.js';

describe('RecentlySettled', () => {
  it('forgets the oldest entries first beyond its capacity; remembering a known entry again does not renew it', () => {
    const recent = new RecentlySettled(3);
    for (const id of ['1:1:-1', '1:2:-1', '1:3:-1', '1:4:-1']) recent.remember(id);
    expect(recent.size).toBe(3);
    expect(recent.has('1:1:-1')).toBe(false);
    expect(['1:2:-1', '1:3:-1', '1:4:-1'].every((id) => recent.has(id))).toBe(true);
    recent.remember('1:2:-1');
    recent.remember('1:5:-1');
    expect(recent.has('1:2:-1')).toBe(false);
    expect(['1:3:-1', '1:4:-1', '1:5:-1'].every((id) => recent.has(id))).toBe(true);
  });

  it('stays at its capacity over many times its capacity of entries', () => {
    const recent = new RecentlySettled(1000);
    for (let i = 0; i < 50_000; i++) recent.remember(`(7,${i},-1,-1)`);
    expect(recent.size).toBe(1000);
    expect(recent.has('(7,48999,-1,-1)')).toBe(false);
    expect(recent.has('(7,49000,-1,-1)')).toBe(true);
    expect(recent.has('(7,49999,-1,3)')).toBe(false);
  });
});
