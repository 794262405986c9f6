/** Per-subscriber state: everything the decisions depend on, bounded in size. */
import type { Channel } from './events.js';

export type TimerKind = 'welcome_follow_up' | 'cart_reminder' | 'review_request' | 'quiet_hours_retry';

export interface PendingTimer {
  /** Deterministic: `<journey>/<step>@<dueTime>`. */
  id: string;
  kind: TimerKind;
  dueTime: number;
  journey: string;
  step: string;
  channel: Channel;
  /** cart_reminder: which reminder (0-based) this is. */
  reminder?: number;
  /** quiet_hours_retry: when the send was first due. */
  firstDueTime?: number;
}

export interface ActiveCart {
  /** 1 for the subscriber's first abandoned-cart journey, then 2, ... */
  instance: number;
  items: number;
  value: number;
  updatedAt: number;
}

export interface SubscriberState {
  subscriberId: string;
  /** Sequence number of the last event applied (0 = none). */
  lastSeq: number;
  /** Event time of the last event applied. */
  lastEventTime: number;
  subscribed: boolean;
  /** Set once; nothing is sent afterwards. */
  unsubscribedAt?: number;
  utcOffsetMinutes: number;
  channels: Channel[];
  welcomeStarted: boolean;
  cart?: ActiveCart;
  cartJourneys: number;
  orders: number;
  lastOrderAt?: number;
  checkoutStartedAt?: number;
  lastViewedAt?: number;
  /** Command ids already sent, most recent last (bounded by MAX_REMEMBERED_STEPS). */
  stepsSent: string[];
  /** Per channel, send times inside the cap window (at most the cap's max). */
  sendTimes: Record<Channel, number[]>;
  /** Ordered by (dueTime, id); bounded by the policy's maxPendingTimers. */
  timers: PendingTimer[];
}

/**
 * Journey instances only grow, so a step far in the past never comes back;
 * 256 ids cover every live journey of a very active subscriber.
 */
export const MAX_REMEMBERED_STEPS = 256;

export function initialState(subscriberId: string): SubscriberState {
  return {
    subscriberId,
    lastSeq: 0,
    lastEventTime: 0,
    subscribed: false,
    utcOffsetMinutes: 0,
    channels: ['sms', 'email'],
    welcomeStarted: false,
    cartJourneys: 0,
    orders: 0,
    stepsSent: [],
    sendTimes: { sms: [], email: [] },
    timers: [],
  };
}

/** A deep copy, so that deciding never mutates the caller's state. */
export function cloneState(state: SubscriberState): SubscriberState {
  return structuredClone(state);
}
