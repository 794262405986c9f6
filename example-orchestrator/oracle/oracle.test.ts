import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../domain/clock.js';
import type { SubscriberEvent } from '../domain/events.js';
import { DEFAULT_POLICY } from '../domain/policy.js';
import type { DeliveryRecord, EventLogRecord, StateWriteRecord } from '../domain/records.js';
import { replaySubscriber } from '../domain/replay.js';
import { runOracle, type OracleInput } from './oracle.js';

const T0 = Date.UTC(2026, 0, 5, 15, 0, 0);
const CLOCK = { wallOrigin: 0, simOrigin: T0, speed: 1 };

type Body = SubscriberEvent extends infer E ? (E extends SubscriberEvent ? Omit<E, 'v' | 'subscriberId' | 'seq'> : never) : never;

function log(subscriberId: string, ...bodies: Body[]): EventLogRecord[] {
  return bodies.map(
    (body, i) => ({ v: 1, subscriberId, seq: i + 1, ...body, publishedAt: 0, messageId: `${subscriberId}:${i}` }) as EventLogRecord,
  );
}

/** What a correct sequential orchestrator leaves behind for these events. */
function correctRun(events: EventLogRecord[]): OracleInput {
  const bySubscriber = new Map<string, EventLogRecord[]>();
  for (const event of events) bySubscriber.set(event.subscriberId, [...(bySubscriber.get(event.subscriberId) ?? []), event]);
  const writes: StateWriteRecord[] = [];
  const deliveries: DeliveryRecord[] = [];
  for (const [subscriberId, list] of bySubscriber) {
    list.forEach((event, i) => {
      writes.push({
        subscriberId,
        consumer: 'c-0',
        fromVersion: i,
        toVersion: i + 1,
        applied: { kind: 'event', seq: event.seq, type: event.type, eventTime: event.eventTime },
        lastSeqBefore: i,
        lastSeqAfter: i + 1,
        decisions: [],
        firedTimers: [],
        writtenAt: 0,
      });
    });
    for (const send of replaySubscriber(list, DEFAULT_POLICY).sends) {
      deliveries.push({
        ...send,
        decidedBy: 'c-0',
        acceptedAt: send.dueTime ?? send.decidedAt,
        acceptedSim: send.decidedAt,
        rejectedAttempts: 0,
      });
    }
  }
  return { clock: CLOCK, policy: DEFAULT_POLICY, events, writes, deliveries, deadLetters: [] };
}

const EVENTS = [
  ...log(
    's-1',
    { type: 'subscribed', eventTime: T0, utcOffsetMinutes: -300 },
    { type: 'cart_updated', eventTime: T0 + MINUTE, items: 1, value: 1 },
    { type: 'order_placed', eventTime: T0 + 3 * HOUR, orderId: 'o-1', value: 1 },
    { type: 'unsubscribed', eventTime: T0 + 4 * HOUR },
  ),
  ...log(
    's-2',
    { type: 'subscribed', eventTime: T0, utcOffsetMinutes: -300 },
    { type: 'product_viewed', eventTime: T0 + HOUR, productId: 'p' },
  ),
];

describe('runOracle', () => {
  it('finds nothing in a correct run', () => {
    const report = runOracle(correctRun(EVENTS));
    expect(report.total).toBe(0);
    expect(report.predictedSends).toBe(report.inputs.deliveries);
    expect(report.predictedSends).toBeGreaterThan(3);
  });

  it('a step decided twice is a double send; a retry of one decision is not', () => {
    const run = correctRun(EVENTS);
    const welcome = run.deliveries.find((delivery) => delivery.commandId === 's-2/welcome/welcome')!;
    const twice = { ...run, deliveries: [...run.deliveries, { ...welcome, decisionId: 'another', decidedBy: 'c-1', trigger: 'event:2' }] };
    expect(runOracle(twice).counts.double_send).toBe(1);
    expect(runOracle(twice).examples.double_send[0]?.subscriberId).toBe('s-2');
  });

  it('sends after unsubscribe, above the cap and reminders after the order', () => {
    const run = correctRun(EVENTS);
    const base = run.deliveries.find((delivery) => delivery.subscriberId === 's-1')!;
    const extra: DeliveryRecord[] = [
      { ...base, decisionId: 'x1', commandId: 's-1/welcome/follow_up-late', journey: 'welcome', step: 'late', decidedAt: T0 + 5 * HOUR },
      {
        ...base,
        decisionId: 'x2',
        commandId: 's-1/abandoned_cart#2/reminder_1',
        journey: 'abandoned_cart#2',
        step: 'reminder_1',
        channel: 'sms',
        decidedAt: T0 + 3 * HOUR + 1,
      },
    ];
    const report = runOracle({ ...run, deliveries: [...run.deliveries, ...extra] });
    expect(report.counts.send_after_unsubscribe).toBe(1);
    expect(report.counts.reminder_after_order).toBe(1);
    expect(report.counts.unexpected_send).toBe(2);
    const sms = Array.from({ length: DEFAULT_POLICY.caps.sms.max + 1 }, (_, i) => ({
      ...base,
      decisionId: `c${i}`,
      commandId: `s-2/x/${i}`,
      subscriberId: 's-2',
      channel: 'sms' as const,
      decidedAt: T0 + i * MINUTE,
    }));
    // One send over the cap.
    expect(runOracle({ ...run, deliveries: [...run.deliveries.filter((d) => d.subscriberId !== 's-2'), ...sms] }).counts.cap_exceeded).toBe(
      1,
    );
  });

  it('lost updates, events applied out of order or never, and sends the replay expects but nobody delivered', () => {
    const run = correctRun(EVENTS);
    const writes = run.writes.filter((write) => write.subscriberId === 's-1');
    // Events 2 and 3 both applied on top of version 1 (one overwrote the other), 3 before 2; event 4 never applied.
    const broken: StateWriteRecord[] = [
      writes[0]!,
      { ...writes[2]!, fromVersion: 1, toVersion: 2 },
      { ...writes[1]!, fromVersion: 1, toVersion: 2 },
    ];
    const missingThankYou = run.deliveries.filter((delivery) => delivery.step !== 'thank_you');
    const report = runOracle({
      ...run,
      writes: [...broken, ...run.writes.filter((write) => write.subscriberId !== 's-1')],
      deliveries: missingThankYou,
    });
    expect(report.counts.lost_update).toBe(1);
    expect(report.counts.out_of_order).toBe(1);
    expect(report.counts.lost_event).toBe(1);
    expect(report.counts.missing_send).toBe(1);
    expect(report.examples.missing_send[0]?.detail).toContain('thank_you');
  });

  it('a dead-lettered event is neither lost nor replayed', () => {
    const run = correctRun(EVENTS);
    const withoutOrder = run.writes.filter(
      (write) => !(write.subscriberId === 's-1' && write.applied.kind === 'event' && write.applied.seq === 3),
    );
    const replayed = correctRun(EVENTS.filter((event) => !(event.subscriberId === 's-1' && event.seq === 3)));
    const report = runOracle({
      ...run,
      writes: withoutOrder,
      deliveries: replayed.deliveries,
      deadLetters: [
        { subscriberId: 's-1', seq: 3, reason: 'handler_failed', detail: 'poison', consumer: 'c-0', messageId: 'm', attempts: 12, at: 0 },
      ],
    });
    expect(report.counts.lost_event).toBe(0);
    expect(report.counts.missing_send).toBe(0);
    expect(report.deadLettersByReason).toEqual({ handler_failed: 1 });
  });
});
