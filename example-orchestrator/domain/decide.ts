/**
 * The decision function: (state, input) -> (new state, sends, timers). Pure
 * and deterministic: it reads event time only, never the wall clock, so the
 * same inputs in the same order always give the same decisions.
 *
 * Timers fire in event time. A timer due at T fires after every event of the
 * subscriber with an event time before T and before any event at or after
 * T: either when such a later event is applied (due timers fire first, in
 * due order), or when its `timer_fired` arrives, whichever comes first; the
 * other is then a no-op.
 */
import { commandIdOf, decisionIdOf, type SendCommand } from './commands.js';
import type { Channel, SubscriberEvent, TimerFiredEvent } from './events.js';
import type { JourneyPolicy } from './policy.js';
import { judgeSend, recordSend } from './rules.js';
import { cloneState, initialState, MAX_REMEMBERED_STEPS, type PendingTimer, type SubscriberState, type TimerKind } from './state.js';

export type Input = { kind: 'event'; event: SubscriberEvent } | { kind: 'timer'; event: TimerFiredEvent };

export type DecisionOutcome =
  | 'sent'
  | 'capped'
  | 'quiet_hours'
  | 'unsubscribed'
  | 'no_channel'
  | 'duplicate'
  | 'cancelled'
  | 'timer_dropped';

export interface OutcomeRecord {
  outcome: DecisionOutcome;
  journey: string;
  step: string;
  channel: Channel;
}

/** A send decided, without the fields only the running process knows (decidedBy, publish time, fence). */
export type Decision = Omit<SendCommand, 'decidedBy' | 'triggerPublishedAt' | 'fence'>;

export interface Decided {
  /** false: nothing changed (a duplicate event, a timer that already fired): write nothing, send nothing. */
  changed: boolean;
  /** Why nothing changed. */
  skipped?: 'duplicate_event' | 'timer_not_pending';
  state: SubscriberState;
  sends: Decision[];
  /** Timers scheduled by this input (to publish on the timers topic). */
  timers: PendingTimer[];
  /** Ids of the timers this input fired. */
  firedTimers: string[];
  outcomes: OutcomeRecord[];
  /** The trigger string of this input, `event:<seq>` or `timer:<id>`. */
  trigger: string;
}

export interface DecideContext {
  /** Version of the state being decided on (part of each decision id). */
  stateVersion: number;
}

export function triggerOf(input: Input): string {
  return input.kind === 'event' ? `event:${input.event.seq}` : `timer:${input.event.timerId}`;
}

export function decide(current: SubscriberState | undefined, input: Input, policy: JourneyPolicy, context: DecideContext): Decided {
  const subscriberId = input.event.subscriberId;
  const trigger = triggerOf(input);
  const before = current ?? initialState(subscriberId);
  const unchanged = (skipped: Decided['skipped']): Decided => ({
    changed: false,
    skipped,
    state: before,
    sends: [],
    timers: [],
    firedTimers: [],
    outcomes: [],
    trigger,
  });

  if (input.kind === 'event' && input.event.seq <= before.lastSeq) return unchanged('duplicate_event');
  if (input.kind === 'timer' && !before.timers.some((timer) => timer.id === input.event.timerId)) return unchanged('timer_not_pending');

  const work = new Work(cloneState(before), policy, trigger, context.stateVersion);
  if (input.kind === 'timer') {
    work.fireTimersDueBy(input.event.dueTime);
  } else {
    work.fireTimersDueBy(input.event.eventTime);
    work.applyEvent(input.event);
  }
  return {
    changed: true,
    state: work.state,
    sends: work.sends,
    timers: work.scheduled.filter((timer) => work.state.timers.some((pending) => pending.id === timer.id)),
    firedTimers: work.fired,
    outcomes: work.outcomes,
    trigger,
  };
}

/** Fires every pending timer, earliest first, including the ones they schedule (end of a replay). Bounded. */
export function fireAllTimers(state: SubscriberState, policy: JourneyPolicy, stateVersion: number): Decided {
  const work = new Work(cloneState(state), policy, 'end', stateVersion);
  for (let guard = 0; guard < 1_000 && work.state.timers.length > 0; guard++) {
    work.fireTimersDueBy(work.state.timers[0]!.dueTime);
  }
  return {
    changed: true,
    state: work.state,
    sends: work.sends,
    timers: [],
    firedTimers: work.fired,
    outcomes: work.outcomes,
    trigger: 'end',
  };
}

/** Timers of an abandoned-cart journey: its reminders and their quiet-hours retries. */
function isCartTimer(timer: PendingTimer): boolean {
  return timer.journey.startsWith('abandoned_cart#');
}

/** One input being applied: accumulates sends, timers and outcomes on a private copy of the state. */
class Work {
  readonly sends: Decision[] = [];
  readonly scheduled: PendingTimer[] = [];
  readonly fired: string[] = [];
  readonly outcomes: OutcomeRecord[] = [];

  constructor(
    readonly state: SubscriberState,
    private readonly policy: JourneyPolicy,
    private readonly trigger: string,
    private readonly stateVersion: number,
  ) {}

  fireTimersDueBy(time: number): void {
    // Firing may schedule more timers; those due by `time` fire in this loop too.
    for (let guard = 0; guard < 1_000; guard++) {
      const next = this.state.timers[0];
      if (next === undefined || next.dueTime > time) return;
      this.state.timers.shift();
      this.fired.push(next.id);
      this.fireTimer(next);
    }
  }

  applyEvent(event: SubscriberEvent): void {
    const state = this.state;
    const at = event.eventTime;
    state.lastSeq = event.seq;
    state.lastEventTime = Math.max(state.lastEventTime, at);
    if (state.unsubscribedAt !== undefined) return; // nothing happens after unsubscribe
    switch (event.type) {
      case 'subscribed':
        if (state.subscribed) return;
        state.subscribed = true;
        state.utcOffsetMinutes = event.utcOffsetMinutes;
        if (event.channels !== undefined && event.channels.length > 0) state.channels = [...event.channels];
        if (!state.welcomeStarted) {
          state.welcomeStarted = true;
          this.trySend('welcome', 'welcome', state.channels.includes('sms') ? 'sms' : 'email', at, undefined);
          this.schedule('welcome_follow_up', at + this.policy.welcomeFollowUpAfterMs, 'welcome', 'follow_up', 'email');
        }
        return;
      case 'product_viewed':
        state.lastViewedAt = at;
        return;
      case 'cart_updated':
        // The reminders count from the latest update: start them over (a reminder already sent stays sent).
        this.cancelTimers(isCartTimer);
        if (event.items === 0) {
          delete state.cart;
          return;
        }
        if (state.cart === undefined) {
          state.cartJourneys += 1;
          state.cart = { instance: state.cartJourneys, items: event.items, value: event.value, updatedAt: at };
        } else {
          state.cart = { ...state.cart, items: event.items, value: event.value, updatedAt: at };
        }
        this.scheduleCartReminder(0);
        return;
      case 'checkout_started':
        state.checkoutStartedAt = at;
        return;
      case 'order_placed': {
        state.orders += 1;
        state.lastOrderAt = at;
        delete state.cart;
        this.cancelTimers(isCartTimer, true);
        const journey = `post_purchase#${state.orders}`;
        this.trySend(journey, 'thank_you', 'email', at, undefined);
        this.schedule('review_request', at + this.policy.reviewRequestAfterMs, journey, 'review_request', 'email');
        return;
      }
      case 'unsubscribed':
        state.unsubscribedAt = at;
        this.cancelTimers(() => true, true);
        return;
    }
  }

  private fireTimer(timer: PendingTimer): void {
    const state = this.state;
    switch (timer.kind) {
      case 'cart_reminder': {
        const reminder = timer.reminder ?? 0;
        // An order (or an emptied cart) since then cancelled the journey; so does a newer cart.
        if (state.cart === undefined || timer.journey !== `abandoned_cart#${state.cart.instance}`) {
          this.outcome('cancelled', timer.journey, timer.step, timer.channel);
          return;
        }
        this.trySend(timer.journey, timer.step, timer.channel, timer.dueTime, timer.dueTime);
        if (reminder + 1 < this.policy.cartRemindersAfterMs.length) this.scheduleCartReminder(reminder + 1);
        return;
      }
      case 'welcome_follow_up':
      case 'review_request':
        this.trySend(timer.journey, timer.step, timer.channel, timer.dueTime, timer.dueTime);
        return;
      case 'quiet_hours_retry':
        if (isCartTimer(timer) && (state.cart === undefined || timer.journey !== `abandoned_cart#${state.cart.instance}`)) {
          this.outcome('cancelled', timer.journey, timer.step, timer.channel);
          return;
        }
        this.trySend(timer.journey, timer.step, timer.channel, timer.dueTime, timer.dueTime, timer.firstDueTime);
        return;
    }
  }

  private scheduleCartReminder(reminder: number): void {
    const cart = this.state.cart;
    const delay = this.policy.cartRemindersAfterMs[reminder];
    if (cart === undefined || delay === undefined) return;
    // Reminder 1 by SMS, later ones by email.
    const channel: Channel = reminder === 0 ? 'sms' : 'email';
    this.schedule('cart_reminder', cart.updatedAt + delay, `abandoned_cart#${cart.instance}`, `reminder_${reminder + 1}`, channel, {
      reminder,
    });
  }

  private trySend(journey: string, step: string, channel: Channel, at: number, dueTime: number | undefined, firstDueTime?: number): void {
    const state = this.state;
    const commandId = commandIdOf(state.subscriberId, journey, step);
    const verdict = judgeSend(state, this.policy, commandId, channel, at);
    this.outcome(verdict.outcome, journey, step, channel);
    if (verdict.outcome === 'quiet_hours') {
      this.schedule('quiet_hours_retry', verdict.retryAt, journey, step, channel, { firstDueTime: firstDueTime ?? dueTime ?? at });
      return;
    }
    if (verdict.outcome !== 'sent') return;
    recordSend(state, this.policy, commandId, channel, at, MAX_REMEMBERED_STEPS);
    this.sends.push({
      v: 1,
      commandId,
      decisionId: decisionIdOf(commandId, this.trigger, this.stateVersion),
      subscriberId: state.subscriberId,
      journey,
      step,
      channel,
      decidedAt: at,
      ...(dueTime !== undefined ? { dueTime } : {}),
      trigger: this.trigger,
    });
  }

  private schedule(
    kind: TimerKind,
    dueTime: number,
    journey: string,
    step: string,
    channel: Channel,
    extra: { reminder?: number; firstDueTime?: number } = {},
  ): void {
    const timers = this.state.timers;
    if (timers.length >= this.policy.maxPendingTimers) {
      this.outcome('timer_dropped', journey, step, channel);
      return;
    }
    const timer: PendingTimer = { id: `${journey}/${step}@${dueTime}`, kind, dueTime, journey, step, channel, ...extra };
    if (timers.some((pending) => pending.id === timer.id)) return;
    timers.push(timer);
    timers.sort((a, b) => a.dueTime - b.dueTime || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.scheduled.push(timer);
  }

  /** `counted`: the journey ends here (an order, an unsubscribe), as opposed to a reminder moving with the cart. */
  private cancelTimers(match: (timer: PendingTimer) => boolean, counted = false): void {
    const keep: PendingTimer[] = [];
    for (const timer of this.state.timers) {
      if (!match(timer)) keep.push(timer);
      else if (counted) this.outcome('cancelled', timer.journey, timer.step, timer.channel);
    }
    this.state.timers = keep;
  }

  private outcome(outcome: DecisionOutcome, journey: string, step: string, channel: Channel): void {
    this.outcomes.push({ outcome, journey, step, channel });
  }
}
