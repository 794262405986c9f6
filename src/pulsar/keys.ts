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

function bounded(key: unknown): string | undefined {
  if (typeof key !== 'string' || key === '') return undefined;
  return key.length > MAX_KEY_LENGTH ? `sha256:${createHash('sha256').update(exactTextBytes(key)).digest('hex')}` : key;
}

const isKey = (value: unknown): value is string => typeof value === 'string' && value !== '';

/**
 * The key of a received message; undefined when keyless. `getOrderingKey` is
 * feature-detected, and the partition key is only asked for when there is no
 * ordering key (each getter of a native message is a call into the addon).
 */
export function messageKey(message: MessageLike): string | undefined {
  const ordering: unknown = typeof message.getOrderingKey === 'function' ? message.getOrderingKey() : undefined;
  return bounded(isKey(ordering) ? ordering : message.getPartitionKey());
}

/** The key of a message about to be sent; undefined when keyless. */
export function producerMessageKey(message: ProducerMessageLike): string | undefined {
  const ordering: unknown = message.orderingKey;
  return bounded(isKey(ordering) ? ordering : message.partitionKey);
}
