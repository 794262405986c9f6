import { describe, expect, it } from 'vitest';
import { DeliveryIndex } from '../../src/pulsar/delivery-index.js';
import { Delivery, Tracker } from '../../src/tracking/tracker.js';

const stream = new Tracker({ maxTrackedKeys: 10, stallThresholdMs: 1000, topStalledKeys: 0 }).stream('t', 's');
const delivery = () => new Delivery(stream, 'k', 0);

describe('DeliveryIndex', () => {
  it('finds every delivery in flight, newest or older, until it is removed', () => {
    const index = new DeliveryIndex();
    const messages = [{}, {}, {}];
    const deliveries = messages.map(() => delivery());
    messages.forEach((message, i) => {
      index.set(message, deliveries[i] as Delivery);
    });
    messages.forEach((message, i) => {
      expect(index.get(message)).toBe(deliveries[i]);
    });
    index.delete(messages[2] as object);
    index.delete(messages[0] as object);
    expect(index.get(messages[2] as object)).toBeUndefined();
    expect(index.get(messages[0] as object)).toBeUndefined();
    expect(index.get(messages[1] as object)).toBe(deliveries[1]);
    expect(index.has({})).toBe(false);
  });

  it('a message added again gets its new delivery, and none once removed', () => {
    const index = new DeliveryIndex();
    const message = {};
    const first = delivery();
    const second = delivery();
    index.set(message, first);
    index.set({}, delivery());
    index.set(message, second);
    expect(index.get(message)).toBe(second);
    index.delete(message);
    expect(index.get(message)).toBeUndefined();
    index.set({}, delivery());
    expect(index.get(message)).toBeUndefined();
  });
});
