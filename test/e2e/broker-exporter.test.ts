/**
 * The broker exporter against the real broker: a Key_Shared subscription
 * whose first consumer holds its messages unacked while a second consumer
 * joins. The hashes that move to the newcomer drain: the exporter shows them
 * (with their unacked messages, blocked attempts and each consumer's share of
 * the hash range) and shows them cleared once the stalled consumer acks, or,
 * on a second topic, once it leaves. The stack's own exporter (started by
 * stack:up, watching the broker's active topics) shows the same state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerExporterService, type BrokerExporterService } from '../../src/broker/index.js';
import type { WebSocketClient, WebSocketConsumer, WebSocketMessage } from '../../src/websocket/index.js';
import { BROKER_EXPORTER_METRICS_URL, pollValue, reachable, sampleValue, scrape } from './helpers/audit.js';
import { PULSAR_HTTP_URL, newClient, requireBroker, uniqueTopic } from './helpers/broker.js';

let client: WebSocketClient;
let service: BrokerExporterService;
const topics = { acks: uniqueTopic('drain-acks'), leaves: uniqueTopic('drain-leaves') };
const KEYS = 50;

beforeAll(async () => {
  await requireBroker();
  client = newClient();
  service = await startBrokerExporterService({
    adminUrl: PULSAR_HTTP_URL,
    topics: Object.values(topics),
    intervalMs: 500,
    metricsPort: 0,
    log: (line) => console.log(line),
  });
});

afterAll(async () => {
  await service?.close();
  await client?.close();
});

/** A stalled consumer holding `count` messages of KEYS keys, then a second consumer joining, then more messages. */
async function stallThenJoin(
  topic: string,
): Promise<{ stalled: WebSocketConsumer; held: WebSocketMessage[]; newcomer: WebSocketConsumer }> {
  const subscribe = (name: string) =>
    client.subscribe({ topic, subscription: 'ks', subscriptionType: 'KeyShared', consumerName: name, receiverQueueSize: 200 });
  const stalled = await subscribe('stalled');
  const producer = await client.createProducer({ topic });
  const send = (round: number) =>
    Promise.all(Array.from({ length: KEYS }, (_, k) => producer.send({ data: Buffer.from(`${round}`), partitionKey: `key-${k}` })));
  await send(0);
  const held: WebSocketMessage[] = [];
  while (held.length < KEYS) held.push(await stalled.receive(10_000));
  const newcomer = await subscribe('newcomer');
  await send(1);
  await producer.close();
  return { stalled, held, newcomer };
}

const labels = (topic: string) => ({ topic, subscription: 'ks' });
const metric = (name: string, l: Record<string, string>) => sampleValue(service.metricsUrl, name, l);

describe('keyscope broker-exporter on the real broker', () => {
  it('shows draining hashes of a stalled Key_Shared consumer, cleared once it acks', async () => {
    const { stalled, held } = await stallThenJoin(topics.acks);
    const draining = await pollValue(
      () => metric('keyscope_broker_draining_hashes', labels(topics.acks)),
      (v) => (v ?? 0) > 0,
      15_000,
    );
    expect(draining, 'keyscope_broker_draining_hashes while the first consumer holds its messages').toBeGreaterThan(0);
    expect(await metric('keyscope_broker_draining_hashes_unacked_messages', labels(topics.acks))).toBeGreaterThan(0);
    expect(
      await metric('keyscope_broker_consumer_unacked_messages', { ...labels(topics.acks), consumer: 'stalled' }),
    ).toBeGreaterThanOrEqual(KEYS);
    expect(await metric('keyscope_broker_consumer_draining_hashes', { ...labels(topics.acks), consumer: 'stalled' })).toBe(draining);
    const blocked = await pollValue(
      () => metric('keyscope_broker_draining_hashes_blocked_attempts', labels(topics.acks)),
      (v) => (v ?? 0) > 0,
      10_000,
    );
    expect(blocked, 'dispatch attempts blocked by the draining hashes').toBeGreaterThan(0);
    const shares = (await scrape(service.metricsUrl, 'keyscope_broker_consumer_hash_range_share')).filter(
      (s) => s.labels.topic === topics.acks,
    );
    expect(shares.map((s) => s.labels.consumer).sort()).toEqual(['newcomer', 'stalled']);
    expect(
      shares.reduce((sum, s) => sum + s.value, 0),
      'the two consumers share the whole hash range',
    ).toBeCloseTo(1, 5);
    const clearedBefore = (await metric('keyscope_broker_draining_hashes_cleared_total', labels(topics.acks))) ?? 0;
    console.log(`stalled consumer: ${draining} draining hashes, ${blocked} blocked attempts`);

    for (const message of held) await stalled.acknowledge(message);
    const after = await pollValue(
      () => metric('keyscope_broker_draining_hashes', labels(topics.acks)),
      (v) => v === 0,
      15_000,
    );
    expect(after, 'draining hashes after the acks').toBe(0);
    expect(await metric('keyscope_broker_draining_hashes_unacked_messages', labels(topics.acks))).toBe(0);
    expect(await metric('keyscope_broker_draining_hashes_cleared_total', labels(topics.acks)), 'cleared total').toBeGreaterThanOrEqual(
      clearedBefore + draining!,
    );

    // The stack's exporter finds the topic on its own (it has consumers) and agrees.
    if (await reachable(BROKER_EXPORTER_METRICS_URL)) {
      const stack = await pollValue(
        () => sampleValue(BROKER_EXPORTER_METRICS_URL, 'keyscope_broker_draining_hashes_cleared_total', labels(topics.acks)),
        (v) => (v ?? 0) >= clearedBefore + draining!,
        30_000,
      );
      expect(stack, 'the stack exporter (stack:up) shows the cleared hashes of this topic').toBeGreaterThanOrEqual(
        clearedBefore + draining!,
      );
    } else {
      throw new Error(`the stack's broker exporter does not answer at ${BROKER_EXPORTER_METRICS_URL}: npm run stack:up starts it`);
    }
  });

  it('clears the draining hashes when the stalled consumer leaves', async () => {
    const { stalled } = await stallThenJoin(topics.leaves);
    const draining = await pollValue(
      () => metric('keyscope_broker_draining_hashes', labels(topics.leaves)),
      (v) => (v ?? 0) > 0,
      15_000,
    );
    expect(draining).toBeGreaterThan(0);
    await stalled.close();
    const after = await pollValue(
      () => metric('keyscope_broker_draining_hashes', labels(topics.leaves)),
      (v) => v === 0,
      15_000,
    );
    expect(after, 'draining hashes once the stalled consumer left').toBe(0);
    // Its messages went back to the subscription for the remaining consumer; its series are gone.
    expect(await metric('keyscope_broker_consumer_unacked_messages', { ...labels(topics.leaves), consumer: 'stalled' })).toBeUndefined();
    expect(await metric('keyscope_broker_consumers', labels(topics.leaves))).toBe(1);
  });

  it('keeps running and counts the error when a topic is gone', async () => {
    const missing = new URL(PULSAR_HTTP_URL);
    const lines: string[] = [];
    const probe = await startBrokerExporterService({
      adminUrl: missing.origin,
      topics: ['persistent://public/default/keyscope-never-created-topic'],
      intervalMs: 300,
      metricsPort: 0,
      log: (line) => lines.push(line),
    });
    try {
      const errors = await pollValue(
        () => sampleValue(probe.metricsUrl, 'keyscope_broker_scrape_errors_total', { reason: 'not_found' }),
        (v) => (v ?? 0) >= 2,
        10_000,
      );
      expect(errors).toBeGreaterThanOrEqual(2);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/does not exist/);
      expect(await sampleValue(probe.metricsUrl, 'keyscope_broker_up', {})).toBe(0);
    } finally {
      await probe.close();
    }
  });
});
