/**
 * The correctness oracle. It trusts neither the library nor the
 * orchestrator: it reads what a run left behind (the produced event log, the
 * state write records, the provider's delivery log, the dead letters) and
 * checks them against the business invariants and against a sequential
 * replay of each subscriber's events through the same pure domain.
 */
import { wallTimeOf, type SimClock } from '../domain/clock.js';
import type { SubscriberEvent } from '../domain/events.js';
import type { JourneyPolicy } from '../domain/policy.js';
import type { DeadLetterRecord, DeliveryRecord, EventLogRecord, StateWriteRecord } from '../domain/records.js';
import { replaySubscriber } from '../domain/replay.js';
import { VIOLATION_KINDS, type OracleReport, type ViolationExample, type ViolationKind } from './report.js';

export interface OracleInput {
  clock: SimClock;
  policy: JourneyPolicy;
  events: readonly EventLogRecord[];
  writes: readonly StateWriteRecord[];
  deliveries: readonly DeliveryRecord[];
  deadLetters: readonly DeadLetterRecord[];
  /** Examples kept per kind. Default 5. */
  maxExamples?: number;
}

class Findings {
  readonly counts = Object.fromEntries(VIOLATION_KINDS.map((kind) => [kind, 0])) as Record<ViolationKind, number>;
  readonly examples = Object.fromEntries(VIOLATION_KINDS.map((kind) => [kind, [] as ViolationExample[]])) as Record<
    ViolationKind,
    ViolationExample[]
  >;
  readonly subscribers = new Set<string>();
  constructor(private readonly maxExamples: number) {}
  add(kind: ViolationKind, subscriberId: string, detail: () => string, count = 1): void {
    if (count <= 0) return;
    this.counts[kind] += count;
    this.subscribers.add(subscriberId);
    if (this.examples[kind].length < this.maxExamples) this.examples[kind].push({ subscriberId, detail: detail() });
  }
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const id = key(item);
    const group = groups.get(id);
    if (group === undefined) groups.set(id, [item]);
    else group.push(item);
  }
  return groups;
}

function triggerSeq(trigger: string): number | undefined {
  const match = /^event:(\d+)$/.exec(trigger);
  return match === null ? undefined : Number(match[1]);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function runOracle(input: OracleInput): OracleReport {
  const findings = new Findings(input.maxExamples ?? 5);
  const { policy } = input;

  // The event log; a send retried by the publisher may be logged twice: one per (subscriber, seq).
  const eventsBySubscriber = new Map<string, Map<number, SubscriberEvent>>();
  for (const record of input.events) {
    const { publishedAt: _publishedAt, messageId: _messageId, ...event } = record;
    let bySeq = eventsBySubscriber.get(event.subscriberId);
    if (bySeq === undefined) {
      bySeq = new Map();
      eventsBySubscriber.set(event.subscriberId, bySeq);
    }
    if (!bySeq.has(event.seq)) bySeq.set(event.seq, event as SubscriberEvent);
  }
  const deadLetteredSeqs = new Map<string, Set<number>>();
  const deadLettersByReason: Record<string, number> = {};
  for (const record of input.deadLetters) {
    deadLettersByReason[record.reason] = (deadLettersByReason[record.reason] ?? 0) + 1;
    if (record.seq === undefined) continue;
    const seqs = deadLetteredSeqs.get(record.subscriberId) ?? new Set<number>();
    seqs.add(record.seq);
    deadLetteredSeqs.set(record.subscriberId, seqs);
  }
  const writesBySubscriber = groupBy(input.writes, (write) => write.subscriberId);
  const deliveriesBySubscriber = groupBy(input.deliveries, (delivery) => delivery.subscriberId);

  // A step delivered under two or more decisions.
  for (const [commandId, deliveries] of groupBy(input.deliveries, (delivery) => delivery.commandId)) {
    const decisions = new Set(deliveries.map((delivery) => delivery.decisionId));
    findings.add(
      'double_send',
      deliveries[0]!.subscriberId,
      () => `${commandId} decided ${decisions.size} times (${deliveries.map((d) => `${d.decidedBy} on ${d.trigger}`).join(', ')})`,
      decisions.size - 1,
    );
  }

  let predictedSends = 0;
  const subscriberIds = new Set([...eventsBySubscriber.keys(), ...deliveriesBySubscriber.keys(), ...writesBySubscriber.keys()]);
  for (const subscriberId of subscriberIds) {
    const events = [...(eventsBySubscriber.get(subscriberId)?.values() ?? [])].sort((a, b) => a.seq - b.seq);
    const deliveries = [...(deliveriesBySubscriber.get(subscriberId) ?? [])].sort((a, b) => a.decidedAt - b.decidedAt);
    const writes = writesBySubscriber.get(subscriberId) ?? [];
    const skipped = deadLetteredSeqs.get(subscriberId) ?? new Set<number>();

    // Nothing after unsubscribe.
    const unsubscribe = events.find((event) => event.type === 'unsubscribed');
    if (unsubscribe !== undefined) {
      for (const delivery of deliveries) {
        const seq = triggerSeq(delivery.trigger);
        const after =
          delivery.decidedAt > unsubscribe.eventTime ||
          (delivery.decidedAt === unsubscribe.eventTime && seq !== undefined && seq > unsubscribe.seq);
        if (after)
          findings.add(
            'send_after_unsubscribe',
            subscriberId,
            () =>
              `${delivery.commandId} decided at ${iso(delivery.decidedAt)}, unsubscribed at ${iso(unsubscribe.eventTime)} (event ${unsubscribe.seq})`,
          );
      }
    }

    // Frequency caps, per channel, over any rolling window.
    for (const channel of ['sms', 'email'] as const) {
      const cap = policy.caps[channel];
      const times = deliveries.filter((delivery) => delivery.channel === channel).map((delivery) => delivery.decidedAt);
      let windowStart = 0;
      for (let i = 0; i < times.length; i++) {
        while (times[windowStart]! <= times[i]! - cap.windowMs) windowStart++;
        if (i - windowStart + 1 > cap.max) {
          findings.add(
            'cap_exceeded',
            subscriberId,
            () => `${i - windowStart + 1} ${channel} sends within ${cap.windowMs / 3_600_000} h up to ${iso(times[i]!)} (cap ${cap.max})`,
          );
        }
      }
    }

    // No abandoned-cart reminder once the cart was ordered.
    for (const delivery of deliveries) {
      if (!delivery.journey.startsWith('abandoned_cart')) continue;
      const cart = events
        .filter((event) => event.type === 'cart_updated' && event.items > 0 && event.eventTime <= delivery.decidedAt)
        .at(-1);
      if (cart === undefined) continue;
      const order = events.find((event) => event.type === 'order_placed' && event.seq > cart.seq && event.eventTime < delivery.decidedAt);
      if (order !== undefined)
        findings.add(
          'reminder_after_order',
          subscriberId,
          () =>
            `${delivery.commandId} decided at ${iso(delivery.decidedAt)}, order ${order.type === 'order_placed' ? order.orderId : ''} placed at ${iso(order.eventTime)}`,
        );
    }

    // State writes: order of application, lost updates, events never applied.
    let highest = 0;
    const appliedSeqs = new Set<number>();
    for (const write of writes) {
      if (write.applied.kind !== 'event') continue;
      const seq = write.applied.seq;
      if (seq <= highest || appliedSeqs.has(seq)) {
        findings.add('out_of_order', subscriberId, () => `${write.consumer} applied event ${seq} after event ${highest} was applied`);
      }
      highest = Math.max(highest, seq);
      appliedSeqs.add(seq);
    }
    for (const [fromVersion, sameBase] of groupBy(writes, (write) => String(write.fromVersion))) {
      findings.add(
        'lost_update',
        subscriberId,
        () =>
          `${sameBase.length} writes on top of version ${fromVersion} (${sameBase.map((w) => `${w.consumer}: ${w.applied.kind === 'event' ? `event ${w.applied.seq}` : w.applied.timerId}`).join(', ')})`,
        sameBase.length - 1,
      );
    }
    for (const event of events) {
      if (!appliedSeqs.has(event.seq) && !skipped.has(event.seq))
        findings.add('lost_event', subscriberId, () => `event ${event.seq} (${event.type}) was never applied`);
    }

    // Against a sequential replay of the events the orchestrator did not dead-letter.
    const replay = replaySubscriber(
      events.filter((event) => !skipped.has(event.seq)),
      policy,
    );
    predictedSends += replay.sends.length;
    const predicted = new Map(replay.sends.map((send) => [send.commandId, send]));
    const delivered = groupBy(deliveries, (delivery) => delivery.commandId);
    for (const [commandId, send] of predicted) {
      const got = delivered.get(commandId);
      if (got === undefined)
        findings.add('missing_send', subscriberId, () => `${commandId} (${send.channel}, due ${iso(send.decidedAt)}) was never delivered`);
      else if (!got.some((delivery) => delivery.decidedAt === send.decidedAt)) {
        findings.add(
          'unexpected_send',
          subscriberId,
          () => `${commandId} decided at ${got.map((d) => iso(d.decidedAt)).join(', ')}; the replay decides it at ${iso(send.decidedAt)}`,
        );
      }
    }
    for (const [commandId, got] of delivered) {
      if (!predicted.has(commandId))
        findings.add(
          'unexpected_send',
          subscriberId,
          () => `${commandId} delivered (decided by ${got[0]!.decidedBy} on ${got[0]!.trigger}), the replay never sends it`,
        );
    }
  }

  const lateness = input.deliveries
    .filter((delivery) => delivery.dueTime !== undefined)
    .map((delivery) => Math.max(0, delivery.acceptedAt - wallTimeOf(input.clock, delivery.dueTime as number)))
    .sort((a, b) => a - b);
  const total = Object.values(findings.counts).reduce((sum, count) => sum + count, 0);
  return {
    counts: findings.counts,
    total,
    subscribersAffected: findings.subscribers.size,
    examples: findings.examples,
    inputs: {
      events: input.events.length,
      subscribers: eventsBySubscriber.size,
      writes: input.writes.length,
      deliveries: input.deliveries.length,
      deadLetters: input.deadLetters.length,
    },
    predictedSends,
    lateness: { count: lateness.length, p50Ms: percentile(lateness, 50), p99Ms: percentile(lateness, 99), maxMs: lateness.at(-1) ?? 0 },
    deadLettersByReason,
  };
}

function iso(time: number): string {
  return new Date(time).toISOString().replace('.000Z', 'Z');
}
