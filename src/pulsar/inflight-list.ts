/**
 * One consumer's in-flight deliveries in receive order, linked through the
 * deliveries themselves (no allocation per message).
 */
import type { ConsumerDelivery } from './consumer-delivery.js';

export class InflightList {
  oldest: ConsumerDelivery | undefined = undefined;
  newest: ConsumerDelivery | undefined = undefined;

  append(delivery: ConsumerDelivery): void {
    const tail = this.newest;
    if (tail === undefined) this.oldest = delivery;
    else {
      tail.nextOfConsumer = delivery;
      delivery.previousOfConsumer = tail;
    }
    this.newest = delivery;
  }

  remove(delivery: ConsumerDelivery): void {
    const { previousOfConsumer, nextOfConsumer } = delivery;
    if (previousOfConsumer === undefined) this.oldest = nextOfConsumer;
    else previousOfConsumer.nextOfConsumer = nextOfConsumer;
    if (nextOfConsumer === undefined) this.newest = previousOfConsumer;
    else nextOfConsumer.previousOfConsumer = previousOfConsumer;
    delivery.previousOfConsumer = delivery.nextOfConsumer = undefined;
  }

  /** A copy, oldest first, for the rare paths that walk the list while changing it. */
  snapshot(): ConsumerDelivery[] {
    const list: ConsumerDelivery[] = [];
    for (let d = this.oldest; d !== undefined; d = d.nextOfConsumer) list.push(d);
    return list;
  }
}
