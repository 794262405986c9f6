import { describe, expect, it } from 'vitest';
import { hashRangeShare, readPartitionedStats, readTopicStats, topicPath } from '../../../src/broker/index.js';

const limits = { maxSubscriptionsPerTopic: 50, maxConsumersPerSubscription: 20 };

/** The shape Pulsar 4.0.7 answers for a Key_Shared subscription whose first consumer holds a draining hash. */
const keySharedStats = {
  msgRateIn: 0,
  subscriptions: {
    ks: {
      msgBacklog: 100,
      msgInReplay: 5,
      unackedMessages: 95,
      type: 'Key_Shared',
      drainingHashesCount: 1,
      drainingHashesClearedTotal: 3,
      drainingHashesUnackedMessages: 5,
      consumers: [
        {
          consumerName: 'new-b',
          availablePermits: 100,
          unackedMessages: 0,
          blockedConsumerOnUnackedMsgs: false,
          drainingHashesCount: 0,
          drainingHashes: [],
          keyHashRangeArrays: [[0, 16383]],
        },
        {
          consumerName: 'stalled-a',
          availablePermits: 55,
          unackedMessages: 95,
          blockedConsumerOnUnackedMsgs: true,
          drainingHashesCount: 1,
          drainingHashes: [{ hash: 55992, unackMsgs: 5, blockedAttempts: 50 }],
          keyHashRanges: ['[16384, 65535]'],
        },
      ],
    },
    plain: { msgBacklog: 7, msgInReplay: 0, type: 'Shared', consumers: [{ consumerName: 'c', unackedMessages: 2 }] },
  },
};

describe('topic stats', () => {
  it('reads the Key_Shared state of a 4.0 broker, consumers with the most unacked first', () => {
    const [ks, plain] = readTopicStats('persistent://public/default/t', keySharedStats, limits);
    expect(ks).toMatchObject({
      subscription: 'ks',
      type: 'Key_Shared',
      backlogMessages: 100,
      messagesInReplay: 5,
      drainingHashes: 1,
      drainingHashesUnackedMessages: 5,
      drainingHashesClearedTotal: 3,
      drainingHashesBlockedAttempts: 50,
      consumerCount: 2,
    });
    expect(ks?.consumers.map((c) => [c.consumer, c.unackedMessages, c.blockedOnUnacked, c.hashRangeShare, c.availablePermits])).toEqual([
      ['stalled-a', 95, true, 0.75, 55],
      ['new-b', 0, false, 0.25, 100],
    ]);
    // Not Key_Shared: backlog and consumers, no Key_Shared fields.
    expect(plain).toMatchObject({
      type: 'Shared',
      backlogMessages: 7,
      drainingHashes: undefined,
      drainingHashesBlockedAttempts: undefined,
    });
    expect(plain?.consumers[0]?.hashRangeShare).toBeUndefined();
  });

  it('caps subscriptions and consumers, and survives odd documents', () => {
    const many = {
      subscriptions: Object.fromEntries(
        Array.from({ length: 5 }, (_, i) => [
          `s${i}`,
          { type: 'Key_Shared', consumers: Array.from({ length: 9 }, (_, c) => ({ consumerName: `c${c}`, unackedMessages: c })) },
        ]),
      ),
    };
    const samples = readTopicStats('t', many, { maxSubscriptionsPerTopic: 2, maxConsumersPerSubscription: 3 });
    expect(samples).toHaveLength(2);
    expect(samples[0]?.consumers.map((c) => c.consumer)).toEqual(['c8', 'c7', 'c6']);
    expect(samples[0]?.consumerCount).toBe(9);
    // A broker before 4.0: no draining fields, so none are reported rather than zeros.
    expect(samples[0]?.drainingHashes).toBeUndefined();
    for (const odd of [null, 'x', [], { subscriptions: null }, { subscriptions: { s: 'x' } }])
      expect(readTopicStats('t', odd, limits)).toEqual([]);
  });

  it('reads every partition of partitioned-stats?perPartition=true under its own name', () => {
    const samples = readPartitionedStats(
      { partitions: { 't-partition-0': keySharedStats, 't-partition-1': { subscriptions: {} } } },
      limits,
    );
    expect(samples.map((s) => `${s.topic}/${s.subscription}`)).toEqual(['t-partition-0/ks', 't-partition-0/plain']);
  });

  it('computes the share of the hash space from either range field', () => {
    expect(hashRangeShare({ keyHashRangeArrays: [[0, 32767]] })).toBe(0.5);
    expect(hashRangeShare({ keyHashRanges: ['[0, 99]', 'garbage', '[100, 199]'] })).toBeCloseTo(200 / 65536);
    expect(hashRangeShare({})).toBeUndefined();
  });

  it('maps topic names to admin paths', () => {
    expect(topicPath('persistent://public/default/orders')).toBe('/admin/v2/persistent/public/default/orders');
    expect(topicPath('non-persistent://t/n/x')).toBe('/admin/v2/non-persistent/t/n/x');
    expect(topicPath('orders')).toBe('/admin/v2/persistent/public/default/orders');
    expect(() => topicPath('persistent://only/two')).toThrow(/persistent:\/\/tenant\/namespace\/topic/);
  });
});
