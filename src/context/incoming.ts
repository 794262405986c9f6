/**
 * Reads the stamps and trace context of a received message, counting what is
 * malformed instead of failing: a bad message flows on with a fresh trace.
 */
import { ROOT_CONTEXT, propagation, trace, type Context } from '@opentelemetry/api';
import type { PropertyMap } from '../pulsar/types.js';
import { PropertyGetter } from './carrier.js';
import { PRODUCER_PROPERTY, SEQ_PROPERTY } from './stamps.js';

/** Why a message's stamps or trace context were not used: the `reason` label of keyscope_context_errors_total. */
export const CONTEXT_ERROR_REASONS = [
  'invalid_properties',
  'non_string_property',
  'oversized_property',
  'malformed_trace_context',
  'invalid_seq',
  'invalid_producer',
  'reserved_property_present',
  'unreadable_message',
] as const;
export type ContextErrorReason = (typeof CONTEXT_ERROR_REASONS)[number];

const PRODUCER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Longest producer name of an unstamped message that ordering checks keep (names are per-key state). */
const MAX_OWN_PRODUCER_LENGTH = 256;
/**
 * Prefix of producers named by unstamped messages: outside the id alphabet,
 * so a producer name can never alias a keyscope producer id.
 */
const OWN_PRODUCER_PREFIX = '~';

/**
 * Ordering checks for messages without keyscope's stamps (a Java producer's,
 * say) whose producer writes a sequence of its own into a property.
 */
export interface UnstampedOrdering {
  /** Property holding the producer's sequence number: decimal, increasing per producer. */
  sequenceProperty: string;
  /**
   * Property naming the producer. Default: the message's producer name where
   * the client reports one (pulsar-client does; the WebSocket API does not),
   * else every unstamped producer of a key counts as one.
   */
  producerProperty?: string;
}

/** What a message may tell about its producer besides its properties. */
export interface ProducerNamed {
  getProducerName?(): string;
}
/** Longest decimal seq accepted: Number.MAX_SAFE_INTEGER has 16 digits. */
const MAX_SEQ_DIGITS = 16;
const EMPTY_PROPERTIES: PropertyMap = Object.freeze({}) as PropertyMap;

/**
 * A decimal seq as a number, or -1 when it is not ASCII digits naming a safe
 * integer. Up to MAX_SAFE_INTEGER every step is exact; beyond it rounding
 * never goes below 2^53, so the final bound check rejects it.
 */
function parseSeq(text: string): number {
  const length = text.length;
  if (length === 0 || length > MAX_SEQ_DIGITS) return -1;
  let value = 0;
  for (let i = 0; i < length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value <= Number.MAX_SAFE_INTEGER ? value : -1;
}

/**
 * Result of reading one message. Reused by its owner for every message (the
 * read is synchronous), so reading allocates nothing beyond what the
 * propagator itself creates.
 */
export class IncomingStamps {
  producer: string | undefined = undefined;
  /** NaN when absent or invalid. */
  seq = Number.NaN;
  /** False for a message without any keyscope stamp (ordering falls back to `UnstampedOrdering`, if set). */
  stamped = false;
  /** Extracted context; ROOT_CONTEXT (a fresh trace) when none or malformed. */
  context: Context = ROOT_CONTEXT;
  /** Up to two problems per message are reported; more would add nothing. */
  firstError: ContextErrorReason | undefined = undefined;
  secondError: ContextErrorReason | undefined = undefined;
  private readonly getter = new PropertyGetter();
  /** The last producer id that passed validation: consecutive messages usually share it. */
  private lastValidProducer: string | undefined = undefined;

  constructor(private readonly unstampedOrdering?: UnstampedOrdering) {}

  /** `message`: where the producer name of an unstamped message comes from by default. */
  read(properties: unknown, message?: ProducerNamed): this {
    this.producer = undefined;
    this.seq = Number.NaN;
    this.context = ROOT_CONTEXT;
    this.firstError = this.secondError = undefined;

    let carrier: PropertyMap;
    if (properties !== null && typeof properties === 'object') {
      carrier = properties as PropertyMap;
    } else {
      if (properties !== undefined && properties !== null) this.report('invalid_properties');
      carrier = EMPTY_PROPERTIES;
    }

    const getter = this.getter;
    getter.problem = undefined;
    const producer = getter.get(carrier, PRODUCER_PROPERTY);
    const seqText = getter.get(carrier, SEQ_PROPERTY);
    this.stamped = producer !== undefined || seqText !== undefined || getter.problem !== undefined;
    if (getter.problem !== undefined) this.report(getter.problem);
    if (producer !== undefined) {
      if (producer === this.lastValidProducer || PRODUCER_ID_PATTERN.test(producer)) {
        this.producer = this.lastValidProducer = producer;
      } else {
        this.report('invalid_producer');
      }
    }
    if (seqText !== undefined) {
      const seq = parseSeq(seqText);
      if (seq >= 0) this.seq = seq;
      else this.report('invalid_seq');
    }
    // Stamps only make sense together.
    if (this.producer === undefined || Number.isNaN(this.seq)) {
      this.producer = undefined;
      this.seq = Number.NaN;
    }
    if (!this.stamped && this.unstampedOrdering !== undefined) this.readOwnSequence(carrier, this.unstampedOrdering, message);

    getter.problem = undefined;
    getter.gaveTraceField = false;
    const extracted = propagation.extract(ROOT_CONTEXT, carrier, getter);
    // Baggage alone is kept; without a span context the process span starts a fresh trace.
    this.context = extracted;
    if (getter.problem !== undefined) this.report(getter.problem);
    else if (getter.gaveTraceField && trace.getSpanContext(extracted) === undefined) this.report('malformed_trace_context');
    return this;
  }

  /** The producer's own sequence of an unstamped message, as the stamps would give it. */
  private readOwnSequence(carrier: PropertyMap, ordering: UnstampedOrdering, message: ProducerNamed | undefined): void {
    const getter = this.getter;
    const seqText = getter.get(carrier, ordering.sequenceProperty);
    let producer = ordering.producerProperty === undefined ? undefined : getter.get(carrier, ordering.producerProperty);
    if (getter.problem !== undefined) this.report(getter.problem);
    if (seqText === undefined) return;
    const seq = parseSeq(seqText);
    if (seq < 0) {
      this.report('invalid_seq');
      return;
    }
    if (producer === undefined && ordering.producerProperty === undefined && typeof message?.getProducerName === 'function') {
      const name: unknown = message.getProducerName();
      producer = typeof name === 'string' ? name : undefined;
    }
    producer ??= '';
    if (producer.length > MAX_OWN_PRODUCER_LENGTH) {
      this.report('invalid_producer');
      return;
    }
    this.producer = OWN_PRODUCER_PREFIX + producer;
    this.seq = seq;
  }

  private report(reason: ContextErrorReason): void {
    if (this.firstError === undefined) this.firstError = reason;
    else if (this.firstError !== reason && this.secondError === undefined) this.secondError = reason;
  }
}
