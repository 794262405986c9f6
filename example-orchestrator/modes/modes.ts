/**
 * The four ways of running the same orchestrator, chosen by one option. The
 * handler code is the same in every mode; a mode only picks the subscription
 * type of the events topic, its partitioning, and whether a per-subscriber
 * Redis lock guards each state change.
 */
import type { SubscriptionTypeName } from 'pulsar-keyscope';

export const MODES = ['key_shared', 'shared', 'failover', 'shared_redis_lock'] as const;
export type Mode = (typeof MODES)[number];

export interface ModeTraits {
  subscriptionType: SubscriptionTypeName;
  /** Failover needs a partitioned topic to spread load: each partition has one active consumer. */
  partitioned: boolean;
  /** A per-subscriber lock (SET NX PX + fencing token) around read-decide-write. */
  lock: boolean;
  /**
   * Apply a subscriber's events strictly in sequence: an event whose
   * predecessor is not applied yet is retried later. Shared delivers a key's
   * events to any consumer in any order, so the lock alone would serialize
   * them but not order them.
   */
  enforceSequence: boolean;
  summary: string;
}

export const MODE_TRAITS: Record<Mode, ModeTraits> = {
  key_shared: {
    subscriptionType: 'KeyShared',
    partitioned: false,
    lock: false,
    enforceSequence: false,
    summary: 'Key_Shared: the broker keeps each subscriber on one consumer at a time, in order',
  },
  shared: {
    subscriptionType: 'Shared',
    partitioned: false,
    lock: false,
    enforceSequence: false,
    summary: 'Shared: any consumer takes any event; one subscriber is handled in two places at once (split brain)',
  },
  failover: {
    subscriptionType: 'Failover',
    partitioned: true,
    lock: false,
    enforceSequence: false,
    summary: 'Failover on a partitioned topic: one active consumer per partition',
  },
  shared_redis_lock: {
    subscriptionType: 'Shared',
    partitioned: false,
    lock: true,
    enforceSequence: true,
    summary: 'Shared plus a per-subscriber Redis lock with fencing tokens, events re-ordered by sequence',
  },
};

export function parseMode(value: string): Mode {
  if ((MODES as readonly string[]).includes(value)) return value as Mode;
  throw new Error(`unknown mode "${value}": use one of ${MODES.join(', ')}`);
}
