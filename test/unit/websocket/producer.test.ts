import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  MessageTooLargeError,
  NotSupportedByWebSocketError,
  ProducerQueueFullError,
  ProducerSendError,
  SendTimeoutError,
} from '../../../src/websocket/index.js';
import { waitUntil } from './fake-broker.js';
import { closeOpenedAfterEach, connect, startBroker } from './session-setup.js';

closeOpenedAfterEach();

describe('WebSocketProducer', () => {
  it('resolves each send with the message id of its own ack, matched by context', async () => {
    const broker = await startBroker({ autoAck: false });
    const client = connect(broker);
    const producer = await client.createProducer({ topic: 'orders' });
    const first = producer.send({ data: Buffer.from('a') });
    const second = producer.send({ data: Buffer.from('b') });
    const session = broker.latest('producer');
    await waitUntil(() => session.received.length === 2);
    expect(session.path).toBe('/ws/v2/producer/persistent/public/default/orders');
    const [f1, f2] = session.received;
    broker.ackProducer(session, String(f2!.context));
    broker.ackProducer(session, String(f1!.context));
    const [id1, id2] = await Promise.all([first, second]);
    expect(id1.entryId).toBe(1n);
    expect(id2.entryId).toBe(0n);
    expect(producer.getTopic()).toBe('persistent://public/default/orders');
    expect(producer.isConnected()).toBe(true);
  });

  it('passes producer options as query parameters; batching is off unless asked for', async () => {
    const broker = await startBroker();
    const client = connect(broker);
    await client.createProducer({ topic: 't', producerName: 'p1', sendTimeoutMs: 1234, compressionType: 'LZ4', maxPendingMessages: 10 });
    const query = broker.latest('producer').query;
    expect(Object.fromEntries(query)).toEqual({
      producerName: 'p1',
      sendTimeoutMillis: '1234',
      batchingEnabled: 'false',
      maxPendingMessages: '10',
      compressionType: 'LZ4',
    });
  });

  it('rejects with ProducerSendError when the broker answers with an error', async () => {
    const broker = await startBroker({ autoAck: false });
    const client = connect(broker);
    const producer = await client.createProducer({ topic: 't' });
    const sent = producer.send({ data: Buffer.from('a') });
    const session = broker.latest('producer');
    await waitUntil(() => session.received.length === 1);
    session.socket.send(JSON.stringify({ result: 'send-error:8', errorMsg: 'Topic terminated', context: session.received[0]!.context }));
    await expect(sent).rejects.toThrow(ProducerSendError);
    await expect(sent).rejects.toThrow(/Topic terminated/);
  });

  it('times out unacknowledged sends with SendTimeoutError', async () => {
    const broker = await startBroker({ autoAck: false });
    const client = connect(broker);
    const producer = await client.createProducer({ topic: 't', sendTimeoutMs: 100 });
    const started = Date.now();
    await expect(producer.send({ data: Buffer.from('a') })).rejects.toThrow(SendTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(producer.getPendingCount()).toBe(0);
  });

  it('rejects beyond maxPendingMessages, or waits for room with blockIfQueueFull', async () => {
    const broker = await startBroker({ autoAck: false });
    const client = connect(broker);
    const rejecting = await client.createProducer({ topic: 'r', maxPendingMessages: 2 });
    const inFlight = [rejecting.send({ data: Buffer.from('1') }), rejecting.send({ data: Buffer.from('2') })];
    await expect(rejecting.send({ data: Buffer.from('3') })).rejects.toThrow(ProducerQueueFullError);

    const blocking = await client.createProducer({ topic: 'b', maxPendingMessages: 2, blockIfQueueFull: true });
    const results = [1, 2, 3, 4].map((i) => blocking.send({ data: Buffer.from(String(i)) }));
    const session = broker.latest('producer');
    await waitUntil(() => session.received.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(session.received.length).toBe(2); // the third waits for room
    broker.ackProducer(session, String(session.received[0]!.context));
    await waitUntil(() => session.received.length === 3);
    for (const frame of session.received.slice(1)) broker.ackProducer(session, String(frame.context));
    await waitUntil(() => session.received.length === 4);
    broker.ackProducer(session, String(session.received[3]!.context));
    await Promise.all(results);
    // order is kept: payloads were written in send order
    expect(session.received.map((f) => Buffer.from(String(f.payload), 'base64').toString())).toEqual(['1', '2', '3', '4']);
    const rejectingSession = broker.sessions.find((s) => s.path.endsWith('/r'))!;
    for (const frame of rejectingSession.received) broker.ackProducer(rejectingSession, String(frame.context));
    await Promise.all(inFlight);
  });

  it('resends unacknowledged messages in order after the broker comes back', async () => {
    const broker = await startBroker({ autoAck: false });
    const client = connect(broker, { initialBackoffMs: 20, maxBackoffMs: 50 });
    const producer = await client.createProducer({ topic: 't', sendTimeoutMs: 10_000 });
    const first = producer.send({ data: Buffer.from('1') });
    const firstSession = broker.latest('producer');
    await waitUntil(() => firstSession.received.length === 1);
    await broker.stop();
    await waitUntil(() => !producer.isConnected(), 2000, 'disconnect');
    const second = producer.send({ data: Buffer.from('2') }); // issued while disconnected
    await broker.restart();
    await waitUntil(() => broker.sessions.length === 2, 5000, 'reconnect');
    const secondSession = broker.latest('producer');
    await waitUntil(() => secondSession.received.length === 2);
    expect(secondSession.received.map((f) => Buffer.from(String(f.payload), 'base64').toString())).toEqual(['1', '2']);
    for (const frame of secondSession.received) broker.ackProducer(secondSession, String(frame.context));
    await Promise.all([first, second]);
    expect(producer.isConnected()).toBe(true);
  });

  it('rejects a message over webSocketMaxTextFrameSize at send(), naming the limit, and sends nothing', async () => {
    const broker = await startBroker();
    const client = connect(broker, { webSocketMaxTextFrameSize: 1000 });
    const producer = await client.createProducer({ topic: 't' });
    // {"context":"0","payload":"<base64>"}: 26 bytes around the payload's base64 text.
    const fits = Buffer.alloc(((1000 - 26) / 4) * 3 - 1);
    const frameOf = (payload: Buffer) => 26 + Math.ceil(payload.length / 3) * 4;
    expect(frameOf(fits)).toBeLessThanOrEqual(1000);
    await producer.send({ data: fits });
    const tooLarge = Buffer.alloc(fits.length + 3);
    const error = await producer.send({ data: tooLarge }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect((error as MessageTooLargeError).limit).toBe(1000);
    expect((error as MessageTooLargeError).retriable).toBe(false);
    expect((error as Error).message).toMatch(/over the limit of 1000 bytes \(webSocketMaxTextFrameSize\)/);
    await producer.send({ data: Buffer.from('after') });
    expect(broker.latest('producer').received).toHaveLength(2);
  });

  it('a frame the broker refuses with 1009 fails its send and is never resent; the sends behind it go through', async () => {
    const broker = await startBroker({ maxTextFrameSize: 500 });
    const client = connect(broker, { initialBackoffMs: 20, maxBackoffMs: 100 });
    const producer = await client.createProducer({ topic: 't', sendTimeoutMs: 10_000 });
    const big = producer.send({ data: Buffer.alloc(600) }).catch((e: unknown) => e);
    const behind = producer.send({ data: Buffer.from('small') });
    const error = await big;
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect((error as Error).message).toMatch(/code 1009: Resulting message size \[\d+\] is too large for configured max of \[500\]/);
    expect((await behind).entryId).toBeGreaterThanOrEqual(0n);
    // The broker's limit now applies at send(): no frame is written, no connection lost.
    await expect(producer.send({ data: Buffer.alloc(600) })).rejects.toThrow(MessageTooLargeError);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(broker.sessions.reduce((sum, s) => sum + (s.refused ?? 0), 0)).toBe(1);
    expect(broker.sessions).toHaveLength(2);
  });

  it('backoff keeps growing when every connection closes right after opening', async () => {
    const broker = await startBroker({
      onAccept: (session) => {
        if (broker.sessions.length > 1) setTimeout(() => session.socket.close(1011, 'going away'), 1);
      },
    });
    const client = connect(broker, { initialBackoffMs: 20, maxBackoffMs: 1000 });
    await client.createProducer({ topic: 't' });
    await new Promise((resolve) => setTimeout(resolve, 10)); // the first session stays up
    broker.latest('producer').socket.close(1011, 'going away');
    const start = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const reconnects = broker.sessions.length - 1;
    // 20, 40, 80 ... 1000 ms with jitter: at most 9 attempts fit in 1.5 s; a backoff reset on every open makes about 75.
    expect(reconnects).toBeGreaterThanOrEqual(3);
    expect(reconnects).toBeLessThanOrEqual(9);
    expect(Date.now() - start).toBeGreaterThanOrEqual(1500);
  });

  it('rejects sends pending at the send timeout while the broker stays down', async () => {
    const broker = await startBroker({ autoAck: false });
    const client = connect(broker, { initialBackoffMs: 20, maxBackoffMs: 50 });
    const producer = await client.createProducer({ topic: 't', sendTimeoutMs: 300 });
    await broker.stop();
    await waitUntil(() => !producer.isConnected(), 2000, 'disconnect');
    await expect(producer.send({ data: Buffer.from('x') })).rejects.toThrow(SendTimeoutError);
    await broker.restart();
  });

  it('flush waits for earlier sends; close drains, then rejects new sends', async () => {
    const broker = await startBroker({ autoAck: false });
    const client = connect(broker);
    const producer = await client.createProducer({ topic: 't' });
    const sent = producer.send({ data: Buffer.from('a') });
    let flushed = false;
    const flushing = producer.flush().then(() => (flushed = true));
    const session = broker.latest('producer');
    await waitUntil(() => session.received.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(flushed).toBe(false);
    broker.ackProducer(session, String(session.received[0]!.context));
    await flushing;
    await sent;
    await expect(producer.flush()).resolves.toBeNull();
    await expect(producer.close()).resolves.toBeNull();
    await expect(producer.send({ data: Buffer.from('b') })).rejects.toThrow(ClosedError);
    expect(producer.isConnected()).toBe(false);
  });

  it('fails clearly on what the WebSocket API cannot do', async () => {
    const broker = await startBroker();
    const client = connect(broker);
    await expect(client.createProducer({ topic: 't', chunkingEnabled: true })).rejects.toThrow(NotSupportedByWebSocketError);
    await expect(client.createProducer({ topic: 't', encryptionKey: 'k' })).rejects.toThrow(/encryption/);
    await expect(client.createProducer({ topic: 't', messageRoutingMode: 'CustomPartition' })).rejects.toThrow(
      NotSupportedByWebSocketError,
    );
    const producer = await client.createProducer({ topic: 't', properties: {} });
    await expect(producer.send({ data: Buffer.from('x'), sequenceId: 5 })).rejects.toThrow(NotSupportedByWebSocketError);
    await expect(client.createProducer({ topic: 't', batchingType: 'KeyBasedBatching', batchingEnabled: true })).rejects.toThrow(
      NotSupportedByWebSocketError,
    );
  });

  it('accepts batchingType KeyBasedBatching with batching off, so a Key_Shared config written for pulsar-client works', async () => {
    const broker = await startBroker();
    const client = connect(broker);
    const producer = await client.createProducer({ topic: 't', batchingType: 'KeyBasedBatching' });
    expect(broker.latest('producer').query.get('batchingEnabled')).toBe('false');
    await producer.send({ data: Buffer.from('x'), partitionKey: 'k' });
  });
});
