/**
 * One processing window of one message at one consumer, rebuilt from a
 * `process` span: from the delivery to the application (span start) until it
 * was settled (the `settle` event, else the span end). The consumer's
 * wrapper records exactly this interval, so two windows of one key that
 * overlap at different consumers mean the key was unacked at both at once.
 */
export interface ProcessWindow {
  readonly subscription: string;
  readonly topic: string;
  /** The key as exported on spans (hashed by default). */
  readonly key: string;
  readonly consumer: string;
  readonly producer: string | undefined;
  readonly seq: number | undefined;
  readonly redeliveryCount: number;
  /** Epoch milliseconds. */
  readonly receivedAt: number;
  readonly settledAt: number;
  /** ack, nack, ack_cumulative, closed, untracked, or `ended` when the span carries no settle event. */
  readonly settle: string;
  readonly spanId: string;
  readonly traceId: string;
  readonly messageId: string | undefined;
}

/** Why a span was not audited. */
export type DropReason = 'no_key' | 'no_subscription' | 'no_consumer' | 'bad_time' | 'late' | 'duplicate' | 'subscription_cap';

export const DROP_REASONS: readonly DropReason[] = [
  'no_key',
  'no_subscription',
  'no_consumer',
  'bad_time',
  'late',
  'duplicate',
  'subscription_cap',
];

/** How long two windows overlap, in milliseconds (zero or negative when they do not). */
export function overlapMs(a: ProcessWindow, b: ProcessWindow): number {
  return Math.min(a.settledAt, b.settledAt) - Math.max(a.receivedAt, b.receivedAt);
}

/**
 * Two windows of one key break exclusivity when they belong to different
 * consumers and overlap by more than the clock-skew tolerance (hosts' clocks
 * differ, and so do the time origins of two processes on one host).
 */
export function breaksExclusivity(a: ProcessWindow, b: ProcessWindow, toleranceMs: number): boolean {
  return a.consumer !== b.consumer && overlapMs(a, b) > toleranceMs;
}

/**
 * Of two first deliveries of one (key, producer) at different consumers, the
 * one with the lower seq that was received later is out of order. Returns it,
 * or undefined when the pair is in order (or not comparable).
 */
export function reorderedOf(a: ProcessWindow, b: ProcessWindow): ProcessWindow | undefined {
  if (a.consumer === b.consumer || a.producer === undefined || a.producer !== b.producer) return undefined;
  if (a.seq === undefined || b.seq === undefined || a.redeliveryCount !== 0 || b.redeliveryCount !== 0) return undefined;
  if (a.seq < b.seq && a.receivedAt > b.receivedAt) return a;
  if (b.seq < a.seq && b.receivedAt > a.receivedAt) return b;
  return undefined;
}
