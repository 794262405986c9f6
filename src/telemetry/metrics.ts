/**
 * The keyscope_* prom-client metrics (the README's Metrics table), on the user's registry.
 *
 * Hot-path discipline: per topic or (topic, subscription) the instruments are
 * resolved once and cached; a message then costs plain additions (counters
 * are handed to prom-client when the registry collects, histograms are
 * KeyscopeHistogram series). Gauges are written by the periodic sweep, as
 * deltas for additive gauges so that several Keyscope instances sharing a
 * registry add up instead of overwriting each other.
 */
import { Counter, Gauge, Registry, register as globalRegistry, type RegistryContentType } from 'prom-client';

/** Any prom-client registry, Prometheus or OpenMetrics flavoured. */
export type AnyRegistry = Registry<RegistryContentType>;
import type { ContextErrorReason } from '../context/incoming.js';
import type { SweepResult, ViolationKind } from '../tracking/tracker.js';
import { KeyscopeConfigError } from '../errors.js';
import { type HistogramSeries, KeyscopeHistogram } from './histogram.js';
import { PendingCount, flushPending } from './pending-counter.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const SEND_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const EXEMPLAR_TRACE_ID_LABEL = 'trace_id';

type TopicLabel = 'topic';
type StreamLabel = 'topic' | 'subscription';

export interface TopicInstruments {
  readonly sent: PendingCount;
  readonly sendErrors: PendingCount;
  readonly sendDuration: HistogramSeries;
}

export interface StreamInstruments {
  readonly labels: { topic: string; subscription: string };
  readonly received: PendingCount;
  readonly unstamped: PendingCount;
  readonly acked: PendingCount;
  readonly nacked: PendingCount;
  readonly redeliveries: PendingCount;
  readonly inflightEvictions: PendingCount;
  readonly violations: Readonly<Record<ViolationKind, PendingCount>>;
  readonly processing: HistogramSeries;
  readonly endToEnd: HistogramSeries;
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
  private readonly sendDuration: KeyscopeHistogram;
  private readonly received: Counter<StreamLabel>;
  private readonly unstamped: Counter<StreamLabel>;
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
  private readonly endToEnd: KeyscopeHistogram;
  private readonly processing: KeyscopeHistogram;
  private readonly trackedKeys: Gauge;
  private readonly keyEvictions: Counter;
  private readonly inflightEvictions: Counter<StreamLabel>;
  private readonly contextErrors: Counter<TopicLabel | 'reason'>;

  private readonly topics = new Map<string, TopicInstruments>();
  private readonly streams = new Map<string, StreamInstruments>();
  private readonly contextErrorChildren = new Map<string, PendingCount>();
  private readonly pending: PendingCount[] = [];
  private readonly reported = new Map<string, ReportedStream>();
  private reportedTrackedKeys = 0;
  private reportedEvictions = 0;
  private reportedStalledKeys: Array<Record<StreamLabel | 'key', string>> = [];

  constructor(registry: AnyRegistry = globalRegistry) {
    const openMetrics = registry.contentType === Registry.OPENMETRICS_CONTENT_TYPE;
    const r = registry;
    this.sent = counter(r, 'keyscope_messages_sent_total', 'Messages sent through instrumented producers.', ['topic']);
    this.sendErrors = counter(r, 'keyscope_send_errors_total', 'Sends that failed.', ['topic']);
    this.sendDuration = histogram(
      r,
      'keyscope_send_duration_seconds',
      'Time from send() to the broker acknowledging the message.',
      ['topic'],
      SEND_BUCKETS,
      false,
    );
    this.received = counter(r, 'keyscope_messages_received_total', 'Messages delivered to the application.', ['topic', 'subscription']);
    this.unstamped = counter(
      r,
      'keyscope_unstamped_messages_total',
      'Messages received without keyscope stamps (from producers keyscope does not wrap): not checked for order unless unstampedOrdering names their own sequence.',
      ['topic', 'subscription'],
    );
    this.acked = counter(r, 'keyscope_messages_acked_total', 'Messages acknowledged.', ['topic', 'subscription']);
    this.nacked = counter(r, 'keyscope_messages_nacked_total', 'Messages negatively acknowledged.', ['topic', 'subscription']);
    this.redeliveries = counter(
      r,
      'keyscope_redeliveries_total',
      'Deliveries of a message delivered before: its id was seen in flight or settled recently, or its redelivery count is above zero.',
      ['topic', 'subscription'],
    );
    this.violations = counter(
      r,
      'keyscope_ordering_violations_total',
      'Per-key ordering and exclusivity violations seen in this process, by kind (reorder, redelivery_reorder, concurrent).',
      ['topic', 'subscription', 'kind'],
    );
    this.inflightMessages = gauge(
      r,
      'keyscope_inflight_messages',
      'Messages received and not yet acknowledged or negatively acknowledged.',
      ['topic', 'subscription'],
    );
    this.inflightKeys = gauge(r, 'keyscope_inflight_keys', 'Keys with at least one message in flight.', ['topic', 'subscription']);
    this.oldestInflight = gauge(r, 'keyscope_oldest_inflight_seconds', 'Age of the oldest message in flight.', ['topic', 'subscription']);
    this.stalledMessages = gauge(r, 'keyscope_stalled_messages', 'Messages in flight longer than the stall threshold.', [
      'topic',
      'subscription',
    ]);
    this.stalls = counter(r, 'keyscope_stalls_total', 'Messages that became stalled (counted once per message).', [
      'topic',
      'subscription',
    ]);
    this.headOfLineBlocked = gauge(
      r,
      'keyscope_head_of_line_blocked_messages',
      'In-flight messages queued behind the stalled oldest message of their key.',
      ['topic', 'subscription'],
    );
    this.stalledKeyAge = gauge(
      r,
      'keyscope_stalled_key_age_seconds',
      'Age of the oldest in-flight message of each of the top K oldest stalled keys.',
      ['topic', 'subscription', 'key'],
    );
    this.endToEnd = histogram(
      r,
      'keyscope_end_to_end_seconds',
      'Time from publish to acknowledgement.',
      ['topic', 'subscription'],
      LATENCY_BUCKETS,
      openMetrics,
    );
    this.processing = histogram(
      r,
      'keyscope_processing_seconds',
      'Time from delivery to acknowledgement or negative acknowledgement.',
      ['topic', 'subscription'],
      LATENCY_BUCKETS,
      openMetrics,
    );
    this.trackedKeys = gauge(r, 'keyscope_tracked_keys', 'Keys currently tracked (bounded by maxTrackedKeys).', []);
    this.keyEvictions = counter(r, 'keyscope_key_evictions_total', 'Tracked keys evicted to stay within maxTrackedKeys.', []);
    this.inflightEvictions = counter(
      r,
      'keyscope_inflight_evictions_total',
      'In-flight messages dropped from tracking to stay within maxInflightMessages (oldest first).',
      ['topic', 'subscription'],
    );
    this.contextErrors = counter(
      r,
      'keyscope_context_errors_total',
      'Messages with malformed or hostile stamps or trace context, by reason.',
      ['topic', 'reason'],
    );
    // A reused histogram keeps the exemplar setting it was created with.
    this.exemplars = this.endToEnd.enableExemplars || this.processing.enableExemplars;
  }

  topic(topic: string): TopicInstruments {
    let instruments = this.topics.get(topic);
    if (instruments === undefined) {
      const labels = { topic };
      instruments = {
        sent: this.pendingCount(this.sent, labels),
        sendErrors: this.pendingCount(this.sendErrors, labels),
        sendDuration: this.sendDuration.child(labels),
      };
      this.topics.set(topic, instruments);
    }
    return instruments;
  }

  stream(topic: string, subscription: string): StreamInstruments {
    const id = `${topic}\u0000${subscription}`;
    let instruments = this.streams.get(id);
    if (instruments === undefined) {
      const labels = { topic, subscription };
      instruments = {
        labels,
        received: this.pendingCount(this.received, labels),
        unstamped: this.pendingCount(this.unstamped, labels),
        acked: this.pendingCount(this.acked, labels),
        nacked: this.pendingCount(this.nacked, labels),
        redeliveries: this.pendingCount(this.redeliveries, labels),
        inflightEvictions: this.pendingCount(this.inflightEvictions, labels),
        violations: {
          reorder: this.pendingCount(this.violations, { topic, subscription, kind: 'reorder' }),
          redelivery_reorder: this.pendingCount(this.violations, { topic, subscription, kind: 'redelivery_reorder' }),
          concurrent: this.pendingCount(this.violations, { topic, subscription, kind: 'concurrent' }),
        },
        processing: this.processing.child(labels),
        endToEnd: this.endToEnd.child(labels),
      };
      this.stalls.inc(labels, 0);
      this.streams.set(id, instruments);
    }
    return instruments;
  }

  contextError(topic: string, reason: ContextErrorReason): void {
    const id = `${topic}\u0000${reason}`;
    let child = this.contextErrorChildren.get(id);
    if (child === undefined) {
      child = this.pendingCount(this.contextErrors, { topic, reason });
      this.contextErrorChildren.set(id, child);
    }
    child.inc();
  }

  /** `atMs`: the observation time (milliseconds since the epoch), the exemplar's timestamp. */
  observeProcessing(stream: StreamInstruments, seconds: number, traceId: string | undefined, atMs: number): void {
    stream.processing.observe(seconds, traceId, atMs);
  }

  observeEndToEnd(stream: StreamInstruments, seconds: number, traceId: string | undefined, atMs: number): void {
    stream.endToEnd.observe(seconds, traceId, atMs);
  }

  /** Hands accumulated counts to prom-client now (the registry also does this when it collects). */
  flush(): void {
    for (const pending of this.pending) pending.flush();
  }

  private pendingCount(counter: Counter<string>, labels: Record<string, string>): PendingCount {
    const pending = new PendingCount(counter, labels);
    this.pending.push(pending);
    return pending;
  }

  /** Writes the sweep's figures. `keyLabel` renders a key under the key policy (or its rank). */
  applySweep(result: SweepResult, keyLabel: (key: string, rank: number) => string): void {
    this.flush();
    for (const s of result.streams) {
      const { topic, subscription } = s.stream;
      const id = `${topic}\u0000${subscription}`;
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
    for (const pending of this.pending) pending.detach();
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

interface ExistingMetric {
  type?: string;
  labelNames?: string[];
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
  return (
    existing<Counter<L>>(registry, name, 'counter', labelNames) ??
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Counter<L>) {
        flushPending(this);
      },
    })
  );
}

function gauge<L extends string>(registry: AnyRegistry, name: string, help: string, labelNames: L[]): Gauge<L> {
  return existing<Gauge<L>>(registry, name, 'gauge', labelNames) ?? new Gauge({ name, help, labelNames, registers: [registry] });
}

function histogram(
  registry: AnyRegistry,
  name: string,
  help: string,
  labelNames: string[],
  buckets: number[],
  enableExemplars: boolean,
): KeyscopeHistogram {
  const found = registry.getSingleMetric(name) as unknown;
  if (found instanceof KeyscopeHistogram) {
    const sameLabels = JSON.stringify([...found.labelNames].sort()) === JSON.stringify([...labelNames].sort());
    if (sameLabels) return found;
  }
  if (found !== undefined) {
    throw new KeyscopeConfigError(
      `The registry already has a metric named ${name} that Keyscope did not create. ` +
        'Pass Keyscope a registry (option `registry`) where the keyscope_* names are free or were created by Keyscope.',
    );
  }
  const created = new KeyscopeHistogram(name, help, labelNames, buckets, enableExemplars, EXEMPLAR_TRACE_ID_LABEL);
  registry.registerMetric(created as never);
  return created;
}
