// Key health: what the keyscope library sees inside the consumers — per-key
// ordering, exclusivity, stalls, head-of-line blocking and latency.
import { PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import {
  exportDashboard,
  histogramHeatmap,
  labelVariable,
  newDashboard,
  quantileQueries,
  row,
  stat,
  table,
  timeSeries,
  type DashboardDefinition,
  type ExportedDashboard,
} from './common.js';
import { keyscopeMetrics as m } from './metrics.js';

export const KEY_HEALTH_UID = 'keyscope-key-health';

const consumerSelector = 'topic=~"$topic", subscription=~"$subscription"';
const topicSelector = 'topic=~"$topic"';
const bySubscription = 'topic, subscription';
const subscriptionLegend = '{{topic}} / {{subscription}}';

/** Rate of a consumer-side counter per topic and subscription. */
function consumerRate(counter: string): string {
  return `sum by (${bySubscription}) (rate(${counter}{${consumerSelector}}[$__rate_interval]))`;
}

function consumerGauge(gauge: string, aggregation: 'sum' | 'max' = 'sum'): string {
  return `${aggregation} by (${bySubscription}) (${gauge}{${consumerSelector}})`;
}

export function buildKeyHealthDashboard(): ExportedDashboard {
  const builder = newDashboard({
    uid: KEY_HEALTH_UID,
    title: 'Keyscope / Key health',
    description: 'Per-key ordering, exclusivity, stalls and latency as seen by the keyscope library inside producers and consumers.',
    tags: ['pulsar', 'key_shared'],
  })
    .withVariable(labelVariable({ name: 'topic', label: 'Topic', series: m.messagesReceived, labelName: 'topic' }))
    .withVariable(
      labelVariable({
        name: 'subscription',
        label: 'Subscription',
        series: m.messagesReceived,
        labelName: 'subscription',
        selector: topicSelector,
      }),
    )

    .withRow(row('Overview'))
    .withPanel(
      stat({
        title: 'Ordering violations in range',
        description: 'reorder and concurrent are faults; redelivery_reorder is expected after a nack or an ack timeout and is shown apart.',
        queries: [
          {
            expr: `sum by (kind) (increase(${m.orderingViolations}{${consumerSelector}}[$__range]))`,
            legend: '{{kind}}',
            instant: true,
          },
        ],
      }),
    )
    .withPanel(
      stat({
        title: 'Stalled messages',
        description: 'Messages in flight for longer than the stall threshold (stallThresholdMs), now.',
        queries: [{ expr: `sum(${m.stalledMessages}{${consumerSelector}})`, legend: 'stalled' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Oldest in flight',
        description: 'Age of the oldest message received and not yet acked or nacked.',
        unit: 's',
        queries: [{ expr: `max(${m.oldestInflight}{${consumerSelector}})`, legend: 'oldest' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Messages in flight',
        description: 'Received and not yet acked or nacked, summed over consumers.',
        queries: [{ expr: `sum(${m.inflightMessages}{${consumerSelector}})`, legend: 'in flight' }],
      }),
    )

    .withRow(row('Throughput'))
    .withPanel(
      timeSeries({
        title: 'Received, acked and nacked',
        description: 'Messages per second through the instrumented consumers.',
        unit: 'ops',
        width: 12,
        queries: [
          { expr: consumerRate(m.messagesReceived), legend: `received ${subscriptionLegend}` },
          { expr: consumerRate(m.messagesAcked), legend: `acked ${subscriptionLegend}` },
          { expr: consumerRate(m.messagesNacked), legend: `nacked ${subscriptionLegend}` },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Redeliveries',
        description: 'Messages delivered again (redelivery count > 0): after a nack, an ack timeout or a consumer leaving.',
        unit: 'ops',
        width: 12,
        queries: [{ expr: consumerRate(m.redeliveries), legend: subscriptionLegend }],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Sent and send errors',
        description: 'Messages per second through the instrumented producers; send errors show as 0 while there are none.',
        unit: 'ops',
        width: 12,
        queries: [
          {
            expr: `sum by (topic) (rate(${m.messagesSent}{${topicSelector}}[$__rate_interval]))`,
            legend: 'sent {{topic}}',
          },
          {
            expr:
              `sum by (topic) (rate(${m.sendErrors}{${topicSelector}}[$__rate_interval]))` +
              ` or (0 * sum by (topic) (rate(${m.messagesSent}{${topicSelector}}[$__rate_interval])))`,
            legend: 'errors {{topic}}',
          },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Send latency',
        description: 'Time from send to the broker acknowledging the message, per topic.',
        unit: 's',
        width: 12,
        queries: quantileQueries(`${m.sendDuration}_bucket`, topicSelector, ['topic'], ' {{topic}}'),
      }),
    )

    .withRow(row('Ordering and exclusivity'))
    .withPanel(
      timeSeries({
        title: 'Ordering violations by kind',
        description:
          'reorder: a first delivery older than one already seen for its key and producer. concurrent: two processing windows of one key overlapped. redelivery_reorder: the same as reorder for a redelivered message (expected after nack).',
        width: 24,
        queries: [
          {
            expr: `sum by (topic, subscription, kind) (increase(${m.orderingViolations}{${consumerSelector}}[$__rate_interval]))`,
            legend: `{{kind}} ${subscriptionLegend}`,
          },
        ],
      }),
    )

    .withRow(row('In flight, stalls and head-of-line blocking'))
    .withPanel(
      timeSeries({
        title: 'In-flight messages and keys',
        description: 'Messages received and not settled, and the number of distinct keys they belong to.',
        width: 12,
        queries: [
          { expr: consumerGauge(m.inflightMessages), legend: `messages ${subscriptionLegend}` },
          { expr: consumerGauge(m.inflightKeys), legend: `keys ${subscriptionLegend}` },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Oldest in-flight age',
        description: 'Age of the oldest unsettled message; a line that keeps climbing is a stuck handler.',
        unit: 's',
        width: 12,
        queries: [{ expr: consumerGauge(m.oldestInflight, 'max'), legend: subscriptionLegend }],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Stalled and head-of-line blocked messages',
        description:
          'Stalled: in flight longer than the stall threshold. Head-of-line blocked: arrived behind a stalled message of the same key and waits for it.',
        width: 12,
        queries: [
          { expr: consumerGauge(m.stalledMessages), legend: `stalled ${subscriptionLegend}` },
          { expr: consumerGauge(m.headOfLineBlocked), legend: `blocked ${subscriptionLegend}` },
          {
            expr: `sum by (${bySubscription}) (increase(${m.stalls}{${consumerSelector}}[$__rate_interval]))`,
            legend: `new stalls ${subscriptionLegend}`,
          },
        ],
      }),
    )
    .withPanel(
      table({
        title: 'Top stalled keys',
        description:
          'The oldest stalled keys (top K per consumer, keyscope option topStalledKeys) and how long their oldest message has been in flight. Keys are hashed unless the keyPolicy option says otherwise.',
        unit: 's',
        width: 12,
        queries: [
          {
            expr: `topk(20, max by (topic, subscription, key) (${m.stalledKeyAge}{${consumerSelector}}))`,
            format: PromQueryFormat.Table,
          },
        ],
      }),
    )

    .withRow(row('Latency'))
    .withPanel(
      histogramHeatmap({
        title: 'End-to-end latency',
        description: 'From the producer stamping the message to the consumer settling it. Exemplars open the trace in Jaeger.',
        bucketSeries: `${m.endToEnd}_bucket`,
        selector: consumerSelector,
      }),
    )
    .withPanel(
      timeSeries({
        title: 'End-to-end latency p50 / p95 / p99',
        description: 'Quantiles over all selected subscriptions. Exemplars (dots) open the trace in Jaeger.',
        unit: 's',
        queries: quantileQueries(`${m.endToEnd}_bucket`, consumerSelector, []),
      }),
    )
    .withPanel(
      histogramHeatmap({
        title: 'Processing time',
        description: 'Time the handler held the message (processing window). Exemplars open the trace in Jaeger.',
        bucketSeries: `${m.processing}_bucket`,
        selector: consumerSelector,
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Processing time p50 / p95 / p99',
        description: 'Quantiles over all selected subscriptions. Exemplars (dots) open the trace in Jaeger.',
        unit: 's',
        queries: quantileQueries(`${m.processing}_bucket`, consumerSelector, []),
      }),
    )

    .withRow(row('Library health'))
    .withPanel(
      timeSeries({
        title: 'Tracked keys and evictions',
        description:
          'Keys in the bounded key table per process (maxTrackedKeys) and evictions per second. Evictions of idle keys are normal; a steady high rate means the cap is too small for the key space.',
        width: 12,
        queries: [
          { expr: `sum by (instance) (${m.trackedKeys})`, legend: 'tracked {{instance}}' },
          {
            expr: `sum by (instance) (rate(${m.keyEvictions}[$__rate_interval]))`,
            legend: 'evictions/s {{instance}}',
          },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'In-flight evictions',
        description:
          'Deliveries dropped from tracking per second because more than maxInflightMessages (default 100000) were in flight; the oldest goes first. Their messages and acks are untouched, but stall, age and latency figures no longer see them. Anything above 0 means an application that does not ack, or a bound too small for its throughput.',
        unit: 'ops',
        width: 12,
        queries: [{ expr: consumerRate(m.inflightEvictions), legend: subscriptionLegend }],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Context errors',
        description: 'Messages whose trace context or keyscope stamps were malformed or hostile; they flowed on with a fresh trace.',
        unit: 'ops',
        width: 12,
        queries: [
          {
            expr: `sum by (topic, reason) (rate(${m.contextErrors}{${topicSelector}}[$__rate_interval]))`,
            legend: '{{reason}} {{topic}}',
          },
        ],
      }),
    );
  return exportDashboard(builder);
}

export const keyHealthDashboard: DashboardDefinition = {
  file: 'key-health.json',
  build: buildKeyHealthDashboard,
};
