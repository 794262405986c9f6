/**
 * The instrumented view of a consumer: every method reaches the original
 * consumer with the original arguments, and its result or error is returned
 * as is; deliveries and settles are reported to the instrumentation on the way.
 */
import type { ReceiveStart, SettleKind } from '../telemetry/spans.js';
import { overlay } from './overlay.js';
import type { ConsumerLike, MessageIdLike, MessageLike } from './types.js';

/** What the overlay reports; none of these throws. */
export interface ConsumerEvents {
  delivered(message: MessageLike): void;
  /** Before receive() / batchReceive() reach the consumer: where a receive span starts, or undefined when none is recorded. */
  receiving(): ReceiveStart | undefined;
  /** After the messages of that call were delivered. */
  received(start: ReceiveStart, messages: readonly MessageLike[]): void;
  settledMessage(message: MessageLike, kind: SettleKind): void;
  settledId(messageId: MessageIdLike, kind: SettleKind): void;
  cumulativeAck(result: unknown, upTo: MessageLike): void;
  cumulativeAckId(result: unknown, upTo: MessageIdLike): void;
  /** `expectRedelivery`: the broker hands what the consumer held to another one (close, not unsubscribe). */
  closing(expectRedelivery: boolean): void;
}

export function consumerOverlay<C extends ConsumerLike>(consumer: C, events: ConsumerEvents): C {
  const raw: ConsumerLike = consumer;
  const deliverOne = (message: MessageLike): MessageLike => {
    events.delivered(message);
    return message;
  };
  return overlay(consumer, {
    receive: (timeout?: number) => {
      const start = events.receiving();
      const received = timeout === undefined ? raw.receive() : raw.receive(timeout);
      if (start === undefined) return received.then(deliverOne);
      return received.then((message) => {
        events.delivered(message);
        events.received(start, [message]);
        return message;
      });
    },
    batchReceive: () => {
      const start = events.receiving();
      const batch = raw.batchReceive?.();
      if (batch === undefined) throw new TypeError('batchReceive is not supported by this consumer');
      return batch.then((messages) => {
        for (const message of messages) events.delivered(message);
        if (start !== undefined) events.received(start, messages);
        return messages;
      });
    },
    acknowledge: (message: MessageLike) => {
      const result = raw.acknowledge(message);
      events.settledMessage(message, 'ack');
      return result;
    },
    acknowledgeId: (messageId: MessageIdLike) => {
      const result = raw.acknowledgeId(messageId);
      events.settledId(messageId, 'ack');
      return result;
    },
    negativeAcknowledge: (message: MessageLike) => {
      raw.negativeAcknowledge(message);
      events.settledMessage(message, 'nack');
    },
    negativeAcknowledgeId: (messageId: MessageIdLike) => {
      raw.negativeAcknowledgeId(messageId);
      events.settledId(messageId, 'nack');
    },
    acknowledgeCumulative: (message: MessageLike) => {
      const result = raw.acknowledgeCumulative(message);
      events.cumulativeAck(result, message);
      return result;
    },
    acknowledgeCumulativeId: (messageId: MessageIdLike) => {
      const result = raw.acknowledgeCumulativeId?.(messageId);
      if (result === undefined) throw new TypeError('acknowledgeCumulativeId is not supported by this consumer');
      events.cumulativeAckId(result, messageId);
      return result;
    },
    close: (...args: unknown[]) => {
      events.closing(true);
      return (raw.close as (...a: unknown[]) => Promise<null>)(...args);
    },
    unsubscribe: (...args: unknown[]) => {
      events.closing(false);
      return (raw.unsubscribe as (...a: unknown[]) => Promise<null>)(...args);
    },
  });
}
