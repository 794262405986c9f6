/**
 * The broker is stopped and started again while a producer and a consumer run.
 * Both must recover by themselves, and every message whose send resolved must
 * reach the consumer (duplicates are allowed: delivery is at-least-once).
 *
 * Slow (a broker restart takes tens of seconds), so it lives in its own file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketMessageId } from '../../src/websocket/index.js';
import type { WebSocketClient } from '../../src/websocket/index.js';
import { brokerHealthy, newClient, requireBroker, runNpmScript, sleep, uniqueTopic, waitFor } from './helpers/broker.js';

let client: WebSocketClient;

beforeAll(async () => {
  await requireBroker();
  client = newClient({ initialBackoffMs: 200, maxBackoffMs: 2000, logLevel: 2, log: () => undefined });
});

afterAll(async () => {
  await client?.close();
  // Leave a running broker behind for the tests after this one, whatever happened.
  if (!(await brokerHealthy())) await runNpmScript('pulsar:start', 240_000);
});

describe('broker restart mid-stream', () => {
  it('producer and consumer recover; no message whose send resolved is lost', { timeout: 420_000 }, async () => {
    const topic = uniqueTopic('restart');
    const received = new Map<string, number>();
    const consumer = await client.subscribe({
      topic,
      subscription: 'restart',
      subscriptionType: 'KeyShared',
      subscriptionInitialPosition: 'Earliest',
      listener: async (message, c) => {
        const payload = message.getData().toString();
        received.set(payload, (received.get(payload) ?? 0) + 1);
        await c.acknowledge(message);
      },
    });
    // A reader resumes after the last message it handed out: every entry exactly once.
    const readIds: string[] = [];
    const readPayloads = new Set<string>();
    const reader = await client.createReader({
      topic,
      startMessageId: WebSocketMessageId.earliest(),
      listener: (message) => {
        readIds.push(message.getMessageId().toString());
        readPayloads.add(message.getData().toString());
      },
    });
    const producer = await client.createProducer({ topic, sendTimeoutMs: 180_000, maxPendingMessages: 200, blockIfQueueFull: true });

    const resolved = new Set<string>();
    const rejected = new Map<string, string>();
    const inFlight = new Set<Promise<void>>();
    let sending = true;
    let sequence = 0;
    let issuedWhileDown = 0;
    const sendLoop = (async () => {
      while (sending) {
        const payload = `m-${sequence++}`;
        if (!producer.isConnected()) issuedWhileDown++;
        const send = producer.send({ data: Buffer.from(payload), partitionKey: `k-${sequence % 37}` }).then(
          () => void resolved.add(payload),
          (error: Error) => void rejected.set(payload, error.name),
        );
        const tracked = send.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
        // About 200 messages per second; while the broker is down, sends queue up to
        // maxPendingMessages and then wait (blockIfQueueFull).
        if (inFlight.size >= 200) await Promise.race(inFlight);
        else await sleep(5);
      }
    })();

    await waitFor(() => resolved.size >= 200, 30_000, 'traffic before the restart');
    const resolvedBeforeStop = resolved.size;
    await runNpmScript('pulsar:stop', 120_000);
    await waitFor(() => !producer.isConnected() && !consumer.isConnected(), 30_000, 'both sides to notice the stop');
    await sleep(1000);
    await runNpmScript('pulsar:start', 240_000);
    await waitFor(() => producer.isConnected() && consumer.isConnected(), 60_000, 'both sides to reconnect');
    const resolvedAtRestart = resolved.size;
    await waitFor(() => resolved.size >= resolvedAtRestart + 300, 60_000, 'traffic after the restart');
    sending = false;
    await sendLoop;
    await Promise.all(inFlight);

    await waitFor(() => [...resolved].every((p) => received.has(p)), 90_000, 'every acknowledged send to be consumed');
    await waitFor(() => [...resolved].every((p) => readPayloads.has(p)), 30_000, 'the reader to read every acknowledged send');
    const duplicates = [...received.values()].filter((n) => n > 1).length;
    console.log(
      `restart test: ${sequence} sends (${issuedWhileDown} issued while disconnected), ${resolved.size} resolved (${resolvedBeforeStop} before the stop), ` +
        `${rejected.size} rejected ${JSON.stringify([...new Set(rejected.values())])}, ` +
        `${received.size} distinct received, ${duplicates} delivered more than once; reader read ${readIds.length} entries`,
    );
    expect(issuedWhileDown).toBeGreaterThan(0); // the queue-and-resend path was exercised
    expect(resolved.size).toBeGreaterThan(resolvedBeforeStop);
    expect([...resolved].filter((p) => !received.has(p))).toEqual([]);
    expect(readIds.length).toBe(new Set(readIds).size); // no entry read twice across the restart
    expect(reader.isConnected()).toBe(true);
    expect(producer.isConnected()).toBe(true);
    expect(consumer.isConnected()).toBe(true);
    await producer.close();
    await consumer.close();
    await reader.close();
  });
});
