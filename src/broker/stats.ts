/**
 * Pure reading of Pulsar admin topic stats (GET .../{topic}/stats, and each
 * partition of .../partitioned-stats?perPartition=true) into the samples the
 * exporter publishes. Field names are those of Pulsar 4.0's
 * SubscriptionStatsImpl and ConsumerStatsImpl (PIP-379 added the
 * drainingHashes* fields); absent fields (older brokers) read as undefined.
 */

/** The hash space Key_Shared splits among consumers (ranges are inclusive). */
export const KEY_SHARED_HASH_RANGE_SIZE = 65536;

export interface ConsumerSample {
  readonly consumer: string;
  readonly unackedMessages: number | undefined;
  readonly availablePermits: number | undefined;
  readonly blockedOnUnacked: boolean | undefined;
  /** This consumer's share (0..1) of the hash ranges assigned to the subscription's consumers, from keyHashRangeArrays or keyHashRanges. */
  readonly hashRangeShare: number | undefined;
  readonly drainingHashes: number | undefined;
}

export interface SubscriptionSample {
  readonly topic: string;
  readonly subscription: string;
  readonly type: string;
  readonly backlogMessages: number | undefined;
  readonly messagesInReplay: number | undefined;
  readonly unackedMessages: number | undefined;
  readonly drainingHashes: number | undefined;
  readonly drainingHashesUnackedMessages: number | undefined;
  readonly drainingHashesClearedTotal: number | undefined;
  /** Dispatch attempts blocked by a draining hash, summed over the consumers' draining hashes. */
  readonly drainingHashesBlockedAttempts: number | undefined;
  readonly consumerCount: number;
  /** At most the cap, the ones with the most unacked messages first. */
  readonly consumers: readonly ConsumerSample[];
}

export interface ReadLimits {
  maxSubscriptionsPerTopic: number;
  maxConsumersPerSubscription: number;
}

const KEY_SHARED = 'Key_Shared';

/** Samples of one (non-partitioned, or one partition's) topic stats document. Never throws on odd input. */
export function readTopicStats(topic: string, stats: unknown, limits: ReadLimits): SubscriptionSample[] {
  const subscriptions = record(record(stats)?.subscriptions);
  if (subscriptions === undefined) return [];
  const samples: SubscriptionSample[] = [];
  for (const [subscription, raw] of Object.entries(subscriptions)) {
    if (samples.length >= limits.maxSubscriptionsPerTopic) break;
    const s = record(raw);
    if (s === undefined) continue;
    const type = typeof s.type === 'string' ? s.type : 'unknown';
    const keyShared = type === KEY_SHARED;
    const rawConsumers = Array.isArray(s.consumers) ? s.consumers : [];
    // Shares are relative to what all consumers cover (the broker's hash space is 0..65535 less
    // whatever the assignment leaves out), so that they add up to 1.
    let coveredByAll = 0;
    if (keyShared) for (const c of rawConsumers) coveredByAll += hashesCovered(record(c) ?? {}) ?? 0;
    const consumers = rawConsumers
      .map((c) => readConsumer(record(c), keyShared, coveredByAll))
      .filter((c): c is ConsumerSample => c !== undefined)
      .sort((a, b) => (b.unackedMessages ?? 0) - (a.unackedMessages ?? 0))
      .slice(0, limits.maxConsumersPerSubscription);
    // Brokers before 4.0 have no draining hashes: leave the sample out rather than report 0.
    let blockedAttempts: number | undefined;
    if (keyShared && num(s.drainingHashesCount) !== undefined) {
      blockedAttempts = 0;
      for (const c of rawConsumers) {
        const draining = record(c)?.drainingHashes;
        if (Array.isArray(draining)) for (const hash of draining) blockedAttempts += num(record(hash)?.blockedAttempts) ?? 0;
      }
    }
    samples.push({
      topic,
      subscription,
      type,
      backlogMessages: num(s.msgBacklog),
      messagesInReplay: num(s.msgInReplay),
      unackedMessages: num(s.unackedMessages),
      drainingHashes: keyShared ? num(s.drainingHashesCount) : undefined,
      drainingHashesUnackedMessages: keyShared ? num(s.drainingHashesUnackedMessages) : undefined,
      drainingHashesClearedTotal: keyShared ? num(s.drainingHashesClearedTotal) : undefined,
      drainingHashesBlockedAttempts: blockedAttempts,
      consumerCount: rawConsumers.length,
      consumers,
    });
  }
  return samples;
}

/**
 * Per-partition stats of a partitioned topic
 * (partitioned-stats?perPartition=true): `partitions` maps each partition's
 * full name to its own stats document.
 */
export function readPartitionedStats(stats: unknown, limits: ReadLimits): SubscriptionSample[] {
  const partitions = record(record(stats)?.partitions);
  if (partitions === undefined) return [];
  return Object.entries(partitions).flatMap(([partition, partitionStats]) => readTopicStats(partition, partitionStats, limits));
}

function readConsumer(c: Record<string, unknown> | undefined, keyShared: boolean, coveredByAll: number): ConsumerSample | undefined {
  if (c === undefined) return undefined;
  const name = typeof c.consumerName === 'string' && c.consumerName !== '' ? c.consumerName : 'unnamed';
  return {
    consumer: name,
    unackedMessages: num(c.unackedMessages),
    availablePermits: num(c.availablePermits),
    blockedOnUnacked: typeof c.blockedConsumerOnUnackedMsgs === 'boolean' ? c.blockedConsumerOnUnackedMsgs : undefined,
    hashRangeShare: keyShared ? hashRangeShare(c, coveredByAll) : undefined,
    drainingHashes: keyShared ? num(c.drainingHashesCount) : undefined,
  };
}

/**
 * The consumer's share of `total` hashes (default the whole space), from
 * `keyHashRangeArrays` ([[start, end], ...]) or `keyHashRanges` (["[start, end]", ...]).
 */
export function hashRangeShare(consumer: Record<string, unknown>, total = KEY_SHARED_HASH_RANGE_SIZE): number | undefined {
  const covered = hashesCovered(consumer);
  if (covered === undefined) return undefined;
  return total > 0 ? Math.min(1, covered / total) : 0;
}

/** How many hashes the consumer's inclusive ranges cover; undefined without range fields. */
function hashesCovered(consumer: Record<string, unknown>): number | undefined {
  let ranges: Array<[number, number]> | undefined;
  if (Array.isArray(consumer.keyHashRangeArrays)) {
    ranges = consumer.keyHashRangeArrays.filter(
      (r): r is [number, number] => Array.isArray(r) && r.length === 2 && r.every((n) => typeof n === 'number'),
    );
  } else if (Array.isArray(consumer.keyHashRanges)) {
    ranges = [];
    for (const text of consumer.keyHashRanges) {
      const match = typeof text === 'string' ? /^\[\s*(\d+)\s*,\s*(\d+)\s*\]$/.exec(text) : null;
      if (match !== null) ranges.push([Number(match[1]), Number(match[2])]);
    }
  }
  if (ranges === undefined) return undefined;
  let covered = 0;
  for (const [start, end] of ranges) if (end >= start) covered += end - start + 1;
  return covered;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
