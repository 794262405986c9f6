/**
 * Property-based: the producer wrapper never alters a message. Whatever the
 * shape of the message (plain, class instance with getters, inherited or
 * non-enumerable fields) and of its properties (own `__proto__`, keys that
 * name Object.prototype members, inherited enumerable keys, a user's own
 * traceparent or keyscope stamps), the client receives the fields it would
 * have read from the original, every property key with its value, plus
 * our stamps; the caller's objects are left exactly as they were, and what
 * was replaced or could not be stamped is counted.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { PRODUCER_PROPERTY, SEQ_PROPERTY, type MessageIdLike, type ProducerLike, type ProducerMessageLike } from '../../src/index.js';
import { copyProperties, MESSAGE_FIELDS } from '../../src/pulsar/message-copy.js';
import { harness, metricValue, type Harness } from '../support/harness.js';

const FIELDS = MESSAGE_FIELDS;
const PROPAGATOR_FIELDS = ['traceparent', 'tracestate', 'baggage'];
const OURS = new Set([PRODUCER_PROPERTY, SEQ_PROPERTY, ...PROPAGATOR_FIELDS]);
/** What is always written here: the stamps and, with a sampled span and no trace state or baggage, traceparent alone. */
const WRITTEN = new Set([PRODUCER_PROPERTY, SEQ_PROPERTY, 'traceparent']);

/** A producer shaped like pulsar-client's: it reads the message by property access and refuses a non-Buffer data. */
class RecordingProducer implements ProducerLike {
  readonly sent: ProducerMessageLike[] = [];
  send(message: ProducerMessageLike): Promise<MessageIdLike> {
    if (!Buffer.isBuffer(message.data)) throw new TypeError('data must be a Buffer');
    this.sent.push(message);
    return Promise.resolve({ toString: () => '(1,1,-1,-1)' });
  }
  flush(): Promise<null> {
    return Promise.resolve(null);
  }
  close(): Promise<null> {
    return Promise.resolve(null);
  }
  getProducerName(): string {
    return 'p';
  }
  getTopic(): string {
    return 't';
  }
  isConnected(): boolean {
    return true;
  }
}

const propertyKey = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '0', '') },
  { weight: 1, arbitrary: fc.constantFrom(...OURS) },
);
const propertyEntries = fc.uniqueArray(fc.tuple(propertyKey, fc.string({ maxLength: 20 })), { maxLength: 8, selector: ([key]) => key });

type PropertiesShape = 'plain' | 'null-prototype' | 'getters' | 'inherited';

/** Builds a properties object of the given shape holding `entries` (always through defineProperty, so `__proto__` is an own key). */
function buildProperties(shape: PropertiesShape, entries: Array<[string, string]>): object {
  if (shape === 'inherited') {
    const half = Math.ceil(entries.length / 2);
    const parent: object = {};
    for (const [key, value] of entries.slice(0, half))
      Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
    const child: object = Object.create(parent);
    for (const [key, value] of entries.slice(half))
      Object.defineProperty(child, key, { value, enumerable: true, writable: true, configurable: true });
    return child;
  }
  const target: object = shape === 'null-prototype' ? Object.create(null) : {};
  for (const [key, value] of entries) {
    const descriptor: PropertyDescriptor =
      shape === 'getters'
        ? { get: () => value, enumerable: true, configurable: true }
        : { value, enumerable: true, writable: true, configurable: true };
    Object.defineProperty(target, key, descriptor);
  }
  // Not sent by the client, and never sent by the copy either.
  Object.defineProperty(target, 'hidden-property', { value: 'x', enumerable: false });
  return target;
}

type MessageShape = 'plain' | 'class-getters' | 'non-enumerable' | 'inherited';

class GetterMessage {
  constructor(private readonly fields: Record<string, unknown>) {}
  get data(): unknown {
    return this.fields.data;
  }
  get properties(): unknown {
    return this.fields.properties;
  }
  get partitionKey(): unknown {
    return this.fields.partitionKey;
  }
  get orderingKey(): unknown {
    return this.fields.orderingKey;
  }
  get eventTimestamp(): unknown {
    return this.fields.eventTimestamp;
  }
  get deliverAfter(): unknown {
    return this.fields.deliverAfter;
  }
  get disableReplication(): unknown {
    return this.fields.disableReplication;
  }
}

function buildMessage(shape: MessageShape, fields: Record<string, unknown>): ProducerMessageLike {
  let message: object;
  if (shape === 'class-getters') message = new GetterMessage(fields);
  else if (shape === 'inherited') message = Object.create(fields) as object;
  else {
    message = {};
    for (const [key, value] of Object.entries(fields)) {
      Object.defineProperty(message, key, { value, enumerable: shape === 'plain', writable: true, configurable: true });
    }
  }
  return message as ProducerMessageLike;
}

const messageFields = fc.record(
  {
    data: fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes)),
    partitionKey: fc.string({ maxLength: 10 }),
    orderingKey: fc.string({ maxLength: 10 }),
    eventTimestamp: fc.nat(),
    deliverAfter: fc.nat({ max: 1000 }),
    disableReplication: fc.boolean(),
  },
  { requiredKeys: ['data'] },
);

/** Own keys and descriptors (values, getters, flags) and the prototype: what "unchanged" means. */
function snapshot(object: object): unknown {
  return {
    prototype: Object.getPrototypeOf(object),
    own: Reflect.ownKeys(object).map((key) => [key, Object.getOwnPropertyDescriptor(object, key)]),
  };
}

function read(object: object, key: string): unknown {
  return (object as Record<string, unknown>)[key];
}

let current: Harness | undefined;
afterAll(() => current?.keyscope.close());

describe('the producer wrapper never alters a message (property-based)', () => {
  it('sends the fields and every property key the client would have read, unchanged, plus stamps', async () => {
    const h = harness();
    current = h;
    const raw = new RecordingProducer();
    const producer = h.keyscope.instrumentProducer(raw, { topic: 't' });
    let replaced = 0;
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<MessageShape>('plain', 'class-getters', 'non-enumerable', 'inherited'),
        fc.constantFrom<PropertiesShape>('plain', 'null-prototype', 'getters', 'inherited'),
        messageFields,
        fc.option(propertyEntries, { nil: undefined }),
        async (messageShape, propertiesShape, fields, entries) => {
          cases++;
          const properties = entries === undefined ? undefined : buildProperties(propertiesShape, entries);
          const message = buildMessage(messageShape, properties === undefined ? fields : { ...fields, properties });
          const before = snapshot(message);
          const propertiesBefore = properties === undefined ? undefined : snapshot(properties);
          await producer.send(message);
          const sent = raw.sent.at(-1) as ProducerMessageLike;

          // One assertion per case: the differences found, which must be none.
          const differences: string[] = [];
          if (sent === message) differences.push("the caller's object was sent");
          for (const field of FIELDS) {
            if (field !== 'properties' && read(sent, field) !== read(message, field)) differences.push(`field ${field}`);
          }
          const sentProperties = sent.properties as Record<string, string>;
          if (Object.getPrototypeOf(sentProperties) !== Object.prototype) differences.push('properties prototype replaced');
          const kept = new Set<string>();
          let collides = false;
          if (properties !== undefined) {
            for (const key in properties) {
              if (WRITTEN.has(key)) collides = true;
              else {
                kept.add(key);
                if (Object.getOwnPropertyDescriptor(sentProperties, key)?.value !== read(properties, key))
                  differences.push(`property ${JSON.stringify(key)}`);
              }
            }
          }
          if (collides) replaced++;
          for (const key of Object.keys(sentProperties)) {
            if (!kept.has(key) && !WRITTEN.has(key)) differences.push(`added property ${JSON.stringify(key)}`);
          }
          if (!/^[A-Za-z0-9_-]{12}$/.test(sentProperties[PRODUCER_PROPERTY] ?? '')) differences.push('producer stamp');
          if (!/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/.test(sentProperties.traceparent ?? '')) differences.push('traceparent');
          if (!isDeepStrictEqual(snapshot(message), before)) differences.push('message changed');
          if (properties !== undefined && !isDeepStrictEqual(snapshot(properties), propertiesBefore))
            differences.push('properties changed');
          expect(differences).toEqual([]);
        },
      ),
      { numRuns: 2500 },
    );
    expect(raw.sent).toHaveLength(cases);
    expect(await metricValue(h.registry, 'keyscope_messages_sent_total', { topic: 't' })).toBe(cases);
    expect(await metricValue(h.registry, 'keyscope_context_errors_total', { topic: 't', reason: 'reserved_property_present' })).toBe(
      replaced,
    );
    expect(replaced).toBeGreaterThan(0);
  });

  it('sends a message whose properties are not an object as given, counted as invalid_properties', async () => {
    const h = harness();
    const raw = new RecordingProducer();
    const producer = h.keyscope.instrumentProducer(raw, { topic: 't' });
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.func(fc.string())),
        fc.uint8Array({ maxLength: 8 }),
        async (properties, bytes) => {
          cases++;
          const message = { data: Buffer.from(bytes), properties } as unknown as ProducerMessageLike;
          const before = snapshot(message);
          await producer.send(message);
          expect(raw.sent.at(-1)).toBe(message);
          expect(snapshot(message)).toEqual(before);
        },
      ),
      { numRuns: 2000 },
    );
    expect(await metricValue(h.registry, 'keyscope_context_errors_total', { topic: 't', reason: 'invalid_properties' })).toBe(cases);
    expect(await metricValue(h.registry, 'keyscope_messages_sent_total', { topic: 't' })).toBe(cases);
    h.keyscope.close();
  });

  it('a message whose getter throws reaches the client as given, and is counted', async () => {
    const h = harness();
    const raw = new RecordingProducer();
    const producer = h.keyscope.instrumentProducer(raw, { topic: 't' });
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FIELDS), fc.string(), async (field, text) => {
        cases++;
        const message = { data: Buffer.from(text) } as Record<string, unknown>;
        Object.defineProperty(message, field, {
          get: () => {
            throw new Error(text);
          },
          enumerable: true,
        });
        // Whatever the client does with it (here: reading data throws), the wrapper neither adds nor hides anything.
        let rawError: unknown;
        try {
          await raw.send(message as unknown as ProducerMessageLike);
        } catch (error) {
          rawError = error;
        }
        raw.sent.length = 0;
        let wrappedError: unknown;
        try {
          await producer.send(message as unknown as ProducerMessageLike);
        } catch (error) {
          wrappedError = error;
        }
        expect(String(wrappedError)).toBe(String(rawError));
        if (rawError === undefined) expect(raw.sent[0]).toBe(message);
      }),
      { numRuns: 1500 },
    );
    expect(await metricValue(h.registry, 'keyscope_context_errors_total', { topic: 't', reason: 'unreadable_message' })).toBe(cases);
    h.keyscope.close();
  });

  it('copyProperties keeps every key for...in yields, with its value, and never touches a prototype', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<PropertiesShape>('plain', 'null-prototype', 'getters', 'inherited'),
        propertyEntries,
        (shape, entries) => {
          const original = buildProperties(shape, entries);
          const copy = copyProperties(original);
          const expected: Array<[string, unknown]> = [];
          for (const key in original) expected.push([key, read(original, key)]);
          // Integer-like keys come first in any object, so the order is the object model's, not the source's.
          const byKey = (a: [string | symbol, unknown], b: [string | symbol, unknown]) => String(a[0]).localeCompare(String(b[0]));
          const actual = Reflect.ownKeys(copy).map((key): [string | symbol, unknown] => [key, read(copy, key as string)]);
          return isDeepStrictEqual(actual.sort(byKey), expected.sort(byKey)) && Object.getPrototypeOf(copy) === Object.prototype;
        },
      ),
      { numRuns: 5000 },
    );
  });
});
