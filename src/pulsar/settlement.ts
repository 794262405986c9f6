/**
 * What settling a delivery records, once it is out of flight: the ack or
 * nack counters, the processing and end-to-end latencies, the settle event
 * on its `process` span, and the end of that span unless its processing
 * window is still open.
 */
import { sampledTraceId, type SettleKind } from '../telemetry/spans.js';
import { endSpan, type ConsumerDelivery } from './consumer-delivery.js';
import type { Pipeline } from './pipeline.js';

/** Records an ack, cumulative ack or nack of a delivery just taken out of flight. */
export function recordSettle(pipeline: Pipeline, delivery: ConsumerDelivery, kind: 'ack' | 'ack_cumulative' | 'nack', now: number): void {
  const instruments = delivery.route.instruments;
  const traceId = pipeline.metrics.exemplars ? sampledTraceId(delivery.span) : undefined;
  if (kind === 'nack') instruments.nacked.inc();
  else instruments.acked.inc();
  pipeline.metrics.observeProcessing(instruments, Math.max(0, now - delivery.receivedAt) / 1000, traceId, now);
  if (kind !== 'nack' && delivery.publishTimestamp > 0) {
    pipeline.metrics.observeEndToEnd(instruments, Math.max(0, now - delivery.publishTimestamp) / 1000, traceId, now);
  }
  recordLeft(pipeline, delivery, kind);
}

/**
 * Records that a delivery left tracking without an ack or nack: its consumer
 * closed ('closed') or it was dropped beyond maxInflightMessages
 * ('untracked', counted in keyscope_inflight_evictions_total).
 */
export function recordLeft(pipeline: Pipeline, delivery: ConsumerDelivery, kind: SettleKind): void {
  if (kind === 'untracked') delivery.route.instruments.inflightEvictions.inc();
  pipeline.spans.settle(delivery.span, kind);
  if (!delivery.inWindow) endSpan(delivery);
}
