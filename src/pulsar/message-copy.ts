/**
 * The copy of an outgoing message that the producer wrapper stamps. It holds
 * the fields pulsar-client reads, read the way it reads them: by property
 * access, so getters, fields inherited from a class and non-enumerable
 * fields are copied like plain ones. The caller's object is only read.
 */
import type { ProducerMessageLike, PropertyMap } from './types.js';

/** Every field of pulsar-client's ProducerMessage (checked below to stay complete). */
const MESSAGE_FIELDS = [
  'data',
  'properties',
  'eventTimestamp',
  'sequenceId',
  'partitionKey',
  'orderingKey',
  'replicationClusters',
  'deliverAfter',
  'deliverAt',
  'disableReplication',
] as const satisfies ReadonlyArray<keyof ProducerMessageLike>;

// A field added to ProducerMessageLike and not to MESSAGE_FIELDS fails to compile here.
type UncopiedField = Exclude<keyof ProducerMessageLike, (typeof MESSAGE_FIELDS)[number]>;
const everyFieldCopied: [UncopiedField] extends [never] ? true : UncopiedField = true;
void everyFieldCopied;

/**
 * The message's fields as pulsar-client reads them, each read once; a field
 * that is absent stays absent. `properties` is left to the caller, which
 * copies it with copyProperties. Throws what a throwing getter throws.
 */
export function copyMessageFields(message: ProducerMessageLike): ProducerMessageLike {
  const copy: Record<string, unknown> = {};
  const source = message as unknown as Record<string, unknown>;
  for (const field of MESSAGE_FIELDS) {
    const value = source[field];
    if (value !== undefined || field in message) copy[field] = value;
  }
  return copy as unknown as ProducerMessageLike;
}

/**
 * A copy of message properties with the keys pulsar-client sends: every
 * enumerable string key, own or inherited (it enumerates them as `for...in`
 * does), each read once by property access, with its value as is. An own
 * `__proto__` key is defined as a plain property: assigned, it would replace
 * the copy's prototype instead.
 */
export function copyProperties(original: object): PropertyMap {
  const copy: PropertyMap = {};
  const source = original as Record<string, string>;
  for (const key in source) {
    const value = source[key] as string;
    if (key === '__proto__') Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
    else copy[key] = value;
  }
  return copy;
}
