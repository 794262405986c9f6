import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  InvalidConfigurationError,
  NotSupportedByWebSocketError,
  ReceiveTimeoutError,
  UnsubscribeError,
} from '../../../src/websocket/index.js';
import type { WebSocketMessage } from '../../../src/websocket/index.js';
import { waitUntil } from './fake-broker.js';
import type { FakeSession } from './fake-broker.js';
import { closeOpenedAfterEach, connect, startBroker } from './session-setup.js';

closeOpenedAfterEach();

function permits(session: FakeSession): number[] {
  return session.received.filter((f) => f.type === 'permit').map((f) => Number(f.permitMessages));
}

describe('WebSocketConsumer', () => {
  it('subscribes in pull mode with the mapped options and a capped receiver queue', async () => {
    const broker = await startBroker();
    const client = connect(broker);
    await client.subscribe({
      topic: 'persistent://t/ns/orders',
      subscription: 'sub one',
      subscriptionType: 'KeyShared',
      subscriptionInitialPosition: 'Earliest',
      receiverQueueSize: 5000,
      ackTimeoutMs: 2000,
      nAckRedeliverTimeoutMs: 100,
      consumerName: 'c1',
      deadLetterPolicy: { deadLetterTopic: 'dlq', maxRedeliverCount: 3 },
    });
    const session = broker.latest('consumer');
    expect(session.path).toBe('/ws/v2/consumer/persistent/t/ns/orders/sub%20one');
    expect(Object.fromEntries(session.query)).toEqual({
      subscriptionType: 'Key_Shared',
      receiverQueueSize: '1000',
      pullMode: 'true',
      subscriptionInitialPosition: 'Earliest',
      ackTimeoutMillis: '2000',
      negativeAckRedeliveryDelay: '100',
      consumerName: 'c1',
      deadLetterTopic: 'persistent://public/default/dlq',
      maxRedeliverCount: '3',
    });
    await waitUntil(() => permits(session).length === 1);
    expect(permits(session)).toEqual([1000]);
  });

  it('receives in order, re-grants permits as messages are taken, and acks by id', async () => {
    const broker = await startBroker();
    const client = connect(broker);
    const consumer = await client.subscribe({ topic: 't', subscription: 's', receiverQueueSize: 4 });
    const session = broker.latest('consumer');
    await waitUntil(() => permits(session).length === 1);
    const ids = [1, 2, 3, 4].map((i) => broker.deliver(session, { payload: `m${i}`, key: 'k' }));
    const received: WebSocketMessage[] = [];
    for (let i = 0; i < 4; i++) received.push(await consumer.receive(1000));
    expect(received.map((m) => m.getData().toString())).toEqual(['m1', 'm2', 'm3', 'm4']);
    await waitUntil(() => permits(session).length === 3);
    expect(permits(session)).toEqual([4, 2, 2]);
    await consumer.acknowledge(received[0]!);
    await consumer.acknowledgeId(received[1]!.getMessageId());
    consumer.negativeAcknowledge(received[2]!);
    await waitUntil(() => session.received.length === 6);
    expect(session.received.slice(3)).toEqual([
      { messageId: ids[0] },
      { messageId: ids[1] },
      { type: 'negativeAcknowledge', messageId: ids[2] },
    ]);
  });

  it('receive(timeout) rejects with ReceiveTimeoutError', async () => {
    const broker = await startBroker();
    const client = connect(broker);
    const consumer = await client.subscribe({ topic: 't', subscription: 's' });
    await expect(consumer.receive(50)).rejects.toThrow(ReceiveTimeoutError);
  });

  it('calls the listener one message at a time, awaiting its promise, and survives a throwing listener', async () => {
    const broker = await startBroker();
    const client = connect(broker);
    const seen: string[] = [];
    let active = 0;
    let maxActive = 0;
    const consumer = await client.subscribe({
      topic: 't',
      subscription: 's',
      listener: async (message, c) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen.push(message.getData().toString());
        active--;
        if (message.getData().toString() === 'boom') throw new Error('listener failure');
        await c.acknowledge(message);
      },
    });
    const session = broker.latest('consumer');
    for (const payload of ['a', 'boom', 'b', 'c']) broker.deliver(session, { payload });
    await waitUntil(() => seen.length === 4);
    expect(seen).toEqual(['a', 'boom', 'b', 'c']);
    expect(maxActive).toBe(1);
    await expect(consumer.receive(10)).rejects.toThrow(InvalidConfigurationError);
  });

  it('after a disconnect: drops unhanded messages, buffers acks, re-grants permits, keeps waiting receivers', async () => {
    const broker = await startBroker();
    const client = connect(broker, { initialBackoffMs: 20, maxBackoffMs: 50 });
    const consumer = await client.subscribe({ topic: 't', subscription: 's', receiverQueueSize: 10 });
    const first = broker.latest('consumer');
    await waitUntil(() => permits(first).length === 1);
    broker.deliver(first, { payload: 'taken' });
    const taken = await consumer.receive(1000);
    broker.deliver(first, { payload: 'buffered' }); // never handed out
    await new Promise((resolve) => setTimeout(resolve, 20));
    await broker.stop();
    await waitUntil(() => !consumer.isConnected(), 2000, 'disconnect');
    await consumer.acknowledge(taken); // buffered until reconnect
    const waiting = consumer.receive(5000);
    await broker.restart();
    await waitUntil(() => broker.sessions.length === 2, 5000, 'reconnect');
    const second = broker.latest('consumer');
    await waitUntil(() => second.received.length === 2);
    expect(second.received).toEqual([{ messageId: taken.getMessageId().toBase64() }, { type: 'permit', permitMessages: 10 }]);
    broker.deliver(second, { payload: 'buffered', redeliveryCount: 1 });
    const redelivered = await waiting;
    expect(redelivered.getData().toString()).toBe('buffered');
    expect(redelivered.getRedeliveryCount()).toBe(1);
  });

  it('tells onConnectionLost listeners each time the connection drops, not on close, and stops when asked', async () => {
    const broker = await startBroker();
    const client = connect(broker, { initialBackoffMs: 20, maxBackoffMs: 50 });
    const consumer = await client.subscribe({ topic: 't', subscription: 's' });
    const reasons: string[] = [];
    const stop = consumer.onConnectionLost((reason) => reasons.push(reason.name));
    consumer.onConnectionLost(() => {
      throw new Error('a listener that throws does not stop the others');
    });
    await broker.stop();
    await waitUntil(() => reasons.length === 1, 2000, 'the first drop');
    await broker.restart();
    await waitUntil(() => consumer.isConnected(), 5000, 'reconnect');
    await broker.stop();
    await waitUntil(() => reasons.length === 2, 2000, 'the second drop');
    expect(reasons).toEqual(['ConnectionError', 'ConnectionError']);
    stop();
    await broker.restart();
    await waitUntil(() => consumer.isConnected(), 5000, 'reconnect');
    await broker.stop();
    await waitUntil(() => !consumer.isConnected(), 2000, 'the third drop');
    await broker.restart();
    await waitUntil(() => consumer.isConnected(), 5000, 'reconnect');
    await consumer.close();
    expect(reasons).toHaveLength(2);
  });

  it('buffers at most 10 000 acks while disconnected and says so when the rest are left to redelivery', async () => {
    const broker = await startBroker();
    const warnings: string[] = [];
    const client = connect(broker, {
      initialBackoffMs: 20,
      maxBackoffMs: 50,
      log: (_level, _file, _line, message) => void warnings.push(message),
    });
    const consumer = await client.subscribe({ topic: 't', subscription: 's', receiverQueueSize: 10 });
    const first = broker.latest('consumer');
    await waitUntil(() => permits(first).length === 1);
    broker.deliver(first, { payload: 'taken' });
    const taken = await consumer.receive(1000);
    await broker.stop();
    await waitUntil(() => !consumer.isConnected(), 2000, 'disconnect');
    for (let i = 0; i < 10_005; i++) await consumer.acknowledge(taken);
    await broker.restart();
    await waitUntil(() => broker.sessions.length === 2, 5000, 'reconnect');
    const second = broker.latest('consumer');
    await waitUntil(() => permits(second).length === 1, 5000, 'permits after the buffered acks');
    expect(second.received.filter((f) => f.type === undefined)).toHaveLength(10_000);
    expect(warnings.some((w) => /5 acks\/nacks issued while disconnected exceeded the buffer/.test(w))).toBe(true);
  });

  it('unsubscribe resolves when the broker processed it and closes the consumer', async () => {
    const broker = await startBroker();
    const client = connect(broker);
    const consumer = await client.subscribe({ topic: 't', subscription: 's' });
    await expect(consumer.unsubscribe()).resolves.toBeNull();
    const session = broker.latest('consumer');
    expect(session.received.map((f) => f.type)).toContain('unsubscribe');
    expect(consumer.isConnected()).toBe(false);
    await expect(consumer.receive()).rejects.toThrow(ClosedError);
  });

  it('unsubscribe rejects when the broker closes the session instead', async () => {
    const broker = await startBroker();
    const client = connect(broker, { initialBackoffMs: 20 });
    const consumer = await client.subscribe({ topic: 't', subscription: 's' });
    const session = broker.latest('consumer');
    session.socket.removeAllListeners('message');
    session.socket.on('message', (data) => {
      if (String(data).includes('unsubscribe')) session.socket.close(1011, 'Subscription has active consumers');
    });
    await expect(consumer.unsubscribe()).rejects.toThrow(UnsubscribeError);
  });

  it('rejects features the WebSocket API cannot express', async () => {
    const broker = await startBroker();
    const client = connect(broker);
    const consumer = await client.subscribe({ topic: 't', subscription: 's' });
    const message = { getMessageId: () => ({ serialize: () => Buffer.alloc(0) }) } as unknown as WebSocketMessage;
    await expect(consumer.acknowledgeCumulative(message)).rejects.toThrow(NotSupportedByWebSocketError);
    await expect(consumer.seek(message.getMessageId() as never)).rejects.toThrow(NotSupportedByWebSocketError);
    await expect(consumer.seekTimestamp(0)).rejects.toThrow(NotSupportedByWebSocketError);
    await expect(
      client.subscribe({ topic: 't', subscription: 's2', subscriptionType: 'KeyShared', keySharedPolicy: { keyShareMode: 'Sticky' } }),
    ).rejects.toThrow(/AUTO_SPLIT/);
    await expect(client.subscribe({ topic: 't', subscription: 's3', topics: ['a', 'b'] })).rejects.toThrow(NotSupportedByWebSocketError);
    await expect(client.subscribe({ topic: 't', subscription: 's4', ackTimeoutMs: 10 })).rejects.toThrow(InvalidConfigurationError);
  });
});
