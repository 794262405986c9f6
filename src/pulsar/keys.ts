/**
 * A message's key: its ordering key if set, else its partition key. Keys
 * longer than MAX_KEY_LENGTH are replaced by their SHA-256 digest, the same on
 * the producer and the consumer side, so hostile keys cannot inflate memory
 * and both sides still name the key the same way.
 */
import { createHash } from 'node:crypto';
import { exactTextBytes } from '../tracking/exact-text.js';
import type { MessageLike, ProducerMessageLike } from './types.js';

export const MAX_KEY_LENGTH = 512;

function boundedKey(ordering: unknown, partition: unknown): string | undefined {
  const key = typeof ordering === 'string' && ordering !== '' ? ordering : partition;
  if (typeof key !== 'string' || key === '') return undefined;
  return key.length > MAX_KEY_LENGTH ? 'sha256:' + createHash('sha256').update(exactTextBytes(key)).digest('hex') : key;
}

/** The key of a received message; undefined when keyless. `getOrderingKey` is feature-detected. */
export function messageKey(message: MessageLike): string | undefined {
  const ordering = typeof message.getOrderingKey === 'function' ? message.getOrderingKey() : undefined;
  return boundedKey(ordering, message.getPartitionKey());
}

/** The key of a message about to be sent; undefined when keyless. */
export function producerMessageKey(message: ProducerMessageLike): string | undefined {
  return boundedKey(message.orderingKey, message.partitionKey);
}
