/**
 * The marketing rules and journey timings, in simulated time. One policy per
 * run: the orchestrator and the oracle's replay read the same one from the
 * run's run.json.
 */
import { DAY, HOUR } from './clock.js';
import type { Channel } from './events.js';

export interface FrequencyCap {
  /** At most this many sends ... */
  max: number;
  /** ... in any rolling window this long (simulated ms). */
  windowMs: number;
}

export interface JourneyPolicy {
  /** Welcome series: the follow-up email this long after subscribing. */
  welcomeFollowUpAfterMs: number;
  /** Abandoned cart: reminders this long after the last cart update, unless an order came first. */
  cartRemindersAfterMs: number[];
  /** Post-purchase: the review request this long after the order. */
  reviewRequestAfterMs: number;
  caps: Record<Channel, FrequencyCap>;
  /** No SMS between these local hours (TCPA allows 8 am to 9 pm); a send due then waits for the end. */
  quietHours: { startHour: number; endHour: number };
  /** Bound on timers pending per subscriber (oldest dropped beyond it, counted as an outcome). */
  maxPendingTimers: number;
}

export const DEFAULT_POLICY: JourneyPolicy = {
  welcomeFollowUpAfterMs: DAY,
  cartRemindersAfterMs: [HOUR, DAY],
  reviewRequestAfterMs: 3 * DAY,
  caps: {
    sms: { max: 3, windowMs: 7 * DAY },
    email: { max: 5, windowMs: 7 * DAY },
  },
  quietHours: { startHour: 21, endHour: 8 },
  maxPendingTimers: 16,
};

export function resolvePolicy(overrides: Partial<JourneyPolicy> = {}): JourneyPolicy {
  return {
    ...DEFAULT_POLICY,
    ...overrides,
    caps: { ...DEFAULT_POLICY.caps, ...overrides.caps },
    quietHours: { ...DEFAULT_POLICY.quietHours, ...overrides.quietHours },
  };
}
