/**
 * Cumulative acks: a delivery and every earlier one of its consumer on the
 * same topic partition, chosen when the ack is issued and settled once the
 * client's promise fulfils. A rejected cumulative ack (the WebSocket client
 * cannot do them) acknowledged nothing, so nothing is settled.
 */
import type { ConsumerDelivery } from './consumer-delivery.js';
import type { InflightList } from './inflight-list.js';
import { isThenable, logInternal } from './pipeline.js';

/** The in-flight deliveries a cumulative ack up to `last` covers, oldest first. */
export function coveredBy(list: InflightList, last: ConsumerDelivery): ConsumerDelivery[] {
  const covered: ConsumerDelivery[] = [];
  for (let d = list.oldest; d !== undefined; d = d.nextOfConsumer) {
    if (d.route === last.route) covered.push(d);
    if (d === last) break;
  }
  return covered;
}

/** Settles `covered` as 'ack_cumulative' when `result` fulfils (at once when it is no promise). */
export function settleWhenAcknowledged(result: unknown, covered: ConsumerDelivery[]): void {
  const settleCovered = (): void => {
    try {
      for (const delivery of covered) delivery.owner.settle(delivery, 'ack_cumulative');
    } catch (error) {
      logInternal(error);
    }
  };
  if (isThenable(result)) result.then(settleCovered, () => undefined);
  else settleCovered();
}
