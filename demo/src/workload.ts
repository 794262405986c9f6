/**
 * The demo workload: marketing events keyed by subscriber id, produced at a
 * target rate with skewed key popularity (a few hot subscribers), consumed by
 * several Key_Shared consumers whose processing time varies, with the odd
 * slow message (head-of-line blocking behind it) and the odd negative ack
 * (a redelivery). Works on any pulsar-client-compatible client; the demo
 * passes the WebSocket client wrapped by Keyscope.
 */
import type { WebSocketClient, WebSocketConsumer, WebSocketMessage, WebSocketProducer } from 'pulsar-keyscope/websocket';

export interface WorkloadOptions {
  client: WebSocketClient;
  topic: string;
  subscription: string;
  producers: number;
  consumers: number;
  /** Distinct subscriber ids (message keys). */
  keys: number;
  /** Messages per second over all producers. */
  ratePerSecond: number;
  /** Share of messages that take SLOW_PROCESSING_MS to process. */
  slowShare: number;
  /** Share of first deliveries that are negatively acknowledged (then redelivered). */
  nackShare: number;
}

export interface WorkloadStats {
  sent: number;
  sendErrors: number;
  received: number;
  acked: number;
  nacked: number;
}

const EVENT_TYPES = ['subscribed', 'product_viewed', 'cart_updated', 'checkout_started', 'order_placed'] as const;
const SLOW_PROCESSING_MS = 1_500;
const NEGATIVE_ACK_REDELIVERY_MS = 1_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Skewed key popularity: low subscriber numbers are picked far more often. */
function pickKey(keys: number): string {
  return `subscriber-${Math.floor(keys * Math.random() ** 3)}`;
}

export class Workload {
  readonly stats: WorkloadStats = { sent: 0, sendErrors: 0, received: 0, acked: 0, nacked: 0 };
  private readonly consumers: WebSocketConsumer[] = [];
  private readonly producers: WebSocketProducer[] = [];
  private readonly producing: Promise<void>[] = [];
  private running = false;

  constructor(private readonly options: WorkloadOptions) {}

  /** Subscribes the consumers first (so no message is missed), then starts producing. */
  async start(): Promise<void> {
    const { client, topic, subscription } = this.options;
    for (let index = 0; index < this.options.consumers; index++) {
      this.consumers.push(
        await client.subscribe({
          topic,
          subscription,
          subscriptionType: 'KeyShared',
          consumerName: `demo-consumer-${index}`,
          receiverQueueSize: 100,
          nAckRedeliverTimeoutMs: NEGATIVE_ACK_REDELIVERY_MS,
          listener: (message, consumer) => this.handle(message, consumer),
        }),
      );
    }
    for (let index = 0; index < this.options.producers; index++) {
      this.producers.push(
        await client.createProducer({ topic, producerName: `demo-producer-${index}-${process.pid}`, sendTimeoutMs: 10_000 }),
      );
    }
    this.running = true;
    const intervalMs = (1_000 * this.options.producers) / this.options.ratePerSecond;
    for (const producer of this.producers) this.producing.push(this.produce(producer, intervalMs));
  }

  private async produce(producer: WebSocketProducer, intervalMs: number): Promise<void> {
    let next = Date.now();
    while (this.running) {
      const key = pickKey(this.options.keys);
      const event = { type: EVENT_TYPES[Math.floor(Math.random() * EVENT_TYPES.length)], subscriber: key, at: new Date().toISOString() };
      try {
        await producer.send({ data: Buffer.from(JSON.stringify(event)), partitionKey: key });
        this.stats.sent++;
      } catch {
        this.stats.sendErrors++;
      }
      next += intervalMs;
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
      else next = Date.now();
    }
  }

  private async handle(message: WebSocketMessage, consumer: WebSocketConsumer): Promise<void> {
    this.stats.received++;
    const firstDelivery = message.getRedeliveryCount() === 0;
    if (firstDelivery && Math.random() < this.options.nackShare) {
      consumer.negativeAcknowledge(message);
      this.stats.nacked++;
      return;
    }
    await sleep(Math.random() < this.options.slowShare ? SLOW_PROCESSING_MS : 2 + Math.random() * 18);
    try {
      await consumer.acknowledge(message);
      this.stats.acked++;
    } catch {
      // The consumer is closing; the broker redelivers the message.
    }
  }

  /** Stops producing, gives consumers up to `drainMs` to catch up, closes everything. */
  async stop(drainMs = 5_000): Promise<void> {
    this.running = false;
    await Promise.all(this.producing);
    const deadline = Date.now() + drainMs;
    while (this.stats.acked < this.stats.sent && Date.now() < deadline) await sleep(100);
    await Promise.allSettled([...this.producers, ...this.consumers].map((closable) => closable.close()));
  }
}
