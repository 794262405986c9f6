/**
 * WebSocketClient against a real Pulsar broker: every behaviour the library and
 * the orchestrator rely on, verified through the broker's WebSocket API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, NotSupportedByWebSocketError, ReceiveTimeoutError, WebSocketMessageId } from '../../src/websocket/index.js';
import type { WebSocketClient, WebSocketConsumer, WebSocketMessage } from '../../src/websocket/index.js';
import { newClient, receiveAll, receiveNothing, requireBroker, sleep, uniqueName, uniqueTopic, waitFor } from './helpers/broker.js';

let client: WebSocketClient;

beforeAll(async () => {
  await requireBroker();
  client = newClient();
});

afterAll(async () => {
  await client?.close();
});

describe('WebSocketClient against a real broker', () => {
  it('round-trips payload, properties, key and event time', async () => {
    const topic = uniqueTopic('roundtrip');
    const consumer = await client.subscribe({ topic, subscription: 's', subscriptionInitialPosition: 'Earliest' });
    const producer = await client.createProducer({ topic });
    const payload = Buffer.from([0, 1, 2, 250, 255, 0x7b, 0x22]); // not valid UTF-8, includes JSON characters
    const eventTimestamp = Date.UTC(2024, 4, 1, 12, 30, 15, 123);
    const sentId = await producer.send({
      data: payload,
      properties: { 'trace-id': 'abc', unicode: 'ünïcødé', empty: '' },
      partitionKey: 'user-42',
      eventTimestamp,
    });
    await producer.send({ data: Buffer.from('ordering'), orderingKey: 'ord-1', partitionKey: 'part-1' });
    const [first, second] = await receiveAll(consumer, 2, 10_000);
    expect(first!.getData().equals(payload)).toBe(true);
    expect(first!.getProperties()).toEqual({ 'trace-id': 'abc', unicode: 'ünïcødé', empty: '' });
    expect(first!.getPartitionKey()).toBe('user-42');
    expect(first!.getEventTimestamp()).toBe(eventTimestamp);
    expect(first!.getMessageId().toString()).toBe(sentId.toString());
    expect(first!.getRedeliveryCount()).toBe(0);
    expect(first!.getTopicName()).toBe(topic);
    expect(Math.abs(first!.getPublishTimestamp() - Date.now())).toBeLessThan(60_000);
    // The WebSocket API has one key: the ordering key is sent as the message key.
    expect(second!.getPartitionKey()).toBe('ord-1');
    expect(second!.getEventTimestamp()).toBe(0);
    await producer.close();
    await consumer.close();
  });

  it('Key_Shared, 3 consumers, 200 keys: each key at one consumer at a time, in publish order', async () => {
    const topic = uniqueTopic('keyshared');
    const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`);
    const perKey = 10;
    const total = keys.length * perKey;
    interface Delivery {
      key: string;
      seq: number;
      consumer: number;
      receivedAt: number;
      ackedAt: number;
    }
    const deliveries: Delivery[] = [];
    const consumers: WebSocketConsumer[] = [];
    for (let c = 0; c < 3; c++) {
      const consumerIndex = c;
      consumers.push(
        await client.subscribe({
          topic,
          subscription: 'ks',
          subscriptionType: 'KeyShared',
          subscriptionInitialPosition: 'Earliest',
          consumerName: `ks-${c}`,
          receiverQueueSize: 50,
          listener: async (message, consumer) => {
            const receivedAt = performance.now();
            if (Math.random() < 0.05) await sleep(2); // some processing time, so windows can overlap if they could
            const delivery = {
              key: message.getPartitionKey(),
              seq: Number(message.getProperties().seq),
              consumer: consumerIndex,
              receivedAt,
              ackedAt: 0,
            };
            await consumer.acknowledge(message);
            delivery.ackedAt = performance.now();
            deliveries.push(delivery);
          },
        }),
      );
    }
    const producer = await client.createProducer({ topic, blockIfQueueFull: true, maxPendingMessages: 500 });
    const sends: Promise<unknown>[] = [];
    for (let round = 0; round < perKey; round++) {
      for (const key of keys) {
        const seq = round;
        sends.push(producer.send({ data: Buffer.from(`${key}:${seq}`), partitionKey: key, properties: { seq: String(seq) } }));
      }
    }
    await Promise.all(sends);
    await waitFor(() => deliveries.length >= total, 60_000, `${total} Key_Shared deliveries (got ${deliveries.length})`);
    await sleep(300); // anything extra (a duplicate) would show up now
    expect(deliveries.length).toBe(total);

    const byKey = new Map<string, Delivery[]>();
    for (const d of deliveries) {
      const list = byKey.get(d.key) ?? [];
      list.push(d);
      byKey.set(d.key, list);
    }
    expect(byKey.size).toBe(keys.length);
    for (const [key, list] of byKey) {
      list.sort((a, b) => a.receivedAt - b.receivedAt);
      // publish order within the key
      expect(
        list.map((d) => d.seq),
        key,
      ).toEqual(Array.from({ length: perKey }, (_, i) => i));
      // one consumer at a time: a different consumer only starts after the previous one acked
      for (let i = 1; i < list.length; i++) {
        const previous = list[i - 1]!;
        const current = list[i]!;
        if (current.consumer !== previous.consumer) expect(current.receivedAt, key).toBeGreaterThanOrEqual(previous.ackedAt);
      }
    }
    const perConsumer = [0, 1, 2].map((c) => deliveries.filter((d) => d.consumer === c).length);
    expect(
      perConsumer.every((n) => n > 0),
      `all three consumers got keys: ${perConsumer}`,
    ).toBe(true);
    await producer.close();
    await Promise.all(consumers.map((c) => c.close()));
  });

  it('Shared with two consumers splits one key across both (the split brain)', async () => {
    const topic = uniqueTopic('shared');
    const received = new Map<number, string[]>([
      [0, []],
      [1, []],
    ]);
    const consumers = await Promise.all(
      [0, 1].map((c) =>
        client.subscribe({
          topic,
          subscription: 'sh',
          subscriptionType: 'Shared',
          receiverQueueSize: 5,
          listener: async (message, consumer) => {
            await sleep(1);
            received.get(c)!.push(message.getPartitionKey());
            await consumer.acknowledge(message);
          },
        }),
      ),
    );
    const producer = await client.createProducer({ topic });
    await Promise.all(Array.from({ length: 200 }, (_, i) => producer.send({ data: Buffer.from(String(i)), partitionKey: 'hot-user' })));
    await waitFor(() => received.get(0)!.length + received.get(1)!.length >= 200, 30_000, 'all Shared deliveries');
    expect(received.get(0)!.length).toBeGreaterThan(0);
    expect(received.get(1)!.length).toBeGreaterThan(0);
    expect([...received.get(0)!, ...received.get(1)!].every((k) => k === 'hot-user')).toBe(true);
    await producer.close();
    await Promise.all(consumers.map((c) => c.close()));
  });

  it('Failover has one active consumer and hands over when it closes', async () => {
    const topic = uniqueTopic('failover');
    const got: string[][] = [[], []];
    const consumers = [] as WebSocketConsumer[];
    for (const c of [0, 1]) {
      consumers.push(
        await client.subscribe({
          topic,
          subscription: 'fo',
          subscriptionType: 'Failover',
          consumerName: `fo-${c}`,
          listener: async (message, consumer) => {
            got[c]!.push(message.getData().toString());
            await consumer.acknowledge(message);
          },
        }),
      );
    }
    await sleep(1500); // let the broker settle the active consumer (failover delay ~1 s)
    const producer = await client.createProducer({ topic });
    for (let i = 0; i < 50; i++) await producer.send({ data: Buffer.from(`a${i}`) });
    await waitFor(() => got[0]!.length + got[1]!.length >= 50, 20_000, 'phase 1 deliveries');
    await sleep(200);
    const active = got[0]!.length === 50 ? 0 : 1;
    expect(got[active]!.length).toBe(50);
    expect(got[1 - active]!.length).toBe(0);

    await consumers[active]!.close();
    for (let i = 0; i < 50; i++) await producer.send({ data: Buffer.from(`b${i}`) });
    await waitFor(() => got[1 - active]!.filter((p) => p.startsWith('b')).length >= 50, 20_000, 'phase 2 deliveries at the standby');
    expect(got[1 - active]!.filter((p) => p.startsWith('b'))).toEqual(Array.from({ length: 50 }, (_, i) => `b${i}`));
    await producer.close();
    await consumers[1 - active]!.close();
  });

  it('redelivers a negatively acknowledged message with redelivery count 1', async () => {
    const topic = uniqueTopic('nack');
    const consumer = await client.subscribe({ topic, subscription: 'n', subscriptionType: 'Shared', nAckRedeliverTimeoutMs: 200 });
    const producer = await client.createProducer({ topic });
    const id = await producer.send({ data: Buffer.from('retry-me') });
    const first = await consumer.receive(10_000);
    expect(first.getRedeliveryCount()).toBe(0);
    consumer.negativeAcknowledge(first);
    const started = Date.now();
    const again = await consumer.receive(10_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(again.getMessageId().toString()).toBe(id.toString());
    expect(again.getData().toString()).toBe('retry-me');
    expect(again.getRedeliveryCount()).toBe(1);
    await consumer.acknowledge(again);
    expect(await receiveNothing(consumer, 700)).toBeUndefined();
    await producer.close();
    await consumer.close();
  });

  it('delivers delayed messages no earlier than asked (deliverAfter and deliverAt)', async () => {
    const topic = uniqueTopic('delayed');
    // Delayed delivery applies to Shared and Key_Shared subscriptions.
    const consumer = await client.subscribe({ topic, subscription: 'd', subscriptionType: 'Shared' });
    const producer = await client.createProducer({ topic });
    const sentAt = Date.now();
    await producer.send({ data: Buffer.from('after'), deliverAfter: 2000 });
    await producer.send({ data: Buffer.from('at'), deliverAt: sentAt + 3000 });
    await producer.send({ data: Buffer.from('now') });
    const arrivals = new Map<string, number>();
    while (arrivals.size < 3) {
      const message = await consumer.receive(20_000);
      arrivals.set(message.getData().toString(), Date.now());
      await consumer.acknowledge(message);
    }
    expect([...arrivals.keys()].sort()).toEqual(['after', 'at', 'now']);
    expect(arrivals.get('now')! - sentAt).toBeLessThan(2000);
    expect(arrivals.get('after')! - sentAt).toBeGreaterThanOrEqual(2000);
    expect(arrivals.get('at')!).toBeGreaterThanOrEqual(sentAt + 3000);
    await producer.close();
    await consumer.close();
  });

  it('moves a message to the dead-letter topic after the max redelivery count', async () => {
    const topic = uniqueTopic('dlq-source');
    const deadLetterTopic = uniqueTopic('dlq');
    const deadLetters = await client.subscribe({ topic: deadLetterTopic, subscription: 'audit', subscriptionInitialPosition: 'Earliest' });
    const consumer = await client.subscribe({
      topic,
      subscription: 'work',
      subscriptionType: 'Shared',
      nAckRedeliverTimeoutMs: 100,
      deadLetterPolicy: { deadLetterTopic, maxRedeliverCount: 2 },
    });
    const producer = await client.createProducer({ topic });
    await producer.send({ data: Buffer.from('poison'), partitionKey: 'p', properties: { origin: 'test' } });
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const message = await consumer.receive(10_000);
      counts.push(message.getRedeliveryCount());
      consumer.negativeAcknowledge(message);
    }
    expect(counts).toEqual([0, 1, 2]);
    const [dead] = await receiveAll(deadLetters, 1, 15_000);
    expect(dead?.getData().toString()).toBe('poison');
    expect(dead?.getProperties().origin).toBe('test');
    expect(dead?.getPartitionKey()).toBe('p');
    expect(await receiveNothing(consumer, 1000)).toBeUndefined();
    await producer.close();
    await consumer.close();
    await deadLetters.close();
  });

  it('refuses a second Exclusive consumer with a 409 ConnectionError', async () => {
    const topic = uniqueTopic('exclusive');
    const first = await client.subscribe({ topic, subscription: 'only-one', subscriptionType: 'Exclusive' });
    const error = await client.subscribe({ topic, subscription: 'only-one', subscriptionType: 'Exclusive' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).status).toBe(409);
    expect((error as Error).message).toMatch(/Exclusive consumer is already connected/);
    await first.close();
  });

  it('refuses a topic in a namespace that does not exist with a 404 ConnectionError', async () => {
    const error = await client
      .createProducer({ topic: `persistent://public/${uniqueName('no-such-namespace')}/t` })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).status).toBe(404);
    expect((error as Error).message).toMatch(/Namespace not found/);
  });

  it('unsubscribes: a new subscription with the same name starts from the latest message', async () => {
    const topic = uniqueTopic('unsub');
    const subscription = uniqueName('sub');
    const producer = await client.createProducer({ topic });
    const consumer = await client.subscribe({ topic, subscription });
    await producer.send({ data: Buffer.from('before') });
    await consumer.unsubscribe();
    expect(consumer.isConnected()).toBe(false);
    // Had the subscription survived, "before" would be delivered from its cursor.
    const again = await client.subscribe({ topic, subscription });
    await producer.send({ data: Buffer.from('after') });
    const [message] = await receiveAll(again, 1, 10_000);
    expect(message?.getData().toString()).toBe('after');
    await again.close();
    await producer.close();
  });

  it('reads a topic from the earliest message, and after a given message id', async () => {
    const topic = uniqueTopic('reader');
    const producer = await client.createProducer({ topic });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await producer.send({ data: Buffer.from(`r${i}`) }));
    const fromStart = await client.createReader({ topic, startMessageId: WebSocketMessageId.earliest() });
    const all = [];
    for (let i = 0; i < 5; i++) all.push((await fromStart.readNext(10_000)).getData().toString());
    expect(all).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    await expect(fromStart.readNext(300)).rejects.toThrow(ReceiveTimeoutError);
    // pulsar-client semantics: the start message id is exclusive
    const afterSecond = await client.createReader({ topic, startMessageId: ids[1]! });
    expect((await afterSecond.readNext(10_000)).getData().toString()).toBe('r2');
    await Promise.all([fromStart.close(), afterSecond.close(), producer.close()]);
  });

  it('keeps a connection whose keep-alive pings the broker answers', async () => {
    const warnings: string[] = [];
    const pinging = newClient({
      keepAliveIntervalMs: 100,
      logLevel: 2,
      log: (_level, _file, _line, message) => void warnings.push(message),
    });
    const producer = await pinging.createProducer({ topic: uniqueTopic('keepalive') });
    await sleep(1000); // ten pings; a missing pong drops the connection with a warning
    expect(warnings).toEqual([]);
    expect(producer.isConnected()).toBe(true);
    await producer.send({ data: Buffer.from('still here') });
    await pinging.close();
  });

  it('fails clearly on what the WebSocket API cannot do', async () => {
    const topic = uniqueTopic('unsupported');
    const consumer = await client.subscribe({ topic, subscription: 's' });
    const producer = await client.createProducer({ topic });
    await producer.send({ data: Buffer.from('x') });
    const message: WebSocketMessage = await consumer.receive(10_000);
    await expect(consumer.acknowledgeCumulative(message)).rejects.toThrow(NotSupportedByWebSocketError);
    await expect(consumer.seek(message.getMessageId())).rejects.toThrow(NotSupportedByWebSocketError);
    await consumer.acknowledge(message);
    await producer.close();
    await consumer.close();
  });
});
