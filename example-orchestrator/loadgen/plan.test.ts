import { describe, expect, it } from 'vitest';
import { encodeEvent, parseEvent } from '../domain/events.js';
import { DEFAULT_LOAD, LoadOptionsError, planLoad, summarizeLoad, type LoadOptions, type PlannedEvent } from './plan.js';
import { Popularity } from './popularity.js';
import { SeededRandom } from './random.js';

const small: LoadOptions = { ...DEFAULT_LOAD, subscribers: 2_000, ratePerSecond: 400, durationMs: 20_000, seed: 7 };

describe('load plan', () => {
  it('gives the same events for the same seed and different ones for another seed', () => {
    const first = [...planLoad(small)];
    const again = [...planLoad(small)];
    const other = [...planLoad({ ...small, seed: 8 })];
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it('follows the target rate and stays inside the duration', () => {
    const events = [...planLoad(small)];
    const expected = (small.ratePerSecond * small.durationMs) / 1000;
    expect(events.length).toBeGreaterThan(expected * 0.95);
    expect(events.length).toBeLessThan(expected * 1.05);
    expect(events.every((event, i) => event.index === i && event.atMs >= 0 && event.atMs < small.durationMs)).toBe(true);
    expect(events.every((event, i) => i === 0 || event.atMs >= (events[i - 1]?.atMs ?? 0))).toBe(true);
  });

  it('skews popularity: a few keys are very hot, most are cold', () => {
    const summary = summarizeLoad(small, 3);
    const hottest = summary.hotKeys[0]?.events ?? 0;
    // Zipf with exponent 1 over 2,000 keys gives the hottest key about 12 %.
    expect(hottest / summary.events).toBeGreaterThan(0.08);
    expect(hottest / summary.events).toBeLessThan(0.17);
    const uniform = summarizeLoad({ ...small, skew: 0 }, 1);
    expect((uniform.hotKeys[0]?.events ?? 0) / uniform.events).toBeLessThan(0.01);
  });

  it('gives each subscriber a journey: subscribed first, sequence 1, 2, 3 ..., orders after checkouts, unsubscribe at most once, valid wire events', () => {
    const bySubscriber = new Map<string, PlannedEvent[]>();
    for (const event of planLoad(small)) {
      const list = bySubscriber.get(event.subscriberId) ?? [];
      list.push(event);
      bySubscriber.set(event.subscriberId, list);
    }
    let unsubscribers = 0;
    for (const events of bySubscriber.values()) {
      expect(events[0]?.event.type).toBe('subscribed');
      expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
      const unsubscribes = events.filter(({ event }) => event.type === 'unsubscribed').length;
      expect(unsubscribes).toBeLessThanOrEqual(1);
      unsubscribers += unsubscribes;
      for (const [i, { event }] of events.entries()) {
        if (event.type === 'order_placed') {
          // An order follows a checkout of a non-empty cart since the previous order.
          const sincePrevious = events.slice(0, i).reverse();
          const lastOrder = sincePrevious.findIndex((e) => e.event.type === 'order_placed');
          const window = lastOrder === -1 ? sincePrevious : sincePrevious.slice(0, lastOrder);
          expect(window.some((e) => e.event.type === 'checkout_started')).toBe(true);
          expect(event.value).toBeGreaterThan(0);
        }
        expect(parseEvent(encodeEvent(event))).toEqual({ ok: true, event });
      }
      expect(events.every((e, i) => i === 0 || e.event.eventTime >= (events[i - 1]?.event.eventTime ?? 0))).toBe(true);
    }
    // Every journey step occurs, and some subscribers leave.
    const summary = summarizeLoad(small);
    for (const count of Object.values(summary.byType)) expect(count).toBeGreaterThan(0);
    expect(unsubscribers).toBeGreaterThan(0);
  });

  it('runs event time on the accelerated clock', () => {
    for (const event of planLoad({ ...small, durationMs: 2_000 })) {
      expect(event.event.eventTime).toBe(small.simulatedStartMs + Math.floor(event.atMs * small.timeScale));
    }
  });

  it('rejects options it cannot honour, naming the option', () => {
    expect(() => [...planLoad({ ...small, subscribers: 0 })]).toThrow(LoadOptionsError);
    expect(() => [...planLoad({ ...small, ratePerSecond: Number.NaN })]).toThrow(/ratePerSecond/);
  });
});

describe('popularity', () => {
  it('draws every subscriber index in range and ranks shares from hot to cold', () => {
    const random = new SeededRandom(3);
    const popularity = new Popularity(100, 1.2, random);
    const counts = new Array<number>(100).fill(0);
    for (let i = 0; i < 50_000; i += 1) {
      const index = popularity.draw(random);
      counts[index] = (counts[index] ?? 0) + 1;
    }
    const [hottest] = popularity.hottest(1);
    expect(Math.max(...counts)).toBe(counts[hottest ?? -1]);
    expect(popularity.share(0)).toBeGreaterThan(popularity.share(1));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(50_000);
  });
});
