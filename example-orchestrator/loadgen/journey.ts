import type { Channel, SubscriberEvent, SubscriberEventType } from '../domain/events.js';
import type { SeededRandom } from './random.js';

type Phase = 'new' | 'browsing' | 'cart' | 'checkout';

/** The next step of one phase: [event type, probability] pairs summing to 1. */
const STEPS: Record<Exclude<Phase, 'new'>, ReadonlyArray<readonly [SubscriberEventType, number]>> = {
  browsing: [
    ['product_viewed', 0.6],
    ['cart_updated', 0.4],
  ],
  // Some carts are left for a while (product views) or for good: that is
  // what the abandoned-cart reminder is for.
  cart: [
    ['cart_updated', 0.25],
    ['product_viewed', 0.3],
    ['checkout_started', 0.45],
  ],
  checkout: [
    ['order_placed', 0.7],
    ['cart_updated', 0.2],
    ['product_viewed', 0.1],
  ],
};

/** US time zones (standard time), minutes from UTC: quiet hours are local. */
const UTC_OFFSETS = [-300, -360, -420, -480, -540, -600];
const CHANNEL_CHOICES: ReadonlyArray<Channel[] | undefined> = [undefined, ['sms'], ['email']];
const CATALOG_SIZE = 500;

/** An event without its time: the plan adds it. */
export type JourneyStep = SubscriberEvent extends infer E ? (E extends SubscriberEvent ? Omit<E, 'eventTime'> : never) : never;

/**
 * One subscriber's journey, a small Markov chain: subscribe first, then
 * browse, fill a cart, check out, order, and browse again. A share of
 * subscribers unsubscribes at a point drawn when they first appear, and keeps
 * browsing and ordering afterwards (so that "nothing after unsubscribe" is
 * really exercised).
 */
export class SubscriberJourney {
  private phase: Phase = 'new';
  private seq = 0;
  private orders = 0;
  private cartItems = 0;
  private cartValue = 0;
  private readonly unsubscribeAt: number;
  private readonly utcOffsetMinutes: number;
  private readonly channels: Channel[] | undefined;

  constructor(
    readonly subscriberId: string,
    random: SeededRandom,
    unsubscribeShare: number,
  ) {
    // Drawn here, once, so a subscriber's fate does not depend on how many
    // other subscribers' events came between its own.
    this.unsubscribeAt = random.next() < unsubscribeShare ? 3 + random.int(28) : Number.POSITIVE_INFINITY;
    this.utcOffsetMinutes = random.pick(UTC_OFFSETS);
    this.channels = CHANNEL_CHOICES[random.int(CHANNEL_CHOICES.length)];
  }

  /** The next event of this subscriber, with its per-subscriber sequence number (1, 2, ...). */
  next(random: SeededRandom): JourneyStep {
    this.seq += 1;
    const base = { v: 1 as const, subscriberId: this.subscriberId, seq: this.seq };
    const type = this.nextType(random);
    switch (type) {
      case 'subscribed':
        return {
          ...base,
          type,
          utcOffsetMinutes: this.utcOffsetMinutes,
          ...(this.channels === undefined ? {} : { channels: this.channels }),
        };
      case 'product_viewed':
        return { ...base, type, productId: `p-${random.int(CATALOG_SIZE)}` };
      case 'cart_updated':
        // One update in ten empties the cart; the others add an item.
        if (this.cartItems > 0 && random.next() < 0.1) {
          this.cartItems = 0;
          this.cartValue = 0;
          this.phase = 'browsing';
        } else {
          this.cartItems += 1;
          this.cartValue += 500 + random.int(20_000);
        }
        return { ...base, type, items: this.cartItems, value: this.cartValue };
      case 'checkout_started':
        return { ...base, type };
      case 'order_placed': {
        this.orders += 1;
        const step = { ...base, type, orderId: `${this.subscriberId}-o${this.orders}`, value: this.cartValue };
        this.cartItems = 0;
        this.cartValue = 0;
        return step;
      }
      case 'unsubscribed':
        return { ...base, type };
    }
  }

  private nextType(random: SeededRandom): SubscriberEventType {
    if (this.phase === 'new') {
      this.phase = 'browsing';
      return 'subscribed';
    }
    if (this.seq === this.unsubscribeAt) return 'unsubscribed';
    const steps = STEPS[this.phase];
    let u = random.next();
    let type: SubscriberEventType = steps[steps.length - 1]?.[0] ?? 'product_viewed';
    for (const [candidate, probability] of steps) {
      if (u < probability) {
        type = candidate;
        break;
      }
      u -= probability;
    }
    if (type === 'cart_updated') this.phase = 'cart';
    else if (type === 'checkout_started') this.phase = 'checkout';
    else if (type === 'order_placed') this.phase = 'browsing';
    return type;
  }
}
