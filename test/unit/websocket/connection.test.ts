import { afterEach, describe, expect, it } from 'vitest';
import {
  ClosedError,
  ConnectionError,
  InvalidConfigurationError,
  NotSupportedByWebSocketError,
  WebSocketClient,
} from '../../../src/websocket/index.js';
import { backoffDelay } from '../../../src/websocket/connection.js';
import { FakeBroker, waitUntil } from './fake-broker.js';

const quiet = { log: () => undefined };
let broker: FakeBroker | undefined;
let client: WebSocketClient | undefined;

afterEach(async () => {
  await client?.close();
  await broker?.close();
  client = undefined;
  broker = undefined;
});

describe('connection', () => {
  it('sends the token as an Authorization: Bearer header; a provider is called per connect', async () => {
    broker = await FakeBroker.start();
    let calls = 0;
    client = new WebSocketClient({ serviceUrl: broker.url, token: async () => `t${++calls}`, ...quiet });
    await client.createProducer({ topic: 'a' });
    await client.subscribe({ topic: 'a', subscription: 's' });
    expect(broker.sessions.map((s) => s.headers.authorization)).toEqual(['Bearer t1', 'Bearer t2']);
  });

  it.each([
    [401, /authentication failed.*token/],
    [403, /not authorized/],
    [404, /not found/],
    [409, /Exclusive consumer is already connected/],
  ])('maps a refused upgrade with HTTP %i to a ConnectionError at once', async (status, pattern) => {
    broker = await FakeBroker.start({
      refuse: () => ({
        status,
        body: '<html><body><pre>Failed to create producer/consumer: {&quot;errorMsg&quot;:&quot;Exclusive consumer is already connected&quot;}</pre></body></html>',
      }),
    });
    client = new WebSocketClient({ serviceUrl: broker.url, operationTimeoutSeconds: 10, ...quiet });
    const started = Date.now();
    const error = await client.subscribe({ topic: 't', subscription: 's' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).status).toBe(status);
    expect((error as Error).message).toMatch(pattern);
    expect(Date.now() - started).toBeLessThan(2000); // not retried
  });

  it('retries transient failures on first connect until it works', async () => {
    let refusals = 2;
    broker = await FakeBroker.start({ refuse: () => (refusals-- > 0 ? { status: 503 } : undefined) });
    client = new WebSocketClient({ serviceUrl: broker.url, initialBackoffMs: 10, ...quiet });
    const producer = await client.createProducer({ topic: 't' });
    expect(producer.isConnected()).toBe(true);
    expect(refusals).toBeLessThan(0);
  });

  it('gives up after operationTimeoutSeconds when nothing listens', async () => {
    const stopped = await FakeBroker.start();
    const url = stopped.url;
    await stopped.close();
    client = new WebSocketClient({ serviceUrl: url, operationTimeoutSeconds: 0.5, initialBackoffMs: 20, ...quiet });
    const started = Date.now();
    const error = await client.createProducer({ topic: 't' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/operationTimeoutSeconds=0.5.*WebSocket service/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('client.close() stops a first connect that is still retrying', async () => {
    broker = await FakeBroker.start({ refuse: () => ({ status: 503 }) });
    client = new WebSocketClient({ serviceUrl: broker.url, initialBackoffMs: 20, ...quiet });
    const connecting = client.createProducer({ topic: 't' }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await client.close();
    expect((await connecting) as Error).toBeInstanceOf(ClosedError);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('close() while reconnecting clears the reconnect timer, so nothing keeps the process alive', async () => {
    const refTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    broker = await FakeBroker.start();
    const baseline = refTimers();
    client = new WebSocketClient({ serviceUrl: broker.url, initialBackoffMs: 500, maxBackoffMs: 500, ...quiet });
    const producer = await client.createProducer({ topic: 't' });
    const consumer = await client.subscribe({ topic: 't', subscription: 's' });
    await broker.stop();
    await waitUntil(() => !producer.isConnected() && !consumer.isConnected(), 2000, 'disconnect');
    // While reconnecting, the reconnect timers hold the process (as open sockets would).
    expect(refTimers()).toBeGreaterThan(baseline);
    await client.close();
    expect(refTimers()).toBe(baseline);
    await broker.restart();
  });

  it('validates the client config', () => {
    expect(() => new WebSocketClient({ serviceUrl: 'pulsar://localhost:6650' })).toThrow(/http\(s\)/);
    expect(() => new WebSocketClient({ serviceUrl: '' })).toThrow(InvalidConfigurationError);
    expect(() => new WebSocketClient({ serviceUrl: 'http://x', authentication: {} })).toThrow(NotSupportedByWebSocketError);
    expect(() => new WebSocketClient({ serviceUrl: 'http://x', operationTimeoutSeconds: -1 })).toThrow(InvalidConfigurationError);
  });

  it('accepts ws:// and a path prefix', async () => {
    broker = await FakeBroker.start();
    client = new WebSocketClient({ serviceUrl: `ws://127.0.0.1:${broker.port}/`, ...quiet });
    await client.createProducer({ topic: 't' });
    expect(broker.latest('producer').path).toBe('/ws/v2/producer/persistent/public/default/t');
  });

  it('backs off exponentially with jitter, bounded by the maximum', () => {
    expect([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, 100, 5000, 1))).toEqual([100, 200, 400, 800]);
    expect([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, 100, 5000, 0))).toEqual([50, 100, 200, 400]);
    expect(backoffDelay(50, 100, 5000, 1)).toBe(5000);
    expect(backoffDelay(1000, 100, 5000, 0.5)).toBe(3750);
  });
});
