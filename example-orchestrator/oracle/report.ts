/** What the correctness oracle reports: counts per violation kind, with a few examples each. */

export const VIOLATION_KINDS = [
  /** One command id (subscriber, journey, step) delivered under two or more distinct decisions. */
  'double_send',
  /** A delivery decided at or after the subscriber's unsubscribe event time. */
  'send_after_unsubscribe',
  /** More sends on one channel in a rolling window than the cap allows. */
  'cap_exceeded',
  /** An abandoned-cart reminder decided after an order placed later than that cart. */
  'reminder_after_order',
  /** A state write applied an event whose seq is not above the last applied one. */
  'out_of_order',
  /** Events of the log never applied by any state write (and not dead-lettered). */
  'lost_event',
  /** Two state writes from the same version: one overwrote the other. */
  'lost_update',
  /** A send the sequential replay predicts that was never delivered. */
  'missing_send',
  /** A delivered send the sequential replay does not predict (wrong content or timing). */
  'unexpected_send',
] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export interface ViolationExample {
  subscriberId: string;
  detail: string;
}

export interface OracleReport {
  /** Number of violations per kind (every kind present, 0 when clean). */
  counts: Record<ViolationKind, number>;
  /** Sum of counts. */
  total: number;
  /** Subscribers with at least one violation. */
  subscribersAffected: number;
  /** Up to `maxExamples` per kind. */
  examples: Record<ViolationKind, ViolationExample[]>;
  /** What was read. */
  inputs: { events: number; subscribers: number; writes: number; deliveries: number; deadLetters: number };
  /** Sends the replay predicts, and deliveries found. */
  predictedSends: number;
  /** Timed sends: wall-clock lateness (acceptance minus due time mapped to the wall clock), ms. */
  lateness: { count: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** Dead-lettered messages by reason (not violations: the orchestrator reported them). */
  deadLettersByReason: Record<string, number>;
}
