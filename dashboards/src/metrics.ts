// Every metric name a dashboard query or alert rule may use. The dashboard
// test rejects queries that mention any other name, so a typo or a rename in
// the library shows up as a failing test rather than as an empty panel.

/** Metrics exported by the keyscope library (the README's Metrics table). */
export const keyscopeMetrics = {
  messagesSent: 'keyscope_messages_sent_total',
  sendErrors: 'keyscope_send_errors_total',
  sendDuration: 'keyscope_send_duration_seconds',
  messagesReceived: 'keyscope_messages_received_total',
  messagesAcked: 'keyscope_messages_acked_total',
  messagesNacked: 'keyscope_messages_nacked_total',
  redeliveries: 'keyscope_redeliveries_total',
  orderingViolations: 'keyscope_ordering_violations_total',
  inflightMessages: 'keyscope_inflight_messages',
  inflightKeys: 'keyscope_inflight_keys',
  oldestInflight: 'keyscope_oldest_inflight_seconds',
  stalledMessages: 'keyscope_stalled_messages',
  stalls: 'keyscope_stalls_total',
  headOfLineBlocked: 'keyscope_head_of_line_blocked_messages',
  stalledKeyAge: 'keyscope_stalled_key_age_seconds',
  endToEnd: 'keyscope_end_to_end_seconds',
  processing: 'keyscope_processing_seconds',
  trackedKeys: 'keyscope_tracked_keys',
  keyEvictions: 'keyscope_key_evictions_total',
  inflightEvictions: 'keyscope_inflight_evictions_total',
  contextErrors: 'keyscope_context_errors_total',
} as const;

/** Histograms among the keyscope metrics: queried through their series suffixes. */
export const keyscopeHistograms: readonly string[] = [keyscopeMetrics.sendDuration, keyscopeMetrics.endToEnd, keyscopeMetrics.processing];

/**
 * Pulsar broker metrics (Pulsar 4.0, exposeTopicLevelMetricsInPrometheus and
 * exposeConsumerLevelMetricsInPrometheus on). Labels: cluster, namespace,
 * topic, subscription (subscription and consumer metrics), consumer_name and
 * consumer_id (consumer metrics).
 */
export const pulsarMetrics = {
  backlog: 'pulsar_subscription_back_log',
  backlogNotDelayed: 'pulsar_subscription_back_log_no_delayed',
  unacked: 'pulsar_subscription_unacked_messages',
  blockedOnUnacked: 'pulsar_subscription_blocked_on_unacked_messages',
  consumerBlockedOnUnacked: 'pulsar_consumer_blocked_on_unacked_messages',
  consumerUnacked: 'pulsar_consumer_unacked_messages',
  subscriptionAckRate: 'pulsar_subscription_msg_ack_rate',
  redeliverRate: 'pulsar_subscription_msg_rate_redeliver',
  subscriptionRateOut: 'pulsar_subscription_msg_rate_out',
  topicRateIn: 'pulsar_rate_in',
  topicRateOut: 'pulsar_rate_out',
  delayed: 'pulsar_subscription_delayed',
  consumers: 'pulsar_consumers_count',
  subscriptionConsumers: 'pulsar_subscription_consumers_count',
} as const;

/** Metrics of `keyscope audit` (labels: subscription and kind, reason, subscription and key). */
export const auditMetrics = {
  violations: 'keyscope_audit_violations_total',
  spans: 'keyscope_audit_spans_total',
  auditedSpans: 'keyscope_audit_audited_spans_total',
  ignoredSpans: 'keyscope_audit_ignored_spans_total',
  droppedSpans: 'keyscope_audit_dropped_spans_total',
  overflow: 'keyscope_audit_overflow_total',
  keys: 'keyscope_audit_keys',
  lag: 'keyscope_audit_lag_seconds',
  violatingKeyViolations: 'keyscope_audit_violating_key_violations',
} as const;

/** Metrics of `keyscope broker-exporter` (labels: topic, subscription, and consumer where per consumer). */
export const brokerExporterMetrics = {
  drainingHashes: 'keyscope_broker_draining_hashes',
  drainingHashesUnacked: 'keyscope_broker_draining_hashes_unacked_messages',
  drainingHashesCleared: 'keyscope_broker_draining_hashes_cleared_total',
  drainingHashesBlockedAttempts: 'keyscope_broker_draining_hashes_blocked_attempts',
  messagesInReplay: 'keyscope_broker_messages_in_replay',
  backlog: 'keyscope_broker_backlog_messages',
  unacked: 'keyscope_broker_unacked_messages',
  consumers: 'keyscope_broker_consumers',
  consumerUnacked: 'keyscope_broker_consumer_unacked_messages',
  consumerBlockedOnUnacked: 'keyscope_broker_consumer_blocked_on_unacked',
  consumerPermits: 'keyscope_broker_consumer_available_permits',
  consumerHashRangeShare: 'keyscope_broker_consumer_hash_range_share',
  consumerDrainingHashes: 'keyscope_broker_consumer_draining_hashes',
  scrapeErrors: 'keyscope_broker_scrape_errors_total',
  polls: 'keyscope_broker_polls_total',
  up: 'keyscope_broker_up',
} as const;

/**
 * Span metrics produced by the collector's spanmetrics connector and exposed
 * by its Prometheus exporter (namespace `traces.span.metrics`, seconds).
 * Labels: service_name, span_name, span_kind, status_code, plus the messaging
 * dimensions configured in collector/otel-collector.yaml.
 */
export const spanMetrics = {
  calls: 'traces_span_metrics_calls_total',
  duration: 'traces_span_metrics_duration_seconds',
} as const;

export const spanMetricLabels = {
  service: 'service_name',
  spanName: 'span_name',
  spanKind: 'span_kind',
  statusCode: 'status_code',
  errorType: 'error_type',
  topic: 'messaging_destination_name',
  subscription: 'messaging_destination_subscription_name',
} as const;

/**
 * The reference orchestrator's own metrics (example-orchestrator/telemetry/
 * metrics.ts; its unit test checks both lists agree). Every series has a
 * `mode` label.
 */
export const orchestratorMetrics = {
  decisions: 'orchestrator_decisions_total',
  sends: 'orchestrator_sends_total',
  events: 'orchestrator_events_total',
  timersScheduled: 'orchestrator_timers_scheduled_total',
  lockWait: 'orchestrator_lock_wait_seconds',
  lockHold: 'orchestrator_lock_hold_seconds',
  lockContention: 'orchestrator_lock_contention_total',
  lockFailures: 'orchestrator_lock_failures_total',
  fencingRejections: 'orchestrator_fencing_rejections_total',
  outOfSequence: 'orchestrator_out_of_sequence_total',
  executorInFlight: 'orchestrator_executor_in_flight',
  executorActiveKeys: 'orchestrator_executor_active_keys',
  executorRetries: 'orchestrator_executor_retries_total',
  executorStalled: 'orchestrator_executor_stalled_total',
  executorHandle: 'orchestrator_executor_handle_seconds',
  deadLetters: 'orchestrator_dead_letters_total',
  gatewayDeliveries: 'orchestrator_gateway_deliveries_total',
  gatewayResponses: 'orchestrator_gateway_provider_responses_total',
  providerRequests: 'orchestrator_provider_requests_total',
  providerLatency: 'orchestrator_provider_latency_seconds',
  sendLateness: 'orchestrator_send_lateness_seconds',
  timersRelayed: 'orchestrator_timers_relayed_total',
  timerRelayLag: 'orchestrator_timer_relay_lag_seconds',
} as const;

export const orchestratorHistograms: readonly string[] = [
  orchestratorMetrics.lockWait,
  orchestratorMetrics.lockHold,
  orchestratorMetrics.executorHandle,
  orchestratorMetrics.providerLatency,
  orchestratorMetrics.sendLateness,
  orchestratorMetrics.timerRelayLag,
];

const histogramSuffixes = ['_bucket', '_sum', '_count'];

/** Every series name a query may reference, histogram suffixes included. */
export function knownSeriesNames(): Set<string> {
  const names = new Set<string>();
  const histograms = new Set<string>([...keyscopeHistograms, ...orchestratorHistograms, spanMetrics.duration]);
  for (const name of [
    ...Object.values(keyscopeMetrics),
    ...Object.values(pulsarMetrics),
    ...Object.values(auditMetrics),
    ...Object.values(brokerExporterMetrics),
    ...Object.values(spanMetrics),
    ...Object.values(orchestratorMetrics),
  ]) {
    if (histograms.has(name)) {
      for (const suffix of histogramSuffixes) names.add(name + suffix);
    } else {
      names.add(name);
    }
  }
  return names;
}
