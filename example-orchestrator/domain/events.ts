/**
 * Subscriber events: the orchestrator's input, and their JSON wire format on
 * the events topic (message key = subscriber id, payload = one JSON object).
 *
 * Every event a subscriber causes carries a per-subscriber sequence number
 * (1, 2, 3, ... in the order the subscriber caused them) and an event time on
 * the run's simulated clock (milliseconds since the epoch). The orchestrator
 * decides on event time only, so the same event log gives the same decisions.
 *
 * `timer_fired` is not caused by a subscriber: the timer relay publishes it on
 * the events topic when a journey's delay is due, so that the consumer owning
 * the subscriber applies it in line with the subscriber's other events.
 */

export const WIRE_VERSION = 1;

export const SUBSCRIBER_EVENT_TYPES = [
  'subscribed',
  'product_viewed',
  'cart_updated',
  'checkout_started',
  'order_placed',
  'unsubscribed',
] as const;
export type SubscriberEventType = (typeof SUBSCRIBER_EVENT_TYPES)[number];

export type Channel = 'sms' | 'email';
const CHANNELS: readonly Channel[] = ['sms', 'email'];

interface EventBase {
  v: typeof WIRE_VERSION;
  subscriberId: string;
  /** Per subscriber: 1 for its first event, +1 for each next one. */
  seq: number;
  /** Simulated clock, ms since the epoch. */
  eventTime: number;
}

export interface SubscribedEvent extends EventBase {
  type: 'subscribed';
  /** The subscriber's offset from UTC in minutes (quiet hours are local), e.g. -300 for UTC-5. */
  utcOffsetMinutes: number;
  /** Channels the subscriber opted into. Default: both. */
  channels?: Channel[];
}
export interface ProductViewedEvent extends EventBase {
  type: 'product_viewed';
  productId: string;
}
export interface CartUpdatedEvent extends EventBase {
  type: 'cart_updated';
  /** Items in the cart after the update; 0 empties it. */
  items: number;
  /** Cart value in cents. */
  value: number;
}
export interface CheckoutStartedEvent extends EventBase {
  type: 'checkout_started';
}
export interface OrderPlacedEvent extends EventBase {
  type: 'order_placed';
  orderId: string;
  /** Order value in cents. */
  value: number;
}
export interface UnsubscribedEvent extends EventBase {
  type: 'unsubscribed';
}

export type SubscriberEvent =
  | SubscribedEvent
  | ProductViewedEvent
  | CartUpdatedEvent
  | CheckoutStartedEvent
  | OrderPlacedEvent
  | UnsubscribedEvent;

/** A journey's delay that came due (published by the timer relay, never by a subscriber). */
export interface TimerFiredEvent {
  v: typeof WIRE_VERSION;
  type: 'timer_fired';
  subscriberId: string;
  timerId: string;
  /** Simulated clock: when the timer was due. */
  dueTime: number;
}

export type WireEvent = SubscriberEvent | TimerFiredEvent;

export type MalformedReason = 'bad_json' | 'not_an_object' | 'unsupported_version' | 'unknown_type' | 'missing_subscriber' | 'bad_field';

export type ParseResult = { ok: true; event: WireEvent } | { ok: false; reason: MalformedReason; detail: string };

export function encodeEvent(event: WireEvent): Buffer {
  return Buffer.from(JSON.stringify(event));
}

/** Never throws: a payload that is not a valid event comes back with the reason. */
export function parseEvent(payload: Buffer | string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: 'bad_json', detail: error instanceof Error ? error.message : String(error) };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: 'not_an_object', detail: `payload is ${Array.isArray(value) ? 'an array' : typeof value}` };
  }
  const record = value as Record<string, unknown>;
  if (record.v !== WIRE_VERSION) return { ok: false, reason: 'unsupported_version', detail: `v=${String(record.v)}` };
  if (typeof record.subscriberId !== 'string' || record.subscriberId === '') {
    return { ok: false, reason: 'missing_subscriber', detail: 'subscriberId must be a non-empty string' };
  }
  const type = record.type;
  if (type === 'timer_fired') {
    if (typeof record.timerId !== 'string' || record.timerId === '') return badField('timerId');
    if (!isTime(record.dueTime)) return badField('dueTime');
    return { ok: true, event: record as unknown as TimerFiredEvent };
  }
  if (typeof type !== 'string' || !(SUBSCRIBER_EVENT_TYPES as readonly string[]).includes(type)) {
    return { ok: false, reason: 'unknown_type', detail: `type=${JSON.stringify(type)}` };
  }
  if (!Number.isSafeInteger(record.seq) || (record.seq as number) < 1) return badField('seq');
  if (!isTime(record.eventTime)) return badField('eventTime');
  switch (type as SubscriberEventType) {
    case 'subscribed':
      if (!Number.isInteger(record.utcOffsetMinutes) || Math.abs(record.utcOffsetMinutes as number) > 14 * 60)
        return badField('utcOffsetMinutes');
      if (
        record.channels !== undefined &&
        !(Array.isArray(record.channels) && record.channels.every((c) => CHANNELS.includes(c as Channel)))
      ) {
        return badField('channels');
      }
      break;
    case 'product_viewed':
      if (typeof record.productId !== 'string') return badField('productId');
      break;
    case 'cart_updated':
      if (!isCount(record.items)) return badField('items');
      if (!isCount(record.value)) return badField('value');
      break;
    case 'order_placed':
      if (typeof record.orderId !== 'string' || record.orderId === '') return badField('orderId');
      if (!isCount(record.value)) return badField('value');
      break;
    case 'checkout_started':
    case 'unsubscribed':
      break;
  }
  return { ok: true, event: record as unknown as SubscriberEvent };
}

function badField(field: string): ParseResult {
  return { ok: false, reason: 'bad_field', detail: `${field} is missing or invalid` };
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
