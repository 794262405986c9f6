/**
 * Deliveries in flight by message object, for `process()` and acks through
 * any wrapper. A WeakMap (its entries cost no allocation per message, where a
 * Map that keeps emptying and refilling reallocates its table), fronted by
 * the message added or found last: a message's receive, `process()` and ack
 * usually follow one another, so most lookups skip the hash table.
 */
import type { Delivery } from '../tracking/tracker.js';

export class DeliveryIndex {
  private readonly byMessage = new WeakMap<object, Delivery>();
  private lastMessage: object | undefined = undefined;
  private lastDelivery: Delivery | undefined = undefined;

  get(message: object): Delivery | undefined {
    if (message === this.lastMessage) return this.lastDelivery;
    const delivery = this.byMessage.get(message);
    if (delivery !== undefined) {
      this.lastMessage = message;
      this.lastDelivery = delivery;
    }
    return delivery;
  }

  has(message: object): boolean {
    return this.get(message) !== undefined;
  }

  set(message: object, delivery: Delivery): void {
    this.byMessage.set(message, delivery);
    this.lastMessage = message;
    this.lastDelivery = delivery;
  }

  delete(message: object): void {
    this.byMessage.delete(message);
    if (message === this.lastMessage) this.lastMessage = this.lastDelivery = undefined;
  }
}
