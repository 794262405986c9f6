import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import type { ConsumerLike, MessageIdLike, MessageLike, ProducerLike, ProducerMessageLike } from 'pulsar-keyscope';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCommand } from '../domain/commands.js';
import { encodeEvent, type SubscriberEvent } from '../domain/events.js';
import { resolvePolicy } from '../domain/policy.js';
import { MemoryStore } from '../store/memory-store.js';
import { OrchestratorMetrics } from '../telemetry/metrics.js';
import { MODE_TRAITS, type Mode } from './modes.js';
import { DEAD_LETTER_REASON_PROPERTY, Orchestrator } from './orchestrator.js';
import type { RunInfo } from './run-info.js';

const T0 = Date.UTC(2026, 0, 5, 15, 0, 0);

class FakeMessage implements MessageLike {
  constructor(
    private readonly data: Buffer,
    private readonly key: string,
    private readonly id: string,
  ) {}
  getTopicName = () => 'events';
  getProperties = () => ({});
  getData = () => this.data;
  getMessageId = (): MessageIdLike => ({ toString: () => this.id });
  getPublishTimestamp = () => 1;
  getPartitionKey = () => this.key;
}

class FakeConsumer implements ConsumerLike {
  readonly queue: MessageLike[] = [];
  readonly acked: string[] = [];
  readonly nacked: string[] = [];
  async receive(timeout?: number): Promise<MessageLike> {
    const deadline = Date.now() + (timeout ?? 1_000);
    while (this.queue.length === 0) {
      if (Date.now() > deadline) throw Object.assign(new Error('receive timed out'), { name: 'ReceiveTimeoutError' });
      await sleep(2);
    }
    return this.queue.shift()!;
  }
  async acknowledge(message: MessageLike): Promise<null> {
    this.acked.push(message.getMessageId().toString());
    return null;
  }
  async acknowledgeId(): Promise<null> {
    return null;
  }
  negativeAcknowledge(message: MessageLike): void {
    this.nacked.push(message.getMessageId().toString());
  }
  negativeAcknowledgeId(): void {}
  async acknowledgeCumulative(): Promise<null> {
    throw new Error('the orchestrator must never ack cumulatively');
  }
  isConnected = () => true;
  async close(): Promise<null> {
    return null;
  }
  async unsubscribe(): Promise<null> {
    return null;
  }
}

class FakeProducer implements ProducerLike {
  readonly sent: ProducerMessageLike[] = [];
  async send(message: ProducerMessageLike): Promise<MessageIdLike> {
    this.sent.push(message);
    return { toString: () => String(this.sent.length) };
  }
  async flush(): Promise<null> {
    return null;
  }
  async close(): Promise<null> {
    return null;
  }
  getProducerName = () => 'fake';
  getTopic = () => 'fake';
  isConnected = () => true;
}

function runInfo(mode: Mode): RunInfo {
  return {
    runId: 'unit',
    mode,
    runDir: '/nonexistent',
    pulsarUrl: '',
    redisUrl: '',
    redisPrefix: 'orch:unit:',
    topics: { events: 'e', timers: 't', outbound: 'o', deadLetter: 'd', outboundDeadLetter: 'od' },
    subscriptions: { orchestrator: 'o', timers: 't', gateway: 'g' },
    partitions: 0,
    clock: { wallOrigin: Date.now(), simOrigin: T0, speed: 21_600 },
    timerGraceMs: 0,
    policy: resolvePolicy(),
    executor: { maxInFlight: 16, maxKeyDepth: 4, maxAttempts: 3, retryInitialMs: 1, retryMaxMs: 5, deadlineMs: 5_000 },
    lock: { leaseMs: 1_000, maxWaitMs: 100, backoffInitialMs: 1, backoffMaxMs: 5 },
    provider: { latencyP50Ms: 1, latencyP99Ms: 2, errorRate: 0, rateLimitPerSecond: 100, seed: 1 },
    otlpEndpoint: '',
    metricsHost: '127.0.0.1',
    ports: { orchestratorBase: 0, gateway: 0, timerRelay: 0, providerMetrics: 0, providerApi: 0 },
  };
}

function setup(mode: Mode = 'key_shared') {
  const consumer = new FakeConsumer();
  const outbound = new FakeProducer();
  const timers = new FakeProducer();
  const deadLetter = new FakeProducer();
  const store = new MemoryStore();
  const registry = new Registry();
  const metrics = new OrchestratorMetrics(registry, mode);
  const orchestrator = new Orchestrator({
    run: runInfo(mode),
    name: 'orchestrator-0',
    traits: MODE_TRAITS[mode],
    consumer,
    outbound,
    timers,
    deadLetter,
    store,
    metrics,
    log: () => {},
  });
  running.push(orchestrator);
  return { consumer, outbound, timers, deadLetter, store, registry, orchestrator };
}

const running: Orchestrator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((orchestrator) => orchestrator.stop()));
});

let nextId = 0;
function message(payload: Buffer | string, key: string): FakeMessage {
  return new FakeMessage(Buffer.isBuffer(payload) ? payload : Buffer.from(payload), key, `m-${nextId++}`);
}

function event(subscriberId: string, seq: number, body: Partial<SubscriberEvent> & Pick<SubscriberEvent, 'type'>): Buffer {
  return encodeEvent({ v: 1, subscriberId, seq, eventTime: T0 + seq * 60_000, ...body } as SubscriberEvent);
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await sleep(5);
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe('Orchestrator', () => {
  it('decides, publishes the sends, writes state with its record, then acks each message', async () => {
    const { consumer, outbound, timers, store, orchestrator } = setup();
    consumer.queue.push(message(event('s-1', 1, { type: 'subscribed', utcOffsetMinutes: -300 }), 's-1'));
    orchestrator.start();
    await until(() => consumer.acked.length === 1, 'the ack');
    const command = parseCommand(outbound.sent[0]!.data);
    expect(command).toMatchObject({ commandId: 's-1/welcome/welcome', channel: 'sms', decidedBy: 'orchestrator-0', trigger: 'event:1' });
    expect(outbound.sent[0]!.partitionKey).toBe('s-1');
    expect(timers.sent).toHaveLength(1);
    expect(timers.sent[0]!.deliverAt).toBeGreaterThan(Date.now());
    expect(store.writes).toEqual([
      expect.objectContaining({
        subscriberId: 's-1',
        fromVersion: 0,
        toVersion: 1,
        lastSeqBefore: 0,
        lastSeqAfter: 1,
        decisions: [command!.decisionId],
      }),
    ]);
  });

  it('dead-letters malformed events with a counted reason, and the key and the consumer go on', async () => {
    const { consumer, deadLetter, store, registry, orchestrator } = setup();
    consumer.queue.push(
      message('{"v":1,"type":', 's-1'),
      message(event('s-1', 1, { type: 'subscribed', utcOffsetMinutes: -300 }), 's-1'),
      message(JSON.stringify({ v: 1, type: 'coupon_clipped', subscriberId: 's-1', seq: 2, eventTime: T0 }), 's-1'),
      message(JSON.stringify({ v: 1, type: 'product_viewed', seq: 1, eventTime: T0, productId: 'p' }), ''),
      message(event('s-1', 2, { type: 'product_viewed', productId: 'p' }), 's-1'),
      message(event('s-2', 1, { type: 'subscribed', utcOffsetMinutes: -300 }), 's-2'),
    );
    orchestrator.start();
    await until(() => consumer.acked.length === 6, 'every message acked');
    // Keys run concurrently: compare as sets.
    expect(deadLetter.sent.map((sent) => sent.properties?.[DEAD_LETTER_REASON_PROPERTY]).sort()).toEqual([
      'bad_json',
      'missing_subscriber',
      'unknown_type',
    ]);
    expect(store.deadLetters.map((record) => record.reason).sort()).toEqual(['bad_json', 'missing_subscriber', 'unknown_type']);
    expect((await store.read('s-1'))?.state.lastSeq).toBe(2);
    expect((await store.read('s-2'))?.state.subscribed).toBe(true);
    const metric = await registry.getSingleMetric('orchestrator_dead_letters_total')?.get();
    expect(Object.fromEntries((metric?.values ?? []).map((value) => [value.labels.reason, value.value]))).toEqual({
      bad_json: 1,
      unknown_type: 1,
      missing_subscriber: 1,
    });
    expect(orchestrator.stats().deadLettered).toBe(3);
  });

  it('a redelivered event is acked without a second write or send', async () => {
    const { consumer, outbound, store, orchestrator } = setup();
    const payload = event('s-1', 1, { type: 'subscribed', utcOffsetMinutes: -300 });
    consumer.queue.push(message(payload, 's-1'), message(payload, 's-1'));
    orchestrator.start();
    await until(() => consumer.acked.length === 2, 'both acked');
    expect(store.writes).toHaveLength(1);
    expect(outbound.sent).toHaveLength(1);
  });

  it('with enforceSequence, an event ahead of its predecessor waits, then goes back to the broker; never applied first', async () => {
    const { consumer, store, orchestrator } = setup('shared_redis_lock');
    const lease = {
      acquire: async (subscriberId: string) => ({
        subscriberId,
        token: 't',
        fence: store.nextFence(subscriberId),
        waitedMs: 0,
        contended: 0,
        acquiredAt: performance.now(),
      }),
      release: async () => true,
      holder: async () => undefined,
    };
    const withLock = new Orchestrator({
      ...(orchestrator as unknown as { deps: ConstructorParameters<typeof Orchestrator>[0] }).deps,
      lock: lease,
    });
    running.push(withLock);
    withLock.start();
    const early = message(event('s-1', 2, { type: 'product_viewed', productId: 'p' }), 's-1');
    consumer.queue.push(early);
    await until(() => consumer.nacked.length === 1, 'the early event handed back');
    expect(consumer.nacked).toEqual([early.getMessageId().toString()]);
    expect(store.writes).toHaveLength(0);
    // The broker redelivers it after its predecessor.
    consumer.queue.push(message(event('s-1', 1, { type: 'subscribed', utcOffsetMinutes: -300 }), 's-1'), early);
    await until(() => consumer.acked.length === 2, 'both applied');
    expect(store.writes.map((write) => (write.applied.kind === 'event' ? write.applied.seq : 0))).toEqual([1, 2]);
    expect(withLock.stats().counters.handed_back).toBe(1);
  });
});
