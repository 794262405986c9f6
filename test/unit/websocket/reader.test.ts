import { describe, expect, it } from 'vitest';
import {
  ConnectionError,
  InvalidConfigurationError,
  NotSupportedByWebSocketError,
  ReceiveTimeoutError,
  WebSocketMessageId,
} from '../../../src/websocket/index.js';
import { messageIdBase64, waitUntil } from './fake-broker.js';
import { closeOpenedAfterEach, connect, startBroker } from './session-setup.js';

closeOpenedAfterEach();

describe('WebSocketReader', () => {
  it('opens the reader endpoint at the start position and frees the push window as messages are taken', async () => {
    const broker = await startBroker();
    const client = connect(broker);
    const reader = await client.createReader({
      topic: 't',
      startMessageId: WebSocketMessageId.earliest(),
      receiverQueueSize: 5000,
      readerName: 'r',
    });
    const session = broker.latest('reader');
    expect(session.path).toBe('/ws/v2/reader/persistent/public/default/t');
    expect(Object.fromEntries(session.query)).toEqual({ receiverQueueSize: '1000', readerName: 'r', messageId: 'earliest' });
    const id = broker.deliver(session, { payload: 'one' });
    const message = await reader.readNext(1000);
    expect(message.getData().toString()).toBe('one');
    await waitUntil(() => session.received.length === 1);
    expect(session.received[0]).toEqual({ messageId: id });
    await expect(reader.readNext(30)).rejects.toThrow(ReceiveTimeoutError);
  });

  it('keeps frames the endpoint pushes right after the upgrade', async () => {
    const broker = await startBroker({
      onAccept: (session, b) => {
        for (const payload of ['first', 'second']) b.deliver(session, { payload });
      },
    });
    const client = connect(broker);
    const reader = await client.createReader({ topic: 't', startMessageId: WebSocketMessageId.earliest() });
    expect((await reader.readNext(1000)).getData().toString()).toBe('first');
    expect((await reader.readNext(1000)).getData().toString()).toBe('second');
  });

  it('resumes after the last message taken when the connection comes back', async () => {
    const broker = await startBroker();
    const client = connect(broker, { initialBackoffMs: 20, maxBackoffMs: 50 });
    const start = WebSocketMessageId.fromBase64(messageIdBase64(1000));
    const reader = await client.createReader({ topic: 't', startMessageId: start });
    expect(broker.latest('reader').query.get('messageId')).toBe(messageIdBase64(1000));
    const first = broker.latest('reader');
    const takenId = broker.deliver(first, { payload: 'taken' });
    await reader.readNext(1000);
    broker.deliver(first, { payload: 'buffered, not taken' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await broker.stop();
    await waitUntil(() => !reader.isConnected(), 2000, 'disconnect');
    await broker.restart();
    await waitUntil(() => broker.sessions.length === 2, 5000, 'reconnect');
    expect(broker.latest('reader').query.get('messageId')).toBe(takenId);
    await expect(reader.readNext(30)).rejects.toThrow(ReceiveTimeoutError); // the buffer was dropped
  });

  it('fails at once, as a 404, when the broker answers a missing namespace with 500 (as the reader endpoint does)', async () => {
    // The body the broker sends: an HTML page whose title nests the Pulsar error.
    const body =
      '<html><head><title>Error 500 Failed to create reader: {&quot;errorMsg&quot;:&quot;Namespace not found&quot;,&quot;reqId&quot;:1}</title></head></html>';
    const broker = await startBroker({ refuse: () => ({ status: 500, body }) });
    const client = connect(broker, { operationTimeoutSeconds: 5, initialBackoffMs: 20, maxBackoffMs: 50 });
    const started = Date.now();
    const error = await client
      .createReader({ topic: 'persistent://missing/ns/t', startMessageId: WebSocketMessageId.earliest() })
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).status).toBe(404);
    expect((error as ConnectionError).retriable).toBe(false);
    expect((error as Error).message).toMatch(/HTTP 500, taken as 404: topic, namespace .* not found.*Namespace not found/);
    expect(broker.sessions).toHaveLength(0);
  });

  it('calls a listener and rejects what it cannot do', async () => {
    const broker = await startBroker();
    const client = connect(broker);
    const seen: string[] = [];
    const reader = await client.createReader({
      topic: 't',
      startMessageId: WebSocketMessageId.latest(),
      listener: (message) => void seen.push(message.getData().toString()),
    });
    expect(broker.latest('reader').query.get('messageId')).toBe('latest');
    broker.deliver(broker.latest('reader'), { payload: 'a' });
    broker.deliver(broker.latest('reader'), { payload: 'b' });
    await waitUntil(() => seen.length === 2);
    expect(seen).toEqual(['a', 'b']);
    await expect(reader.readNext()).rejects.toThrow(InvalidConfigurationError);
    expect(() => reader.hasNext()).toThrow(NotSupportedByWebSocketError);
    await expect(reader.seek(WebSocketMessageId.earliest())).rejects.toThrow(NotSupportedByWebSocketError);
    await expect(client.createReader({ topic: 't', startMessageId: WebSocketMessageId.earliest(), readCompacted: true })).rejects.toThrow(
      NotSupportedByWebSocketError,
    );
  });
});
