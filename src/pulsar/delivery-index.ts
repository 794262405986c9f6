/**
 * Deliveries in flight by message object, for `process()` and acks through
 * any wrapper. The newest delivery is held in a slot of its own and goes
 * into a WeakMap only when the next one takes the slot while it is still in
 * flight: a message's receive, `process()` and ack usually follow one
 * another, so most messages are added, found and removed without touching
 * the WeakMap at all (whose insertions of fresh objects, and the collector's
 * work on them, cost more than the rest of the lookups together). A WeakMap,
 * not a Map: its entries cost no allocation per message, whereas a Map that
 * keeps emptying and refilling reallocates its table.
 */
import type { Delivery } from '../tracking/tracker.js';

export class DeliveryIndex {
  private readonly byMessage = new WeakMap<object, Delivery>();
  /** The message added last and its delivery; never also in `byMessage`. */
  private newestMessage: object | undefined = undefined;
  private newestDelivery: Delivery | undefined = undefined;

  get(message: object): Delivery | undefined {
    if (message === this.newestMessage) return this.newestDelivery;
    return this.byMessage.get(message);
  }

  has(message: object): boolean {
    return this.get(message) !== undefined;
  }

  set(message: object, delivery: Delivery): void {
    const previous = this.newestMessage;
    if (previous !== undefined && previous !== message) this.byMessage.set(previous, this.newestDelivery as Delivery);
    // Cheap for a message never used as a key before (it has no identity hash yet): nothing to look up.
    this.byMessage.delete(message);
    this.newestMessage = message;
    this.newestDelivery = delivery;
  }

  delete(message: object): void {
    if (message === this.newestMessage) this.newestMessage = this.newestDelivery = undefined;
    else this.byMessage.delete(message);
  }
}
