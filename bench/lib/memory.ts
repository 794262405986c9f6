/**
 * What tracking costs in heap bytes: one idle tracked key, and one message
 * in flight (received, not yet settled). Measured as the heap growth over
 * many of them between two full collections, in this process.
 */
import { AlwaysOnSampler, NoopSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { Keyscope } from '../../src/index.js';
import { Tracker } from '../../src/tracking/tracker.js';
import { FakeClient, type FakeMessage } from '../../testing/fake-pulsar.js';
import { exposeGc } from '../../testing/gc.js';

const TOPIC = 'persistent://public/default/bench-memory';
const TRACKED_KEYS = 200_000;
const INFLIGHT_MESSAGES = 100_000;
/** Keys of the in-flight measurement: few, so the key states add nothing measurable per message. */
const INFLIGHT_KEYS = 100;

function heapAfterFullGc(): number {
  const gc = exposeGc();
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Bytes per idle tracked key (its state and its entry in the lookup map; the key string is the message's). */
export function bytesPerTrackedKey(): { bytes: number; keys: number } {
  const count = TRACKED_KEYS;
  const tracker = new Tracker({ maxTrackedKeys: count, stallThresholdMs: 30_000, topStalledKeys: 10 });
  const stream = tracker.stream(TOPIC, 'bench');
  // Key strings as they arrive with messages: fresh strings, not literals, held before measuring.
  const incoming = Array.from({ length: count }, (_, i) => `customer-${i}`.split('').join(''));
  const before = heapAfterFullGc();
  for (let i = 0; i < count; i++) tracker.settle(tracker.deliver(stream, incoming[i], 'Xq3_bench-prod', i + 1, 0, i));
  const after = heapAfterFullGc();
  if (tracker.keys.size !== count) throw new Error('tracker did not keep every key');
  return { bytes: (after - before) / count, keys: count };
}

/**
 * Heap growth per message received and held, not settled, through `client`.
 * The messages are published first and the held array is allocated first, so
 * the growth is what receiving adds on top of the message itself.
 */
async function growthPerHeldMessage(client: FakeClient): Promise<number> {
  const producer = await client.createProducer({ topic: TOPIC });
  const consumer = await client.subscribe({ topic: TOPIC, subscription: 'bench-memory', subscriptionType: 'KeyShared' });
  const payload = Buffer.from('{"event":"cart_updated"}');
  for (let i = 0; i < INFLIGHT_MESSAGES; i++) {
    await producer.send({ data: payload, partitionKey: `customer-${i % INFLIGHT_KEYS}`, properties: { app: 'bench' } });
  }
  const held: FakeMessage[] = new Array<FakeMessage>(INFLIGHT_MESSAGES);
  // One message per key first, so that the key states exist before measuring.
  for (let i = 0; i < INFLIGHT_KEYS; i++) held[i] = await consumer.receive();
  const before = heapAfterFullGc();
  for (let i = INFLIGHT_KEYS; i < INFLIGHT_MESSAGES; i++) held[i] = await consumer.receive();
  const after = heapAfterFullGc();
  if (held.length !== INFLIGHT_MESSAGES) throw new Error('messages went missing');
  return (after - before) / (INFLIGHT_MESSAGES - INFLIGHT_KEYS);
}

/**
 * Bytes per in-flight message beyond the raw client's: with tracing off
 * (what maxInflightMessages bounds), and with a recording process span held
 * open until the message settles (the span itself is the SDK's).
 */
export async function bytesPerInflightMessage(): Promise<{ untraced: number; traced: number; messages: number }> {
  const raw = await growthPerHeldMessage(new FakeClient());
  const measure = async (tracerProvider: TracerProvider | undefined): Promise<number> => {
    const keyscope = new Keyscope({
      registry: new Registry(),
      maxInflightMessages: INFLIGHT_MESSAGES,
      sweepIntervalMs: 3_600_000,
      ...(tracerProvider === undefined ? {} : { tracerProvider }),
    });
    try {
      return (await growthPerHeldMessage(keyscope.instrumentClient(new FakeClient()))) - raw;
    } finally {
      keyscope.close();
    }
  };
  const untraced = await measure(undefined);
  const traced = await measure(new TracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new NoopSpanProcessor()] }));
  return { untraced, traced, messages: INFLIGHT_MESSAGES - INFLIGHT_KEYS };
}
