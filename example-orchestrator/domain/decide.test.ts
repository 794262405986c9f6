import { describe, expect, it } from 'vitest';
import { DAY, HOUR, MINUTE } from './clock.js';
import { decide, type Decided, type Input } from './decide.js';
import { parseEvent, type SubscriberEvent } from './events.js';
import { DEFAULT_POLICY, resolvePolicy } from './policy.js';
import { replaySubscriber } from './replay.js';
import { inQuietHours, quietHoursEnd } from './rules.js';
import type { SubscriberState } from './state.js';

// 2026-01-05 15:00 UTC = 10:00 in New York (UTC-5): outside quiet hours.
const T0 = Date.UTC(2026, 0, 5, 15, 0, 0);
const NEW_YORK = -300;
const ID = 's-1';

type Body = SubscriberEvent extends infer E ? (E extends SubscriberEvent ? Omit<E, 'v' | 'subscriberId' | 'seq'> : never) : never;

function events(...bodies: Body[]): SubscriberEvent[] {
  return bodies.map((body, i) => ({ v: 1, subscriberId: ID, seq: i + 1, ...body }) as SubscriberEvent);
}

/** Applies events one by one, as a sequential orchestrator does. */
function applyAll(list: SubscriberEvent[], policy = DEFAULT_POLICY): { state: SubscriberState | undefined; steps: Decided[] } {
  let state: SubscriberState | undefined;
  let version = 0;
  const steps: Decided[] = [];
  for (const event of list) {
    const decided = decide(state, { kind: 'event', event }, policy, { stateVersion: version });
    steps.push(decided);
    if (decided.changed) {
      state = decided.state;
      version++;
    }
  }
  return { state, steps };
}

function sent(replay: { sends: { commandId: string; decidedAt: number; channel: string }[] }): string[] {
  return replay.sends.map((send) => `${send.commandId.slice(ID.length + 1)}@${(send.decidedAt - T0) / HOUR}h/${send.channel}`);
}

describe('journeys', () => {
  it('welcome series: a welcome now, the follow-up a day later', () => {
    const replay = replaySubscriber(events({ type: 'subscribed', eventTime: T0, utcOffsetMinutes: NEW_YORK }), DEFAULT_POLICY);
    expect(sent(replay)).toEqual(['welcome/welcome@0h/sms', 'welcome/follow_up@24h/email']);
  });

  it('abandoned cart: reminders after 1 h (SMS) and 24 h (email) when no order comes', () => {
    const replay = replaySubscriber(
      events(
        { type: 'subscribed', eventTime: T0, utcOffsetMinutes: NEW_YORK },
        { type: 'cart_updated', eventTime: T0 + MINUTE, items: 2, value: 100 },
      ),
      resolvePolicy({ welcomeFollowUpAfterMs: 10 * DAY }),
    );
    expect(sent(replay)).toContain(`abandoned_cart#1/reminder_1@${(MINUTE + HOUR) / HOUR}h/sms`);
    expect(sent(replay)).toContain(`abandoned_cart#1/reminder_2@${(MINUTE + DAY) / HOUR}h/email`);
  });

  it('abandoned cart: an order before the reminder cancels it, and post-purchase thanks now and asks for a review later', () => {
    const replay = replaySubscriber(
      events(
        { type: 'subscribed', eventTime: T0, utcOffsetMinutes: NEW_YORK },
        { type: 'cart_updated', eventTime: T0 + MINUTE, items: 1, value: 100 },
        { type: 'order_placed', eventTime: T0 + 30 * MINUTE, orderId: 'o-1', value: 100 },
      ),
      DEFAULT_POLICY,
    );
    const steps = sent(replay);
    expect(steps.some((step) => step.startsWith('abandoned_cart'))).toBe(false);
    expect(steps).toContain('post_purchase#1/thank_you@0.5h/email');
    expect(steps).toContain(`post_purchase#1/review_request@${0.5 + 72}h/email`);
  });

  it('a reminder deferred by quiet hours is cancelled by an order placed meanwhile', () => {
    // Cart at 19:30 New York: reminder 1 due 20:30 is fine; with a 2 h delay it falls at 21:30, in quiet hours.
    const policy = resolvePolicy({ cartRemindersAfterMs: [2 * HOUR] });
    const evening = Date.UTC(2026, 0, 6, 0, 30, 0); // 19:30 in New York
    const replay = replaySubscriber(
      events(
        { type: 'subscribed', eventTime: evening - HOUR, utcOffsetMinutes: NEW_YORK },
        { type: 'cart_updated', eventTime: evening, items: 1, value: 100 },
        { type: 'order_placed', eventTime: evening + 5 * HOUR, orderId: 'o-1', value: 100 },
      ),
      policy,
    );
    expect(replay.sends.filter((send) => send.journey.startsWith('abandoned_cart'))).toEqual([]);
  });

  it('quiet hours: an SMS due at night goes at 8 am local time, email does not wait', () => {
    const night = Date.UTC(2026, 0, 6, 4, 0, 0); // 23:00 in New York
    expect(inQuietHours(night, NEW_YORK, DEFAULT_POLICY)).toBe(true);
    const morning = quietHoursEnd(night, NEW_YORK, DEFAULT_POLICY);
    expect(new Date(morning).toISOString()).toBe('2026-01-06T13:00:00.000Z');
    const { steps } = applyAll(events({ type: 'subscribed', eventTime: night, utcOffsetMinutes: NEW_YORK }));
    expect(steps[0]!.sends).toEqual([]);
    expect(steps[0]!.outcomes.map((o) => o.outcome)).toContain('quiet_hours');
    const replay = replaySubscriber(events({ type: 'subscribed', eventTime: night, utcOffsetMinutes: NEW_YORK }), DEFAULT_POLICY);
    expect(replay.sends.map((send) => [send.step, send.decidedAt])).toEqual([
      ['welcome', morning],
      ['follow_up', night + DAY],
    ]);
  });
});

describe('rules', () => {
  it('frequency cap: at most N sends per channel in any rolling window', () => {
    const policy = resolvePolicy({
      caps: { sms: { max: 2, windowMs: DAY }, email: { max: 10, windowMs: DAY } },
      cartRemindersAfterMs: [HOUR],
    });
    const list = events(
      { type: 'subscribed', eventTime: T0, utcOffsetMinutes: NEW_YORK },
      { type: 'cart_updated', eventTime: T0 + MINUTE, items: 1, value: 1 },
      { type: 'order_placed', eventTime: T0 + 2 * HOUR, orderId: 'a', value: 1 },
      { type: 'cart_updated', eventTime: T0 + 3 * HOUR, items: 1, value: 1 },
    );
    const replay = replaySubscriber(list, policy);
    const sms = replay.sends.filter((send) => send.channel === 'sms');
    // welcome + the first reminder; the second cart's reminder (within the same day) is capped.
    expect(sms.map((send) => send.commandId)).toEqual([`${ID}/welcome/welcome`, `${ID}/abandoned_cart#1/reminder_1`]);
    const capped = applyAll(list, policy);
    expect(capped.state?.cartJourneys).toBe(2);
  });

  it('nothing after unsubscribe: pending timers are cancelled and later events send nothing', () => {
    const replay = replaySubscriber(
      events(
        { type: 'subscribed', eventTime: T0, utcOffsetMinutes: NEW_YORK },
        { type: 'cart_updated', eventTime: T0 + MINUTE, items: 1, value: 1 },
        { type: 'unsubscribed', eventTime: T0 + 10 * MINUTE },
        { type: 'order_placed', eventTime: T0 + HOUR, orderId: 'x', value: 1 },
      ),
      DEFAULT_POLICY,
    );
    expect(replay.sends.map((send) => send.step)).toEqual(['welcome']);
    expect(replay.state?.timers).toEqual([]);
  });

  it('never the same step twice: a redelivered event changes nothing; a new cart update does not resend reminder 1', () => {
    const list = events(
      { type: 'subscribed', eventTime: T0, utcOffsetMinutes: NEW_YORK },
      { type: 'cart_updated', eventTime: T0 + MINUTE, items: 1, value: 1 },
      { type: 'product_viewed', eventTime: T0 + 2 * HOUR, productId: 'p' },
      { type: 'cart_updated', eventTime: T0 + 3 * HOUR, items: 2, value: 2 },
      { type: 'product_viewed', eventTime: T0 + 5 * HOUR, productId: 'p' },
    );
    const { state, steps } = applyAll(list, resolvePolicy({ welcomeFollowUpAfterMs: 10 * DAY }));
    expect(steps[2]!.sends.map((send) => send.step)).toEqual(['reminder_1']);
    expect(steps[4]!.sends).toEqual([]);
    expect(steps[4]!.outcomes.map((o) => o.outcome)).toContain('duplicate');
    const again = decide(state, { kind: 'event', event: list[1]! }, DEFAULT_POLICY, { stateVersion: 99 });
    expect(again.changed).toBe(false);
    expect(again.skipped).toBe('duplicate_event');
  });
});

describe('determinism', () => {
  const list = events(
    { type: 'subscribed', eventTime: T0, utcOffsetMinutes: NEW_YORK },
    { type: 'product_viewed', eventTime: T0 + 10 * MINUTE, productId: 'p-1' },
    { type: 'cart_updated', eventTime: T0 + 20 * MINUTE, items: 1, value: 10 },
    { type: 'checkout_started', eventTime: T0 + 3 * HOUR },
    { type: 'order_placed', eventTime: T0 + 30 * HOUR, orderId: 'o', value: 10 },
  );

  it('the same events give the same decisions, decision ids included', () => {
    expect(replaySubscriber(list, DEFAULT_POLICY)).toEqual(replaySubscriber(list, DEFAULT_POLICY));
    expect(replaySubscriber([...list].reverse(), DEFAULT_POLICY).sends).toEqual(replaySubscriber(list, DEFAULT_POLICY).sends);
  });

  it('timers fired by timer_fired messages at their due time give what the replay gives (in-band firing)', () => {
    // A live orchestrator: every timer arrives as a timer_fired input at its due time, between events.
    let state: SubscriberState | undefined;
    let version = 0;
    const live: string[] = [];
    const queue: Input[] = list.map((event) => ({ kind: 'event', event }));
    const apply = (input: Input) => {
      const decided = decide(state, input, DEFAULT_POLICY, { stateVersion: version });
      if (!decided.changed) return;
      state = decided.state;
      version++;
      live.push(...decided.sends.map((send) => `${send.commandId}@${send.decidedAt}`));
    };
    while (queue.length > 0) {
      const next = queue.shift()!;
      const nextTime = next.kind === 'event' ? next.event.eventTime : next.event.dueTime;
      for (const timer of [...(state?.timers ?? [])]) {
        if (timer.dueTime < nextTime)
          apply({ kind: 'timer', event: { v: 1, type: 'timer_fired', subscriberId: ID, timerId: timer.id, dueTime: timer.dueTime } });
      }
      apply(next);
    }
    for (let guard = 0; guard < 20 && (state?.timers.length ?? 0) > 0; guard++) {
      const timer = state!.timers[0]!;
      apply({ kind: 'timer', event: { v: 1, type: 'timer_fired', subscriberId: ID, timerId: timer.id, dueTime: timer.dueTime } });
    }
    const replayed = replaySubscriber(list, DEFAULT_POLICY).sends.map((send) => `${send.commandId}@${send.decidedAt}`);
    expect(live).toEqual(replayed);
    expect(live.length).toBeGreaterThan(3);
  });

  it('a timer_fired for a timer that already fired (or was cancelled) changes nothing', () => {
    const { state } = applyAll(list);
    const decided = decide(
      state,
      { kind: 'timer', event: { v: 1, type: 'timer_fired', subscriberId: ID, timerId: 'abandoned_cart#1/reminder_1@0', dueTime: 0 } },
      DEFAULT_POLICY,
      {
        stateVersion: 5,
      },
    );
    expect(decided.changed).toBe(false);
    expect(decided.skipped).toBe('timer_not_pending');
  });
});

describe('parseEvent', () => {
  it.each([
    ['{"v":1,', 'bad_json'],
    ['[1,2]', 'not_an_object'],
    ['{"v":2,"subscriberId":"a"}', 'unsupported_version'],
    ['{"v":1,"type":"coupon","subscriberId":"a","seq":1,"eventTime":1}', 'unknown_type'],
    ['{"v":1,"type":"product_viewed","seq":1,"eventTime":1,"productId":"p"}', 'missing_subscriber'],
    ['{"v":1,"type":"product_viewed","subscriberId":"a","seq":0,"eventTime":1,"productId":"p"}', 'bad_field'],
    ['{"v":1,"type":"cart_updated","subscriberId":"a","seq":1,"eventTime":1,"items":-1,"value":0}', 'bad_field'],
  ])('%s -> %s', (payload, reason) => {
    const parsed = parseEvent(Buffer.from(payload));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toBe(reason);
  });

  it('accepts a valid event and a timer_fired', () => {
    expect(parseEvent('{"v":1,"type":"subscribed","subscriberId":"a","seq":1,"eventTime":5,"utcOffsetMinutes":-300}').ok).toBe(true);
    expect(parseEvent('{"v":1,"type":"timer_fired","subscriberId":"a","timerId":"t","dueTime":5}').ok).toBe(true);
  });
});
