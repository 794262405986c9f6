/**
 * A delivery of a message id the subscription holds in flight, or settled
 * recently, is a redelivery whatever the broker's redelivery count says:
 * counted in keyscope_redeliveries_total, the stale in-flight delivery is
 * released, and going backwards is `redelivery_reorder`, never `reorder`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PRODUCER_PROPERTY, SEQ_PROPERTY, type ConsumerLike, type MessageLike } from '../../src/index.js';
import { RecentlySettled, splitMessageId } from '../../src/tracking/recently-settled.js';
import { harness, metricValue, orderingViolations, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(() => h?.keyscope.close());

const labels = { topic: 't', subscription: 's' };

/** A message as pulsar-client hands it out: a fresh object per delivery, its id written `(ledger,entry,partition,batchIndex)`. */
class Message implements MessageLike {
  constructor(
    readonly entry: number,
    readonly batchIndex: number,
    readonly seq: number,
    readonly key = 'k',
    readonly stamped = true,
  ) {}
  getTopicName(): string {
    return 't';
  }
  getProperties(): Record<string, string> {
    return this.stamped ? { [PRODUCER_PROPERTY]: 'producer-1', [SEQ_PROPERTY]: String(this.seq) } : {};
  }
  getData(): Buffer {
    return Buffer.from(String(this.seq));
  }
  getMessageId() {
    const text = `(7,${this.entry},-1,${this.batchIndex})`;
    return { toString: () => text };
  }
  getPublishTimestamp(): number {
    return 0;
  }
  getPartitionKey(): string {
    return this.key;
  }
  getRedeliveryCount(): number {
    return 0;
  }
  again(): Message {
    return new Message(this.entry, this.batchIndex, this.seq, this.key, this.stamped);
  }
}

/** A consumer whose deliveries the test pushes; it can report a dropped connection. */
class ScriptedConsumer implements ConsumerLike {
  private readonly queue: MessageLike[] = [];
  readonly connectionListeners = new Set<(reason: Error) => void>();
  push(...messages: MessageLike[]): void {
    this.queue.push(...messages);
  }
  receive(): Promise<MessageLike> {
    const next = this.queue.shift();
    return next === undefined ? Promise.reject(new Error('nothing queued')) : Promise.resolve(next);
  }
  acknowledge(_message: MessageLike): Promise<null> {
    return Promise.resolve(null);
  }
  acknowledgeId(_messageId: unknown): Promise<null> {
    return Promise.resolve(null);
  }
  negativeAcknowledge(_message: MessageLike): void {}
  negativeAcknowledgeId(_messageId: unknown): void {}
  acknowledgeCumulative(_message: MessageLike): Promise<null> {
    return Promise.resolve(null);
  }
  isConnected(): boolean {
    return true;
  }
  close(): Promise<null> {
    return Promise.resolve(null);
  }
  unsubscribe(): Promise<null> {
    return Promise.resolve(null);
  }
  onConnectionLost(listener: (reason: Error) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }
}

async function figures(current: Harness) {
  current.keyscope.sweep();
  return {
    received: await metricValue(current.registry, 'keyscope_messages_received_total', labels),
    redeliveries: await metricValue(current.registry, 'keyscope_redeliveries_total', labels),
    reorder: await orderingViolations(current, labels, 'reorder'),
    redeliveryReorder: await orderingViolations(current, labels, 'redelivery_reorder'),
    inflight: await metricValue(current.registry, 'keyscope_inflight_messages', labels),
  };
}

describe('a nack brings back the whole batch with count 0 (Exclusive, Failover)', () => {
  it('counts every sibling as a redelivery and none as reorder', async () => {
    h = harness();
    const raw = new ScriptedConsumer();
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's', subscriptionType: 'Exclusive' });
    const batch = [new Message(5, 0, 1), new Message(5, 1, 2), new Message(5, 2, 3)];
    const next = new Message(6, -1, 4);
    raw.push(...batch, next);
    const first = await consumer.receive();
    for (let i = 0; i < 3; i++) await consumer.acknowledge(await consumer.receive());
    consumer.negativeAcknowledge(first);
    raw.push(...batch.map((m) => m.again()));
    for (let i = 0; i < 3; i++) await consumer.acknowledge(await consumer.receive());

    expect(await figures(h)).toEqual({ received: 7, redeliveries: 3, reorder: 0, redeliveryReorder: 3, inflight: 0 });
  });

  it('a batch sibling seen for the first time is no redelivery, though its entry was seen', async () => {
    h = harness();
    const raw = new ScriptedConsumer();
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's' });
    raw.push(new Message(5, 0, 1), new Message(5, 1, 2));
    await consumer.acknowledge(await consumer.receive());
    await consumer.acknowledge(await consumer.receive());
    expect(await figures(h)).toMatchObject({ received: 2, redeliveries: 0 });
  });
});

describe('a reconnect redelivers what the consumer held, with count 0', () => {
  it('releases the stale deliveries, ending their spans as redelivered, and counts no reorder', async () => {
    h = harness({ stallThresholdMs: 1000 });
    const raw = new ScriptedConsumer();
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's', subscriptionType: 'KeyShared' });
    const messages = [1, 2, 3].map((seq) => new Message(seq, -1, seq));
    raw.push(...messages);
    for (let i = 0; i < 3; i++) await consumer.receive(); // held, unacked
    for (const listener of raw.connectionListeners) listener(new Error('connection lost'));
    raw.push(...messages.map((m) => m.again()));
    const again = [await consumer.receive(), await consumer.receive(), await consumer.receive()];
    expect(await figures(h)).toEqual({ received: 6, redeliveries: 3, reorder: 0, redeliveryReorder: 2, inflight: 3 });

    const stale = h.tracing.byName('process t');
    expect(stale).toHaveLength(3);
    for (const span of stale) expect(span.events.map((e) => e.attributes?.['messaging.operation.name'])).toEqual(['redelivered']);
    for (const message of again) await consumer.acknowledge(message);
    h.clock.advance(2000);
    expect((await figures(h)).inflight).toBe(0);
    expect(await metricValue(h.registry, 'keyscope_stalled_messages', labels)).toBe(0);
    expect(h.tracing.byName('process t')).toHaveLength(6);
  });

  it("recognises unstamped messages (a Java producer's) by id too, held or settled", async () => {
    h = harness();
    const raw = new ScriptedConsumer();
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's', subscriptionType: 'Failover' });
    const held = new Message(1, -1, 0, 'k', false);
    const settled = new Message(2, -1, 0, 'k', false);
    raw.push(held, settled);
    await consumer.receive();
    await consumer.acknowledge(await consumer.receive());
    raw.push(held.again(), settled.again());
    await consumer.acknowledge(await consumer.receive());
    await consumer.acknowledge(await consumer.receive());
    expect(await figures(h)).toEqual({ received: 4, redeliveries: 2, reorder: 0, redeliveryReorder: 0, inflight: 0 });
  });

  it('recognises a message held by another consumer of the same subscription', async () => {
    h = harness();
    const rawA = new ScriptedConsumer();
    const rawB = new ScriptedConsumer();
    const a = h.keyscope.instrumentConsumer(rawA, { subscription: 's', subscriptionType: 'Shared' });
    const b = h.keyscope.instrumentConsumer(rawB, { subscription: 's', subscriptionType: 'Shared' });
    const held = new Message(1, -1, 1);
    rawA.push(held);
    await a.receive();
    rawB.push(new Message(2, -1, 2), held.again());
    await b.acknowledge(await b.receive());
    await b.acknowledge(await b.receive());
    expect(await figures(h)).toEqual({ received: 3, redeliveries: 1, reorder: 0, redeliveryReorder: 1, inflight: 0 });
  });

  it('stops listening for connection drops when the consumer closes', async () => {
    h = harness();
    const raw = new ScriptedConsumer();
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's' });
    expect(raw.connectionListeners.size).toBe(1);
    await consumer.close();
    expect(raw.connectionListeners.size).toBe(0);
  });
});

describe('remembered settled ids are bounded (recentSettledIds)', () => {
  it('forgets the oldest first; a forgotten id going backwards is judged by its seq again', async () => {
    h = harness({ recentSettledIds: 2 });
    const raw = new ScriptedConsumer();
    const consumer = h.keyscope.instrumentConsumer(raw, { subscription: 's' });
    const messages = [1, 2, 3, 4].map((seq) => new Message(seq, -1, seq));
    raw.push(...messages);
    for (let i = 0; i < 4; i++) await consumer.acknowledge(await consumer.receive());
    const [first, , third] = messages as [Message, Message, Message, Message];
    raw.push(third.again(), first.again());
    await consumer.acknowledge(await consumer.receive());
    await consumer.acknowledge(await consumer.receive());
    expect(await figures(h)).toMatchObject({ redeliveries: 1, redeliveryReorder: 1, reorder: 1 });
    expect(h.keyscope.internalPipeline.tracker.stream('t', 's').recentlySettled.size).toBe(2);
  });

  it('keeps one record per batch entry', () => {
    const recent = new RecentlySettled(10);
    for (let index = 0; index < 100; index++) recent.remember(`(3,9,-1,${index})`);
    expect(recent.size).toBe(1);
    expect(recent.has('(3,9,-1,42)')).toBe(true);
    expect(recent.has('(3,9,-1,100)')).toBe(false);
    expect(recent.has('(3,9,0,1)')).toBe(false);
  });

  it('cuts ids of the pulsar-client form into entry and batch index, and keeps any other text whole', () => {
    expect(splitMessageId('(12,34,-1,-1)')).toEqual({ entry: '(12,34,-1,-1)', batchIndex: -1 });
    expect(splitMessageId('(12,34,2,7)')).toEqual({ entry: '(12,34,2', batchIndex: 7 });
    expect(splitMessageId('12:34:-1')).toEqual({ entry: '12:34:-1', batchIndex: -1 });
    expect(splitMessageId('(1,2,x)')).toEqual({ entry: '(1,2,x)', batchIndex: -1 });
    expect(splitMessageId('(1,2,3,x)')).toEqual({ entry: '(1,2,3,x)', batchIndex: -1 });
  });
});
