/**
 * The WebSocket client against the real broker's limits: the text frame limit
 * (webSocketMaxTextFrameSize, 1 MiB by default), checked at send() with the
 * broker's own byte count and never resent once the broker refused a frame;
 * and a reader on a missing tenant, which the broker answers with HTTP 500.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, LogLevel, MessageTooLargeError, WebSocketMessageId } from '../../src/websocket/index.js';
import type { WebSocketClient } from '../../src/websocket/index.js';
import { PULSAR_WEB_PORT, newClient, requireBroker, uniqueName, uniqueTopic } from './helpers/broker.js';

const BROKER_FRAME_LIMIT = 1_048_576;

let client: WebSocketClient;
beforeAll(async () => {
  await requireBroker();
  client = newClient();
});
afterAll(async () => {
  await client?.close();
});

/** What the broker answers to one raw producer frame: its ack, or the close code and reason. */
function brokerAnswer(topicPath: string, frame: string): Promise<{ ack?: string; closeCode?: number; closeReason?: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${PULSAR_WEB_PORT}/ws/v2/producer/${topicPath}`);
    socket.once('open', () => socket.send(frame));
    socket.once('message', (data) => {
      resolve({ ack: String(data) });
      socket.close();
    });
    socket.once('close', (closeCode, reason) => resolve({ closeCode, closeReason: reason.toString() }));
    socket.once('error', reject);
  });
}

describe('the text frame limit', () => {
  it('a frame of exactly the limit is sent and stored; one byte more is refused at send(), as the broker would', async () => {
    const topic = uniqueTopic('frame-limit');
    const producer = await client.createProducer({ topic });
    const data = Buffer.alloc(780_000, 7);
    // Too large by some bytes: the error says by how many, so the padding that lands on the limit exactly is known.
    const probe = await producer.send({ data, properties: { pad: 'x'.repeat(10_000) } }).catch((e: unknown) => e);
    expect(probe).toBeInstanceOf(MessageTooLargeError);
    const over = (probe as MessageTooLargeError).size - BROKER_FRAME_LIMIT;
    expect((probe as MessageTooLargeError).limit).toBe(BROKER_FRAME_LIMIT);
    const exact = 'x'.repeat(10_000 - over);
    const id = await producer.send({ data, properties: { pad: exact } });
    expect(id.entryId).toBeGreaterThanOrEqual(0n);
    const oneMore = await producer.send({ data, properties: { pad: `${exact}x` } }).catch((e: unknown) => e);
    expect(oneMore).toBeInstanceOf(MessageTooLargeError);
    expect((oneMore as MessageTooLargeError).size).toBe(BROKER_FRAME_LIMIT + 1);
    expect(producer.isConnected()).toBe(true);

    // The broker's own answer to the same sizes, by a raw socket: stored at the limit, 1009 one byte over.
    const path = topic.replace('persistent://', 'persistent/');
    const frame = (pad: string) => JSON.stringify({ context: '1', payload: data.toString('base64'), properties: { pad } });
    expect(Buffer.byteLength(frame(exact))).toBe(BROKER_FRAME_LIMIT);
    expect((await brokerAnswer(path, frame(exact))).ack).toMatch(/"result":"ok"/);
    const refused = await brokerAnswer(path, frame(`${exact}x`));
    expect(refused.closeCode).toBe(1009);
    expect(refused.closeReason).toBe(
      `Resulting message size [${BROKER_FRAME_LIMIT + 1}] is too large for configured max of [${BROKER_FRAME_LIMIT}]`,
    );
    await producer.close();
  });

  it("configured above the broker's limit: the refused send fails promptly, is never resent, and the send behind it is stored", async () => {
    const reconnects: string[] = [];
    const lenient = newClient({
      webSocketMaxTextFrameSize: 4 * BROKER_FRAME_LIMIT,
      initialBackoffMs: 50,
      maxBackoffMs: 500,
      logLevel: LogLevel.INFO,
      log: (_level, _file, _line, message) => {
        if (message.includes('reconnected')) reconnects.push(message);
      },
    });
    try {
      const producer = await lenient.createProducer({ topic: uniqueTopic('frame-refused'), sendTimeoutMs: 30_000 });
      const started = Date.now();
      const big = producer.send({ data: Buffer.alloc(1_000_000) }).catch((e: unknown) => e);
      const behind = producer.send({ data: Buffer.from('small') });
      const error = await big;
      expect(error).toBeInstanceOf(MessageTooLargeError);
      expect((error as Error).message).toMatch(/code 1009/);
      expect((await behind).entryId).toBeGreaterThanOrEqual(0n);
      expect(Date.now() - started).toBeLessThan(10_000);
      // The broker often cuts the connection before its 1009 close frame arrives (seen as 1006, the
      // frame then resent like any other), so a few reconnects may precede it; the backoff grows meanwhile.
      const reconnectsBefore = reconnects.length;
      console.log(`frame refused by the broker after ${reconnectsBefore} reconnects, ${Date.now() - started} ms`);
      expect(reconnectsBefore).toBeGreaterThanOrEqual(1);
      expect(reconnectsBefore).toBeLessThanOrEqual(10);
      // Learned: the next one fails at send() without costing a connection.
      const again = await producer.send({ data: Buffer.alloc(1_000_000) }).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(MessageTooLargeError);
      expect((again as MessageTooLargeError).limit).toBe(BROKER_FRAME_LIMIT);
      await producer.send({ data: Buffer.from('still fine') });
      expect(reconnects.length).toBe(reconnectsBefore);
      await producer.close();
    } finally {
      await lenient.close();
    }
  });
});

describe('a reader on a missing tenant', () => {
  it('fails at once with a 404-style ConnectionError (the broker answers 500), like producers and consumers', async () => {
    const topic = `persistent://${uniqueName('no-such-tenant')}/ns/t`;
    for (const open of [
      () => client.createReader({ topic, startMessageId: WebSocketMessageId.earliest() }),
      () => client.createProducer({ topic }),
      () => client.subscribe({ topic, subscription: 's' }),
    ]) {
      const started = Date.now();
      const error = await open().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).status).toBe(404);
      expect(Date.now() - started).toBeLessThan(3_000);
    }
  });
});
