/** The cross-consumer auditor: `import { Auditor, startAuditService } from 'pulsar-keyscope/audit'`. */
export {
  Auditor,
  AUDITOR_DEFAULTS,
  type AuditorOptions,
  type AuditViolation,
  type AuditViolationKind,
  type OverflowKind,
  type SubscriptionCounts,
  type ViolatingKey,
} from './auditor.js';
export { breaksExclusivity, overlapMs, reorderedOf, type DropReason, type ProcessWindow } from './window.js';
export { registerAuditMetrics, type AuditMetricsOptions } from './metrics.js';
export { decodeJsonTraces, decodeProtobufTraces, OtlpDecodeError } from './otlp/decode.js';
export { auditTraces, type FeedResult } from './otlp/feed.js';
export { windowOfSpan, type SpanVerdict } from './otlp/span-window.js';
export type { OtlpTracesRequest, OtlpSpan } from './otlp/types.js';
export { createOtlpTracesHandler, startAuditService, OTLP_TRACES_PATH, type AuditService, type AuditServiceOptions } from './service.js';
