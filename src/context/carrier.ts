/**
 * TextMap getter over Pulsar message properties, used with the globally
 * configured propagator (`propagation.extract`). The producer wrapper writes
 * with a setter of its own, which notices a user's field being replaced.
 */
import type { TextMapGetter } from '@opentelemetry/api';
import type { PropertyMap } from '../pulsar/types.js';

/**
 * Longest property value handed to a propagator. W3C `traceparent` is 55
 * characters and `tracestate` at most 512 members; anything longer is hostile
 * or broken, and parsing it would cost the application time.
 */
export const MAX_CONTEXT_VALUE_LENGTH = 8192;

export type CarrierProblem = 'non_string_property' | 'oversized_property';

/** Propagator fields that carry no span context by themselves. */
const NON_TRACE_FIELDS: ReadonlySet<string> = new Set(['baggage', 'tracestate']);

/**
 * Reads message properties defensively: only own properties, only strings of
 * bounded length. The first rejected value is remembered in `problem` so the
 * caller can count it; the propagator then sees the field as absent.
 */
export class PropertyGetter implements TextMapGetter<PropertyMap> {
  problem: CarrierProblem | undefined = undefined;
  /**
   * Whether a field that carries a span context (not baggage or tracestate)
   * was handed to the propagator: if it then extracted none, the field was
   * malformed. Learnt while reading, so no pass over the propagator's fields
   * is needed for the common message that carries no trace context.
   */
  gaveTraceField = false;

  keys(carrier: PropertyMap): string[] {
    return Object.keys(carrier);
  }

  get(carrier: PropertyMap, key: string): string | undefined {
    if (!Object.hasOwn(carrier, key)) return undefined;
    const value: unknown = carrier[key];
    if (typeof value !== 'string') {
      this.problem ??= 'non_string_property';
      return undefined;
    }
    if (value.length > MAX_CONTEXT_VALUE_LENGTH) {
      this.problem ??= 'oversized_property';
      return undefined;
    }
    if (!this.gaveTraceField && !NON_TRACE_FIELDS.has(key)) this.gaveTraceField = true;
    return value;
  }
}
