/**
 * A failed operation sets span status ERROR (with a message) besides
 * `error.type`, as the OpenTelemetry conventions ask, while the application
 * still sees its own error exactly as it was thrown.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeConsumer, FakeMessage, FakeProducer, FakeReader } from '../../testing/fake-pulsar.js';
import { harness, settle, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(() => h?.keyscope.close());

class PaymentDeclinedError extends Error {
  override name = 'PaymentDeclinedError';
}

async function receiveOne(current: Harness): Promise<{ consumer: FakeConsumer; message: FakeMessage }> {
  const consumer = await current.client.subscribe({ topic: 't', subscription: 's' });
  const producer = await current.client.createProducer({ topic: 't' });
  await producer.send({ data: Buffer.from('x'), partitionKey: 'k' });
  return { consumer, message: await consumer.receive() };
}

function processSpan(current: Harness) {
  const spans = current.tracing.byName('process t');
  expect(spans).toHaveLength(1);
  return spans[0];
}

describe('process span of a failed handler', () => {
  it("process(): a rejecting handler sets status ERROR and process() rejects with the handler's own error", async () => {
    h = harness();
    const { consumer, message } = await receiveOne(h);
    const failure = new PaymentDeclinedError('card expired');
    const outcome = h.keyscope.process(message, async () => {
      await consumer.acknowledge(message);
      throw failure;
    });
    await expect(outcome).rejects.toBe(failure);
    await settle();
    const span = processSpan(h);
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'card expired' });
    expect(span?.attributes['error.type']).toBe('PaymentDeclinedError');
  });

  it('process(): a synchronously throwing handler sets status ERROR and the same error is rethrown', async () => {
    h = harness();
    const { consumer, message } = await receiveOne(h);
    const failure = new RangeError('bad amount');
    let thrown: unknown;
    try {
      h.keyscope.process(message, () => {
        throw failure;
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBe(failure);
    // The span ends at settle, after the window: the status set at window close survives the ack.
    await consumer.acknowledge(message);
    const span = processSpan(h);
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'bad amount' });
    expect(span?.attributes['error.type']).toBe('RangeError');
  });

  it('process(): a rejection with a non-Error value still fails the span', async () => {
    h = harness();
    const { consumer, message } = await receiveOne(h);
    const outcome = h.keyscope.process(message, () => Promise.reject('plain string reason'));
    await expect(outcome).rejects.toBe('plain string reason');
    await consumer.acknowledge(message);
    await settle();
    const span = processSpan(h);
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'plain string reason' });
    expect(span?.attributes['error.type']).toBe('string');
  });

  it('process(): a rejection with undefined or a hostile error object still fails the span and ends it', async () => {
    h = harness();
    const consumer = await h.client.subscribe({ topic: 't', subscription: 's' });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('1'), partitionKey: 'k' });
    await producer.send({ data: Buffer.from('2'), partitionKey: 'k' });
    const first = await consumer.receive();
    const second = await consumer.receive();
    await expect(h.keyscope.process(first, () => Promise.reject(undefined))).rejects.toBeUndefined();
    const hostile = new Error('x');
    Object.defineProperty(hostile, 'name', {
      get() {
        throw new Error('hostile getter');
      },
    });
    await expect(h.keyscope.process(second, () => Promise.reject(hostile))).rejects.toBe(hostile);
    await consumer.acknowledge(first);
    await consumer.acknowledge(second);
    await settle();
    const spans = h.tracing.byName('process t');
    expect(spans).toHaveLength(2);
    for (const span of spans) expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("listener: a rejecting listener sets status ERROR; the client sees the listener's own rejection", async () => {
    h = harness();
    const failure = new PaymentDeclinedError('insufficient funds');
    const seen: unknown[] = [];
    const rawSubscribe = h.rawClient.subscribe.bind(h.rawClient);
    // Observe what the client gets back from the (wrapped) listener.
    h.rawClient.subscribe = (config) => {
      const wrapped = config.listener;
      return rawSubscribe(
        wrapped === undefined
          ? config
          : {
              ...config,
              listener: (message: FakeMessage, consumer: FakeConsumer) => {
                const result = wrapped(message, consumer) as Promise<void>;
                result.catch((error: unknown) => seen.push(error));
                return result;
              },
            },
      );
    };
    await h.client.subscribe({
      topic: 't',
      subscription: 's',
      listener: async (message: FakeMessage, consumer: FakeConsumer) => {
        await consumer.acknowledge(message);
        throw failure;
      },
    });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('x'), partitionKey: 'k' });
    await settle();
    expect(seen).toEqual([failure]);
    const span = processSpan(h);
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'insufficient funds' });
    expect(span?.attributes['error.type']).toBe('PaymentDeclinedError');
  });

  it('a handler that succeeds leaves the status UNSET', async () => {
    h = harness();
    const { consumer, message } = await receiveOne(h);
    await h.keyscope.process(message, () => consumer.acknowledge(message));
    await settle();
    const span = processSpan(h);
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    expect(span?.attributes['error.type']).toBeUndefined();
  });
});

describe('process span of a failed reader listener', () => {
  it("an async reader listener that rejects sets status ERROR, and its span covers the listener's work", async () => {
    h = harness();
    const failure = new PaymentDeclinedError('reader failed');
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await h.client.createReader({
      topic: 't',
      listener: (async () => {
        await gate;
        throw failure;
      }) as unknown as (message: FakeMessage, reader: FakeReader) => void,
    });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('x'), partitionKey: 'k' });
    await settle();
    expect(h.tracing.byName('process t')).toHaveLength(0);
    release();
    await settle();
    const span = processSpan(h);
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'reader failed' });
    expect(span?.attributes['error.type']).toBe('PaymentDeclinedError');
  });

  it('a synchronously throwing reader listener sets status ERROR', async () => {
    h = harness();
    await h.client.createReader({
      topic: 't',
      listener: () => {
        throw new RangeError('bad read');
      },
    });
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('x'), partitionKey: 'k' });
    await settle();
    const span = processSpan(h);
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'bad read' });
  });
});

describe('send span of a failed send', () => {
  it("a rejected send sets status ERROR with the message; send() rejects with the client's own error", async () => {
    h = harness();
    const raw = await h.rawClient.createProducer({ topic: 't' });
    const producer = h.keyscope.instrumentProducer(raw);
    const failure = new Error('producer queue is full');
    raw.failNextSend = failure;
    await expect(producer.send({ data: Buffer.from('x') })).rejects.toBe(failure);
    const [span] = h.tracing.byName('send t');
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'producer queue is full' });
    expect(span?.attributes['error.type']).toBe('Error');
  });

  it('a send that throws synchronously sets status ERROR and the same error is rethrown', async () => {
    h = harness();
    const raw = await h.rawClient.createProducer({ topic: 't' });
    const failure = new TypeError('producer is closed');
    const throwing = Object.assign(Object.create(raw) as FakeProducer, {
      send: () => {
        throw failure;
      },
    });
    const producer = h.keyscope.instrumentProducer(throwing, { topic: 't' });
    expect(() => producer.send({ data: Buffer.from('x') })).toThrow(failure);
    const [span] = h.tracing.byName('send t');
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'producer is closed' });
    expect(span?.attributes['error.type']).toBe('TypeError');
  });

  it('a successful send leaves the status UNSET', async () => {
    h = harness();
    const producer = await h.client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('x') });
    const [span] = h.tracing.byName('send t');
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
  });
});
