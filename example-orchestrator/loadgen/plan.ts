import { SUBSCRIBER_EVENT_TYPES, type SubscriberEvent, type SubscriberEventType } from '../domain/events.js';
import { SubscriberJourney } from './journey.js';
import { Popularity } from './popularity.js';
import { SeededRandom } from './random.js';

export interface LoadOptions {
  /** Distinct subscribers (keys). */
  subscribers: number;
  /** Target events per second over the whole run. */
  ratePerSecond: number;
  durationMs: number;
  seed: number;
  /** Zipf exponent of key popularity: 0 = uniform; about 1 gives a few very hot keys. */
  skew: number;
  /** Share of subscribers that unsubscribe at some point. */
  unsubscribeShare: number;
  /** Simulated milliseconds per wall millisecond of the run (the run clock's speed). */
  timeScale: number;
  /** Event time of the run's first instant (the run clock's simOrigin). */
  simulatedStartMs: number;
}

export const DEFAULT_LOAD: LoadOptions = {
  subscribers: 10_000,
  ratePerSecond: 100,
  durationMs: 60_000,
  seed: 1,
  skew: 1.0,
  unsubscribeShare: 0.1,
  // One simulated day in four wall seconds: the journeys' delays (an hour, a
  // day, three days) come due inside a run of a minute or two.
  timeScale: 21_600,
  // A fixed start keeps event times, and so quiet-hour decisions, identical
  // from run to run.
  simulatedStartMs: Date.UTC(2026, 0, 5, 14),
};

/** One event of the load, in publish order. */
export interface PlannedEvent {
  /** Position in the whole load (0, 1, ...). */
  index: number;
  /** When to publish it, in ms after the run started (the clock's wall origin). */
  atMs: number;
  subscriberId: string;
  seq: number;
  /** The event as published; its eventTime is simulatedStartMs + atMs * timeScale. */
  event: SubscriberEvent;
}

export class LoadOptionsError extends Error {
  override readonly name = 'LoadOptionsError';
}

export function validateLoadOptions(options: LoadOptions): LoadOptions {
  const check = (name: keyof LoadOptions, ok: boolean, rule: string) => {
    if (!ok) throw new LoadOptionsError(`load option ${name} must be ${rule}, got ${String(options[name])}`);
  };
  check(
    'subscribers',
    Number.isInteger(options.subscribers) && options.subscribers >= 1 && options.subscribers <= 10_000_000,
    'an integer from 1 to 10,000,000',
  );
  check(
    'ratePerSecond',
    Number.isFinite(options.ratePerSecond) && options.ratePerSecond > 0 && options.ratePerSecond <= 100_000,
    'a number above 0 and at most 100,000',
  );
  check('durationMs', Number.isFinite(options.durationMs) && options.durationMs > 0, 'a positive number of milliseconds');
  check('seed', Number.isInteger(options.seed), 'an integer');
  check('skew', Number.isFinite(options.skew) && options.skew >= 0 && options.skew <= 4, 'a number from 0 to 4');
  check('unsubscribeShare', options.unsubscribeShare >= 0 && options.unsubscribeShare <= 1, 'a share from 0 to 1');
  check('timeScale', Number.isFinite(options.timeScale) && options.timeScale > 0, 'a positive number');
  check('simulatedStartMs', Number.isFinite(options.simulatedStartMs), 'a timestamp in milliseconds');
  return options;
}

function subscriberIdOf(index: number): string {
  return `sub-${String(index).padStart(5, '0')}`;
}

/**
 * The whole load as a lazy sequence: Poisson arrivals at the target rate for
 * the duration, each event given to a subscriber drawn by popularity and
 * shaped by that subscriber's journey. Everything comes from one seeded
 * generator consumed in one order, so the same options give the same events.
 */
export function* planLoad(input: LoadOptions): Generator<PlannedEvent> {
  const options = validateLoadOptions(input);
  const random = new SeededRandom(options.seed);
  const popularity = new Popularity(options.subscribers, options.skew, random);
  const journeys = new Map<number, SubscriberJourney>();
  const meanGapMs = 1000 / options.ratePerSecond;
  let atMs = 0;
  for (let index = 0; ; index += 1) {
    atMs += random.exponential(meanGapMs);
    if (atMs >= options.durationMs) return;
    const subscriber = popularity.draw(random);
    let journey = journeys.get(subscriber);
    if (journey === undefined) {
      journey = new SubscriberJourney(subscriberIdOf(subscriber), random, options.unsubscribeShare);
      journeys.set(subscriber, journey);
    }
    const step = journey.next(random);
    // Whole milliseconds: the event log and the wire format carry integers.
    const at = Math.floor(atMs);
    const event = { ...step, eventTime: options.simulatedStartMs + Math.floor(at * options.timeScale) } as SubscriberEvent;
    yield { index, atMs: at, subscriberId: step.subscriberId, seq: step.seq, event };
  }
}

export interface LoadSummary {
  events: number;
  byType: Record<SubscriberEventType, number>;
  activeSubscribers: number;
  /** The busiest subscribers with their event counts, busiest first. */
  hotKeys: Array<{ subscriberId: string; events: number }>;
}

/** Counts what planLoad() yields, without keeping the events. */
export function summarizeLoad(options: LoadOptions, hotKeyCount = 5): LoadSummary {
  const byType = Object.fromEntries(SUBSCRIBER_EVENT_TYPES.map((type) => [type, 0])) as Record<SubscriberEventType, number>;
  const perSubscriber = new Map<string, number>();
  let events = 0;
  for (const event of planLoad(options)) {
    events += 1;
    byType[event.event.type] += 1;
    perSubscriber.set(event.subscriberId, (perSubscriber.get(event.subscriberId) ?? 0) + 1);
  }
  const hotKeys = [...perSubscriber.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, hotKeyCount)
    .map(([subscriberId, count]) => ({ subscriberId, events: count }));
  return { events, byType, activeSubscribers: perSubscriber.size, hotKeys };
}
