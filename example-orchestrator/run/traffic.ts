/**
 * A small seeded workload for `npm run orchestrator` and the end-to-end
 * tests: every subscriber subscribes, browses, fills carts, sometimes checks
 * out and orders, sometimes unsubscribes; a few hot subscribers do this many
 * times over, so that their events arrive close together. Event times are
 * spread over the run on the simulated clock; the same seed gives the same
 * events. (The comparison uses the full load generator in loadgen/.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HOUR, MINUTE, simTimeAt, wallTimeOf, type SimClock } from '../domain/clock.js';
import type { SubscriberEvent } from '../domain/events.js';
import { seededRandom } from '../provider/random.js';
import type { EventPublisher } from './publisher.js';

export interface TrafficOptions {
  subscribers: number;
  /** Subscribers with many more events than the others. */
  hotSubscribers: number;
  /** Journeys of a hot subscriber (an ordinary one has 1). */
  hotJourneys: number;
  /** Wall seconds the events are spread over. */
  seconds: number;
  seed: number;
  /** Payloads that are not valid events (bad JSON, unknown type, no subscriber id), spread over the run. */
  malformed: number;
}

export type PlannedMessage =
  | { kind: 'event'; event: SubscriberEvent }
  | { kind: 'malformed'; key: string; payload: Buffer; reason: string; at: number };

const OFFSETS = [-300, -360, -420, -480];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type EventBody = DistributiveOmit<SubscriberEvent, 'v' | 'subscriberId' | 'seq' | 'eventTime'>;

function subscriberId(index: number): string {
  return `s-${String(index).padStart(6, '0')}`;
}

/** Every message of the run, in event-time order. */
export function planTraffic(options: TrafficOptions, clock: SimClock, startWall: number): PlannedMessage[] {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const simStart = simTimeAt(clock, startWall);
  const simSpan = options.seconds * 1000 * clock.speed;
  const messages: PlannedMessage[] = [];
  for (let index = 0; index < options.subscribers; index++) {
    const id = subscriberId(index);
    const hot = index < options.hotSubscribers;
    const kinds: EventBody[] = [{ type: 'subscribed', utcOffsetMinutes: pick(OFFSETS) }];
    const journeys = hot ? options.hotJourneys : 1;
    for (let journey = 0; journey < journeys; journey++) {
      for (let view = Math.floor(random() * 3); view > 0; view--)
        kinds.push({ type: 'product_viewed', productId: `p-${Math.floor(random() * 500)}` });
      if (random() < 0.75) {
        for (let update = 1 + Math.floor(random() * 2); update > 0; update--) {
          kinds.push({ type: 'cart_updated', items: 1 + Math.floor(random() * 4), value: 500 + Math.floor(random() * 20_000) });
        }
        if (random() < 0.5) kinds.push({ type: 'checkout_started' });
        if (random() < 0.55)
          kinds.push({ type: 'order_placed', orderId: `o-${index}-${journey}`, value: 1_000 + Math.floor(random() * 30_000) });
      }
    }
    if (random() < 0.1) kinds.push({ type: 'unsubscribed' });
    // Hot subscribers act all through the run; the others within a few simulated hours to days.
    const first = simStart + Math.floor(random() * simSpan * (hot ? 0.05 : 0.7));
    const span = hot ? simSpan * 0.9 : Math.min(simSpan * 0.3, (2 + random() * 46) * HOUR);
    const times = kinds.map(() => first + Math.floor(random() * span)).sort((a, b) => a - b);
    times[0] = first;
    kinds.forEach((kind, i) => {
      // Distinct times within a subscriber: one minute apart at least.
      const eventTime = Math.max(times[i]!, i > 0 ? times[i - 1]! + MINUTE : times[i]!);
      times[i] = eventTime;
      messages.push({ kind: 'event', event: { v: 1, subscriberId: id, seq: i + 1, eventTime, ...kind } as SubscriberEvent });
    });
  }
  const bad: [string, (key: string) => Buffer][] = [
    ['bad_json', () => Buffer.from('{"v":1,"type":"cart_updated",')],
    [
      'unknown_type',
      (key) => Buffer.from(JSON.stringify({ v: 1, type: 'coupon_clipped', subscriberId: key, seq: 1, eventTime: simStart })),
    ],
    [
      'missing_subscriber',
      () => Buffer.from(JSON.stringify({ v: 1, type: 'product_viewed', seq: 1, eventTime: simStart, productId: 'p-1' })),
    ],
  ];
  for (let i = 0; i < options.malformed; i++) {
    const [reason, payload] = bad[i % bad.length]!;
    // On a hot subscriber's key: its real events must flow past the bad one.
    const key = subscriberId(i % Math.max(1, Math.min(options.hotSubscribers, options.subscribers)));
    messages.push({
      kind: 'malformed',
      key,
      payload: payload(key),
      reason,
      at: simStart + Math.floor(((i + 0.5) / options.malformed) * simSpan),
    });
  }
  return messages.sort((a, b) => timeOf(a) - timeOf(b));
}

function timeOf(message: PlannedMessage): number {
  return message.kind === 'event' ? message.event.eventTime : message.at;
}

export interface PlayStats {
  published: number;
  malformed: number;
  failed: number;
  /** Wall clock of the first and last publish. */
  firstAt: number;
  lastAt: number;
}

/**
 * Publishes the plan: each message when the simulated clock reaches its time
 * (burst: as fast as the broker takes them; early is harmless, late is not),
 * up to `window` sends in flight on one producer, so order is kept.
 */
export async function playTraffic(
  publisher: EventPublisher,
  plan: readonly PlannedMessage[],
  clock: SimClock,
  options: { burst?: boolean; window?: number; onProgress?: (stats: PlayStats) => void; stop?: () => boolean } = {},
): Promise<PlayStats> {
  const stats: PlayStats = { published: 0, malformed: 0, failed: 0, firstAt: 0, lastAt: 0 };
  const window = options.window ?? 64;
  const pending = new Set<Promise<void>>();
  let lastProgress = 0;
  for (const message of plan) {
    if (options.stop?.() === true) break;
    if (options.burst !== true) {
      const wait = wallTimeOf(clock, timeOf(message)) - Date.now();
      if (wait > 0) await sleep(wait);
    }
    while (pending.size >= window) await Promise.race(pending);
    if (stats.firstAt === 0) stats.firstAt = Date.now();
    const sent = (message.kind === 'event' ? publisher.publish(message.event) : publisher.publishRaw(message.key, message.payload)).then(
      () => {
        if (message.kind === 'event') stats.published += 1;
        else stats.malformed += 1;
        stats.lastAt = Date.now();
      },
      () => {
        stats.failed += 1;
      },
    );
    const tracked = sent.finally(() => pending.delete(tracked));
    pending.add(tracked);
    if (options.onProgress !== undefined && Date.now() - lastProgress >= 1_000) {
      lastProgress = Date.now();
      options.onProgress(stats);
    }
  }
  await Promise.all(pending);
  options.onProgress?.(stats);
  return stats;
}

export function countEvents(plan: readonly PlannedMessage[]): number {
  return plan.filter((message) => message.kind === 'event').length;
}
