/**
 * The per-subscriber rules every send passes through, in this order:
 * nothing after unsubscribe (or on a channel not opted into), never the same
 * journey step twice, quiet hours (SMS waits for the subscriber's local
 * morning), the rolling frequency cap per channel. Pure functions of the
 * state, the policy and the event time.
 */
import { DAY, HOUR, MINUTE } from './clock.js';
import type { Channel } from './events.js';
import type { JourneyPolicy } from './policy.js';
import type { SubscriberState } from './state.js';

export type SendVerdict =
  | { outcome: 'sent' }
  | { outcome: 'unsubscribed' }
  | { outcome: 'no_channel' }
  | { outcome: 'duplicate' }
  | { outcome: 'quiet_hours'; retryAt: number }
  | { outcome: 'capped' };

export function judgeSend(state: SubscriberState, policy: JourneyPolicy, commandId: string, channel: Channel, at: number): SendVerdict {
  if (!state.subscribed || (state.unsubscribedAt !== undefined && at >= state.unsubscribedAt)) return { outcome: 'unsubscribed' };
  if (!state.channels.includes(channel)) return { outcome: 'no_channel' };
  if (state.stepsSent.includes(commandId)) return { outcome: 'duplicate' };
  if (channel === 'sms' && inQuietHours(at, state.utcOffsetMinutes, policy)) {
    return { outcome: 'quiet_hours', retryAt: quietHoursEnd(at, state.utcOffsetMinutes, policy) };
  }
  if (sendsInWindow(state.sendTimes[channel], at, policy.caps[channel].windowMs) >= policy.caps[channel].max) return { outcome: 'capped' };
  return { outcome: 'sent' };
}

/** Records a send in the state (steps sent, cap window). */
export function recordSend(
  state: SubscriberState,
  policy: JourneyPolicy,
  commandId: string,
  channel: Channel,
  at: number,
  maxSteps: number,
): void {
  state.stepsSent.push(commandId);
  if (state.stepsSent.length > maxSteps) state.stepsSent.splice(0, state.stepsSent.length - maxSteps);
  const cap = policy.caps[channel];
  const times = state.sendTimes[channel].filter((time) => time > at - cap.windowMs);
  times.push(at);
  // Only the latest `max` sends can ever decide the cap.
  state.sendTimes[channel] = times.slice(-cap.max);
}

function sendsInWindow(times: readonly number[], at: number, windowMs: number): number {
  let count = 0;
  for (const time of times) if (time > at - windowMs && time <= at) count++;
  return count;
}

function localHour(at: number, utcOffsetMinutes: number): number {
  const local = at + utcOffsetMinutes * MINUTE;
  return Math.floor((((local % DAY) + DAY) % DAY) / HOUR);
}

export function inQuietHours(at: number, utcOffsetMinutes: number, policy: JourneyPolicy): boolean {
  const { startHour, endHour } = policy.quietHours;
  if (startHour === endHour) return false;
  const hour = localHour(at, utcOffsetMinutes);
  return startHour > endHour ? hour >= startHour || hour < endHour : hour >= startHour && hour < endHour;
}

/** The first instant at or after `at` outside quiet hours (the local end hour, on the hour). */
export function quietHoursEnd(at: number, utcOffsetMinutes: number, policy: JourneyPolicy): number {
  const offset = utcOffsetMinutes * MINUTE;
  const local = at + offset;
  const dayStart = local - (((local % DAY) + DAY) % DAY);
  let end = dayStart + policy.quietHours.endHour * HOUR;
  if (end <= local) end += DAY;
  return end - offset;
}
