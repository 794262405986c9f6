/**
 * The consumer's connection to the real broker goes through a TCP proxy on
 * loopback that drops it several times while messages are unacknowledged.
 * The broker then redelivers those messages to the reconnected consumer with
 * redelivery count 0. Keyscope must see them as redeliveries (by message id):
 * counted in keyscope_redeliveries_total, never as `reorder`, and the first
 * deliveries they replace must not stay in flight as stalls.
 *
 * The application is a common at-least-once consumer: it holds each message
 * for a while, keeps only the newest copy of a message id it already holds,
 * and acknowledges that copy.
 */
import net from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyscope, SEQ_PROPERTY } from '../../src/index.js';
import type { WebSocketClient, WebSocketMessage } from '../../src/websocket/index.js';
import { testTracing, type TestTracing } from '../support/otel.js';
import { PULSAR_WEB_PORT, newClient, requireBroker, sleep, uniqueTopic, waitFor } from './helpers/broker.js';

/** Forwards loopback connections to the broker's web port; drop() cuts every one of them. */
class DroppingProxy {
  private readonly server = net.createServer((downstream) => this.forward(downstream));
  private readonly sockets = new Set<net.Socket>();
  drops = 0;

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  drop(): number {
    const cut = this.sockets.size;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.drops++;
    return cut;
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(downstream: net.Socket): void {
    const upstream = net.connect(PULSAR_WEB_PORT, '127.0.0.1');
    for (const [from, to] of [
      [downstream, upstream],
      [upstream, downstream],
    ] as const) {
      this.sockets.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }
}

const DROPS = 5;
const HOLD_MS = 400;
const STALL_THRESHOLD_MS = 2000;

let keyscope: Keyscope;
let registry: Registry;
let tracing: TestTracing;
let direct: WebSocketClient;
let proxied: WebSocketClient;
let proxy: DroppingProxy;

beforeAll(async () => {
  await requireBroker();
  tracing = testTracing();
  registry = new Registry();
  keyscope = new Keyscope({ registry, tracerProvider: tracing.provider, stallThresholdMs: STALL_THRESHOLD_MS, sweepIntervalMs: 200 });
  proxy = new DroppingProxy();
  const proxyPort = await proxy.listen();
  direct = keyscope.instrumentClient(newClient());
  proxied = keyscope.instrumentClient(
    newClient({ serviceUrl: `http://127.0.0.1:${proxyPort}`, initialBackoffMs: 50, maxBackoffMs: 400, logLevel: 3, log: () => undefined }),
  );
});

afterAll(async () => {
  await proxied?.close();
  await direct?.close();
  await proxy?.close();
  keyscope?.close();
});

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (found?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('connection drops while messages are unacknowledged', () => {
  it('counts the redeliveries, reports no false reorder and leaves nothing stalled', { timeout: 120_000 }, async () => {
    const topic = uniqueTopic('drop');
    const subscription = 'drop';
    const labels = { topic, subscription };
    const consumer = await proxied.subscribe({
      topic,
      subscription,
      subscriptionType: 'KeyShared',
      subscriptionInitialPosition: 'Earliest',
    });
    const producer = await direct.createProducer({ topic });

    // What the application saw, judged by message id as the broker assigns it.
    const seenIds = new Set<string>();
    let deliveries = 0;
    let redeliveries = 0;
    let firstDeliveryReorders = 0;
    const lastSeqOfKey = new Map<string, number>();
    const held = new Map<string, { message: WebSocketMessage; ackAt: number }>();
    const acked = new Set<string>();
    let lastDeliveryAt = Date.now();

    let receiving = true;
    const receiveLoop = (async () => {
      while (receiving) {
        let message: WebSocketMessage;
        try {
          message = await consumer.receive(200);
        } catch (error) {
          if ((error as Error).name === 'ReceiveTimeoutError') continue;
          throw error;
        }
        deliveries++;
        lastDeliveryAt = Date.now();
        const id = message.getMessageId().toString();
        if (seenIds.has(id) || message.getRedeliveryCount() > 0) redeliveries++;
        else {
          seenIds.add(id);
          const key = message.getPartitionKey();
          const seq = Number(message.getProperties()[SEQ_PROPERTY]);
          if (seq < (lastSeqOfKey.get(key) ?? 0)) firstDeliveryReorders++;
          lastSeqOfKey.set(key, Math.max(seq, lastSeqOfKey.get(key) ?? 0));
        }
        // The newest copy of a message id replaces the one held.
        held.set(id, { message, ackAt: Date.now() + HOLD_MS });
      }
    })();
    const ackLoop = (async () => {
      while (receiving || held.size > 0) {
        const now = Date.now();
        for (const [id, entry] of held) {
          if (entry.ackAt > now) continue;
          held.delete(id);
          await consumer.acknowledge(entry.message);
          acked.add(entry.message.getData().toString());
        }
        await sleep(20);
      }
    })();

    // About 250 messages a second over 40 keys, with drops while many are held.
    const sent = new Set<string>();
    let sequence = 0;
    const sendLoop = (async () => {
      const until = Date.now() + 1000 * (DROPS + 1);
      while (Date.now() < until) {
        const sends: Promise<unknown>[] = [];
        for (let i = 0; i < 10; i++) {
          const payload = `m-${sequence}`;
          sends.push(producer.send({ data: Buffer.from(payload), partitionKey: `k-${sequence % 40}` }).then(() => sent.add(payload)));
          sequence++;
        }
        await Promise.all(sends);
        await sleep(40);
      }
    })();
    for (let drop = 0; drop < DROPS; drop++) {
      await sleep(900);
      await waitFor(() => consumer.isConnected() && held.size > 0, 20_000, 'the consumer to reconnect and hold messages');
      proxy.drop();
    }
    await sendLoop;
    await waitFor(() => [...sent].every((payload) => acked.has(payload)), 60_000, 'every sent message to be acknowledged');
    await waitFor(() => held.size === 0 && Date.now() - lastDeliveryAt > 2000, 30_000, 'redeliveries to stop');
    receiving = false;
    await receiveLoop;
    await ackLoop;
    await sleep(STALL_THRESHOLD_MS + 300);
    keyscope.sweep();

    const figures = {
      sent: sent.size,
      deliveries,
      drops: proxy.drops,
      realRedeliveries: redeliveries,
      realFirstDeliveryReorders: firstDeliveryReorders,
      keyscopeReceived: await metric('keyscope_messages_received_total', labels),
      keyscopeRedeliveries: await metric('keyscope_redeliveries_total', labels),
      keyscopeReorder: await metric('keyscope_ordering_violations_total', { ...labels, kind: 'reorder' }),
      keyscopeRedeliveryReorder: await metric('keyscope_ordering_violations_total', { ...labels, kind: 'redelivery_reorder' }),
      keyscopeInflight: await metric('keyscope_inflight_messages', labels),
      keyscopeStalled: await metric('keyscope_stalled_messages', labels),
      keyscopeStallsTotal: await metric('keyscope_stalls_total', labels),
      openProcessSpans: deliveries - tracing.byName(`process ${topic}`).length,
    };
    console.log('connection-drop figures', JSON.stringify(figures));

    // The proxy really cut connections with messages held, and the broker really redelivered.
    expect(figures.drops).toBe(DROPS);
    expect(figures.realRedeliveries).toBeGreaterThan(0);
    expect(figures.realFirstDeliveryReorders).toBe(0);
    expect(figures.keyscopeReceived).toBe(deliveries);
    expect(figures.keyscopeRedeliveries).toBe(figures.realRedeliveries);
    expect(figures.keyscopeReorder).toBe(0);
    expect(figures.keyscopeInflight).toBe(0);
    expect(figures.keyscopeStalled).toBe(0);
    expect(figures.openProcessSpans).toBe(0);
    await consumer.close();
    await producer.close();
  });
});
