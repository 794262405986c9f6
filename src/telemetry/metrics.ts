/**
 * The prom-client metrics of PRODUCT.md section 5, on the user's registry.
 *
 * Hot-path discipline: label-bound children are created once per topic or
 * (topic, subscription) and cached, so a message costs a few increments and
 * no label objects. Gauges are written by the periodic sweep, as deltas for
 * additive gauges so that several Keyscope instances sharing a registry add
 * up instead of overwriting each other.
 */
import { Counter, Gauge, Histogram, Registry, register as globalRegistry, type RegistryContentType } from 'prom-client';

/** Any prom-client registry, Prometheus or OpenMetrics flavoured. */
export type AnyRegistry = Registry<RegistryContentType>;
import type { ContextErrorReason } from '../context/incoming.js';
import type { SweepResult, ViolationKind } from '../tracking/tracker.js';
import { KeyscopeConfigError } from '../errors.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const SEND_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const EXEMPLAR_TRACE_ID_LABEL = 'trace_id';

type TopicLabel = 'topic';
type StreamLabel = 'topic' | 'subscription';

export interface TopicInstruments {
  readonly sent: Counter.Internal;
  readonly sendErrors: Counter.Internal;
  readonly sendDuration: Histogram.Internal<TopicLabel>;
}

export interface StreamInstruments {
  readonly labels: { topic: string; subscription: string };
  readonly received: Counter.Internal;
  readonly acked: Counter.Internal;
  readonly nacked: Counter.Internal;
  readonly redeliveries: Counter.Internal;
  readonly violations: Readonly<Record<ViolationKind, Counter.Internal>>;
  readonly processing: Histogram.Internal<StreamLabel>;
  readonly endToEnd: Histogram.Internal<StreamLabel>;
}

/** Additive gauge values this instance last reported for one stream. */
interface ReportedStream {
  labels: { topic: string; subscription: string };
  inflight: number;
  inflightKeys: number;
  stalled: number;
  headOfLineBlocked: number;
}

export class KeyscopeMetrics {
  readonly exemplars: boolean;
  private readonly sent: Counter<TopicLabel>;
  private readonly sendErrors: Counter<TopicLabel>;
  private readonly sendDuration: Histogram<TopicLabel>;
  private readonly received: Counter<StreamLabel>;
  private readonly acked: Counter<StreamLabel>;
  private readonly nacked: Counter<StreamLabel>;
  private readonly redeliveries: Counter<StreamLabel>;
  private readonly violations: Counter<StreamLabel | 'kind'>;
  private readonly inflightMessages: Gauge<StreamLabel>;
  private readonly inflightKeys: Gauge<StreamLabel>;
  private readonly oldestInflight: Gauge<StreamLabel>;
  private readonly stalledMessages: Gauge<StreamLabel>;
  private readonly stalls: Counter<StreamLabel>;
  private readonly headOfLineBlocked: Gauge<StreamLabel>;
  private readonly stalledKeyAge: Gauge<StreamLabel | 'key'>;
  private readonly endToEnd: Histogram<StreamLabel>;
  private readonly processing: Histogram<StreamLabel>;
  private readonly trackedKeys: Gauge;
  private readonly keyEvictions: Counter;
  private readonly contextErrors: Counter<TopicLabel | 'reason'>;

  private readonly topics = new Map<string, TopicInstruments>();
  private readonly streams = new Map<string, StreamInstruments>();
  private readonly contextErrorChildren = new Map<string, Counter.Internal>();
  private readonly reported = new Map<string, ReportedStream>();
  private reportedTrackedKeys = 0;
  private reportedEvictions = 0;
  private reportedStalledKeys: Array<Record<StreamLabel | 'key', string>> = [];

  constructor(registry: AnyRegistry = globalRegistry) {
    const openMetrics = registry.contentType === Registry.OPENMETRICS_CONTENT_TYPE;
    const r = registry;
    this.sent = counter(r, 'keyscope_messages_sent_total', 'Messages sent through instrumented producers.', ['topic']);
    this.sendErrors = counter(r, 'keyscope_send_errors_total', 'Sends that failed.', ['topic']);
    this.sendDuration = histogram(r, 'keyscope_send_duration_seconds', 'Time from send() to the broker acknowledging the message.', ['topic'], SEND_BUCKETS, false);
    this.received = counter(r, 'keyscope_messages_received_total', 'Messages delivered to the application.', ['topic', 'subscription']);
    this.acked = counter(r, 'keyscope_messages_acked_total', 'Messages acknowledged.', ['topic', 'subscription']);
    this.nacked = counter(r, 'keyscope_messages_nacked_total', 'Messages negatively acknowledged.', ['topic', 'subscription']);
    this.redeliveries = counter(r, 'keyscope_redeliveries_total', 'Deliveries with a redelivery count above zero.', ['topic', 'subscription']);
    this.violations = counter(r, 'keyscope_ordering_violations_total', 'Per-key ordering and exclusivity violations seen in this process, by kind (reorder, redelivery_reorder, concurrent).', ['topic', 'subscription', 'kind']);
    this.inflightMessages = gauge(r, 'keyscope_inflight_messages', 'Messages received and not yet acknowledged or negatively acknowledged.', ['topic', 'subscription']);
    this.inflightKeys = gauge(r, 'keyscope_inflight_keys', 'Keys with at least one message in flight.', ['topic', 'subscription']);
    this.oldestInflight = gauge(r, 'keyscope_oldest_inflight_seconds', 'Age of the oldest message in flight.', ['topic', 'subscription']);
    this.stalledMessages = gauge(r, 'keyscope_stalled_messages', 'Messages in flight longer than the stall threshold.', ['topic', 'subscription']);
    this.stalls = counter(r, 'keyscope_stalls_total', 'Messages that became stalled (counted once per message).', ['topic', 'subscription']);
    this.headOfLineBlocked = gauge(r, 'keyscope_head_of_line_blocked_messages', 'In-flight messages queued behind the stalled oldest message of their key.', ['topic', 'subscription']);
    this.stalledKeyAge = gauge(r, 'keyscope_stalled_key_age_seconds', 'Age of the oldest in-flight message of each of the top K oldest stalled keys.', ['topic', 'subscription', 'key']);
    this.endToEnd = histogram(r, 'keyscope_end_to_end_seconds', 'Time from publish to acknowledgement.', ['topic', 'subscription'], LATENCY_BUCKETS, openMetrics);
    this.processing = histogram(r, 'keyscope_processing_seconds', 'Time from delivery to acknowledgement or negative acknowledgement.', ['topic', 'subscription'], LATENCY_BUCKETS, openMetrics);
    this.trackedKeys = gauge(r, 'keyscope_tracked_keys', 'Keys currently tracked (bounded by maxTrackedKeys).', []);
    this.keyEvictions = counter(r, 'keyscope_key_evictions_total', 'Tracked keys evicted to stay within maxTrackedKeys.', []);
    this.contextErrors = counter(r, 'keyscope_context_errors_total', 'Messages with malformed or hostile stamps or trace context, by reason.', ['topic', 'reason']);
    // Exemplars need both an OpenMetrics registry and histograms created with them
    // (a reused histogram keeps the setting it was created with).
    this.exemplars = openMetrics && hasExemplars(this.endToEnd) && hasExemplars(this.processing);
  }

  topic(topic: string): TopicInstruments {
    let instruments = this.topics.get(topic);
    if (instruments === undefined) {
      instruments = {
        sent: this.sent.labels(topic),
        sendErrors: this.sendErrors.labels(topic),
        sendDuration: this.sendDuration.labels(topic),
      };
      // Series start at zero, so rates and alerts work from the first scrape.
      instruments.sent.inc(0);
      instruments.sendErrors.inc(0);
      this.topics.set(topic, instruments);
    }
    return instruments;
  }

  stream(topic: string, subscription: string): StreamInstruments {
    const id = topic + '\u0000' + subscription;
    let instruments = this.streams.get(id);
    if (instruments === undefined) {
      const labels = { topic, subscription };
      instruments = {
        labels,
        received: this.received.labels(topic, subscription),
        acked: this.acked.labels(topic, subscription),
        nacked: this.nacked.labels(topic, subscription),
        redeliveries: this.redeliveries.labels(topic, subscription),
        violations: {
          reorder: this.violations.labels(topic, subscription, 'reorder'),
          redelivery_reorder: this.violations.labels(topic, subscription, 'redelivery_reorder'),
          concurrent: this.violations.labels(topic, subscription, 'concurrent'),
        },
        processing: this.processing.labels(topic, subscription),
        endToEnd: this.endToEnd.labels(topic, subscription),
      };
      for (const child of [instruments.received, instruments.acked, instruments.nacked, instruments.redeliveries, ...Object.values(instruments.violations)]) {
        child.inc(0);
      }
      this.stalls.inc(labels, 0);
      this.streams.set(id, instruments);
    }
    return instruments;
  }

  contextError(topic: string, reason: ContextErrorReason): void {
    const id = topic + '\u0000' + reason;
    let child = this.contextErrorChildren.get(id);
    if (child === undefined) {
      child = this.contextErrors.labels(topic, reason);
      this.contextErrorChildren.set(id, child);
    }
    child.inc();
  }

  observeProcessing(stream: StreamInstruments, seconds: number, traceId: string | undefined): void {
    observe(this.processing, stream.processing, stream.labels, seconds, this.exemplars ? traceId : undefined);
  }

  observeEndToEnd(stream: StreamInstruments, seconds: number, traceId: string | undefined): void {
    observe(this.endToEnd, stream.endToEnd, stream.labels, seconds, this.exemplars ? traceId : undefined);
  }

  /** Writes the sweep's figures. `keyLabel` renders a key under the key policy (or its rank). */
  applySweep(result: SweepResult, keyLabel: (key: string, rank: number) => string): void {
    for (const s of result.streams) {
      const { topic, subscription } = s.stream;
      const id = topic + '\u0000' + subscription;
      let last = this.reported.get(id);
      if (last === undefined) {
        last = { labels: { topic, subscription }, inflight: 0, inflightKeys: 0, stalled: 0, headOfLineBlocked: 0 };
        this.reported.set(id, last);
      }
      const labels = last.labels;
      this.inflightMessages.inc(labels, s.inflightMessages - last.inflight);
      this.inflightKeys.inc(labels, s.inflightKeys - last.inflightKeys);
      this.stalledMessages.inc(labels, s.stalledMessages - last.stalled);
      this.headOfLineBlocked.inc(labels, s.headOfLineBlocked - last.headOfLineBlocked);
      last.inflight = s.inflightMessages;
      last.inflightKeys = s.inflightKeys;
      last.stalled = s.stalledMessages;
      last.headOfLineBlocked = s.headOfLineBlocked;
      this.oldestInflight.set(labels, s.oldestInflightMs / 1000);
      if (s.newStalls > 0) this.stalls.inc(labels, s.newStalls);
    }

    const current: Array<Record<StreamLabel | 'key', string>> = [];
    result.topStalledKeys.forEach((stalled, index) => {
      const labels = { topic: stalled.stream.topic, subscription: stalled.stream.subscription, key: keyLabel(stalled.key, index + 1) };
      this.stalledKeyAge.set(labels, stalled.ageMs / 1000);
      current.push(labels);
    });
    // Keys that left the top K disappear; only series this instance wrote are removed.
    for (const old of this.reportedStalledKeys) {
      if (!current.some((c) => c.topic === old.topic && c.subscription === old.subscription && c.key === old.key)) {
        this.stalledKeyAge.remove(old);
      }
    }
    this.reportedStalledKeys = current;

    this.trackedKeys.inc(result.trackedKeys - this.reportedTrackedKeys);
    this.reportedTrackedKeys = result.trackedKeys;
    if (result.evictions > this.reportedEvictions) {
      this.keyEvictions.inc(result.evictions - this.reportedEvictions);
      this.reportedEvictions = result.evictions;
    }
  }

  /** Withdraws this instance's gauge contributions (on close). */
  withdraw(): void {
    for (const last of this.reported.values()) {
      const labels = last.labels;
      this.inflightMessages.dec(labels, last.inflight);
      this.inflightKeys.dec(labels, last.inflightKeys);
      this.stalledMessages.dec(labels, last.stalled);
      this.headOfLineBlocked.dec(labels, last.headOfLineBlocked);
      this.oldestInflight.set(labels, 0);
      last.inflight = last.inflightKeys = last.stalled = last.headOfLineBlocked = 0;
    }
    for (const old of this.reportedStalledKeys) this.stalledKeyAge.remove(old);
    this.reportedStalledKeys = [];
    this.trackedKeys.dec(this.reportedTrackedKeys);
    this.reportedTrackedKeys = 0;
  }
}

function observe(
  histogram: Histogram<StreamLabel>,
  child: Histogram.Internal<StreamLabel>,
  labels: { topic: string; subscription: string },
  seconds: number,
  traceId: string | undefined,
): void {
  if (traceId === undefined) child.observe(seconds);
  // The exemplar label is not one of the metric's labels; prom-client's type is stricter than its runtime.
  else histogram.observe({ labels, value: seconds, exemplarLabels: { [EXEMPLAR_TRACE_ID_LABEL]: traceId } as unknown as Record<StreamLabel, string> });
}

function hasExemplars(metric: object): boolean {
  return (metric as ExistingMetric).enableExemplars === true;
}

interface ExistingMetric {
  type?: string;
  labelNames?: string[];
  enableExemplars?: boolean;
}

/**
 * Returns the metric already registered under `name` when it is compatible
 * (a second Keyscope instance on the same registry reuses the first one's
 * metrics), or undefined when the name is free.
 */
function existing<M>(registry: AnyRegistry, name: string, type: string, labelNames: string[]): M | undefined {
  const found = registry.getSingleMetric(name) as (ExistingMetric & M) | undefined;
  if (found === undefined) return undefined;
  const sameLabels = JSON.stringify([...(found.labelNames ?? [])].sort()) === JSON.stringify([...labelNames].sort());
  if (found.type !== type || !sameLabels) {
    throw new KeyscopeConfigError(
      `The registry already has a metric named ${name} that is not a ${type} with labels [${labelNames.join(', ')}]. ` +
        'Pass Keyscope a registry (option `registry`) where the keyscope_* names are free or were created by Keyscope.',
    );
  }
  return found;
}

function counter<L extends string>(registry: AnyRegistry, name: string, help: string, labelNames: L[]): Counter<L> {
  return existing<Counter<L>>(registry, name, 'counter', labelNames) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

function gauge<L extends string>(registry: AnyRegistry, name: string, help: string, labelNames: L[]): Gauge<L> {
  return existing<Gauge<L>>(registry, name, 'gauge', labelNames) ?? new Gauge({ name, help, labelNames, registers: [registry] });
}

function histogram<L extends string>(
  registry: AnyRegistry,
  name: string,
  help: string,
  labelNames: L[],
  buckets: number[],
  enableExemplars: boolean,
): Histogram<L> {
  const found = existing<Histogram<L> & ExistingMetric>(registry, name, 'histogram', labelNames);
  if (found !== undefined) return found;
  return new Histogram({ name, help, labelNames, buckets, enableExemplars, registers: [registry] });
}
