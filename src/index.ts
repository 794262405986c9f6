export { Keyscope, KEYSCOPE_DEFAULTS, type KeyscopeOptions } from './keyscope.js';
export { KeyscopeError, KeyscopeConfigError } from './errors.js';
export { PulsarInstrumentation, type PulsarInstrumentationConfig } from './pulsar/instrumentation.js';
export type { InstrumentClientOptions } from './pulsar/client.js';
export type { InstrumentProducerOptions } from './pulsar/producer.js';
export type { InstrumentConsumerOptions } from './pulsar/consumer.js';
export type { ProducerHook, ConsumerHook, ProducerHookInfo, ConsumerHookInfo } from './pulsar/pipeline.js';
export type { KeyPolicy } from './telemetry/key-policy.js';
export type { ConsumerSpanRelation } from './telemetry/spans.js';
export type { ViolationKind } from './tracking/tracker.js';
export type { ContextErrorReason, UnstampedOrdering } from './context/incoming.js';
export type {
  ClientLike,
  ConsumerLike,
  ProducerLike,
  ReaderLike,
  MessageLike,
  MessageIdLike,
  ProducerMessageLike,
  SubscriptionTypeName,
} from './pulsar/types.js';
export { PRODUCER_PROPERTY, SEQ_PROPERTY } from './context/stamps.js';
export { VERSION } from './version.js';
