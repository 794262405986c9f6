/**
 * Reads the stamps and trace context of a received message, counting what is
 * malformed instead of failing: a bad message flows on with a fresh trace.
 */
import { ROOT_CONTEXT, propagation, trace, type Context } from '@opentelemetry/api';
import type { PropertyMap } from '../pulsar/types.js';
import { PropertyGetter } from './carrier.js';
import { PRODUCER_PROPERTY, SEQ_PROPERTY } from './stamps.js';

export type ContextErrorReason =
  | 'invalid_properties'
  | 'non_string_property'
  | 'oversized_property'
  | 'malformed_trace_context'
  | 'invalid_seq'
  | 'invalid_producer'
  | 'reserved_property_present'
  | 'unreadable_message';

const PRODUCER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Longest decimal seq accepted: Number.MAX_SAFE_INTEGER has 16 digits. */
const MAX_SEQ_DIGITS = 16;
/** Propagator fields that carry no span context by themselves. */
const NON_TRACE_FIELDS = new Set(['baggage', 'tracestate']);
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
  /** Extracted context; ROOT_CONTEXT (a fresh trace) when none or malformed. */
  context: Context = ROOT_CONTEXT;
  /** Up to two problems per message are reported; more would add nothing. */
  firstError: ContextErrorReason | undefined = undefined;
  secondError: ContextErrorReason | undefined = undefined;
  private readonly getter = new PropertyGetter();
  /** The last producer id that passed validation: consecutive messages usually share it. */
  private lastValidProducer: string | undefined = undefined;

  read(properties: unknown): this {
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
    if (this.producer === undefined || this.seq !== this.seq) {
      this.producer = undefined;
      this.seq = Number.NaN;
    }

    getter.problem = undefined;
    const extracted = propagation.extract(ROOT_CONTEXT, carrier, getter);
    // Baggage alone is kept; without a span context the process span starts a fresh trace.
    this.context = extracted;
    if (getter.problem !== undefined) this.report(getter.problem);
    else if (trace.getSpanContext(extracted) === undefined && this.carriesTraceField(carrier)) {
      this.report('malformed_trace_context');
    }
    return this;
  }

  private carriesTraceField(carrier: PropertyMap): boolean {
    for (const field of propagation.fields()) {
      if (!NON_TRACE_FIELDS.has(field) && typeof carrier[field] === 'string' && Object.prototype.hasOwnProperty.call(carrier, field)) {
        return true;
      }
    }
    return false;
  }

  private report(reason: ContextErrorReason): void {
    if (this.firstError === undefined) this.firstError = reason;
    else if (this.firstError !== reason && this.secondError === undefined) this.secondError = reason;
  }
}
