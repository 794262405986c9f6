// Across consumers: what no single consumer can see. The auditor's
// cross-consumer exclusivity and order violations (keyscope audit, fed every
// span by the collector), and the broker's Key_Shared state from its topic
// stats (keyscope broker-exporter): draining hashes, replay, hash ranges.
import {
  exportDashboard,
  labelVariable,
  newDashboard,
  row,
  stat,
  table,
  timeSeries,
  type DashboardDefinition,
  type ExportedDashboard,
} from './common.js';
import { auditMetrics as a, brokerExporterMetrics as b } from './metrics.js';

export const ACROSS_CONSUMERS_UID = 'keyscope-across-consumers';

// The auditor's series carry the subscription, not the topic.
const auditSelector = 'subscription=~"$subscription"';
const brokerSelector = 'topic=~"$topic", subscription=~"$subscription"';
const topicSelector = 'topic=~"$topic"';
const bySubscription = 'topic, subscription';
const subscriptionLegend = '{{topic}} / {{subscription}}';

function perSubscription(gauge: string, aggregation: 'sum' | 'max' = 'sum'): string {
  return `${aggregation} by (${bySubscription}) (${gauge}{${brokerSelector}})`;
}

export function buildAcrossConsumersDashboard(): ExportedDashboard {
  const builder = newDashboard({
    uid: ACROSS_CONSUMERS_UID,
    title: 'Keyscope / Across consumers',
    description:
      "Per-key exclusivity and order across consumer processes (keyscope audit) and the broker's Key_Shared state: draining hashes, replay and hash ranges per consumer (keyscope broker-exporter).",
    tags: ['pulsar', 'key_shared'],
  })
    .withVariable(labelVariable({ name: 'topic', label: 'Topic', series: b.backlog, labelName: 'topic' }))
    .withVariable(
      labelVariable({ name: 'subscription', label: 'Subscription', series: b.backlog, labelName: 'subscription', selector: topicSelector }),
    )

    .withRow(row('Audit violations'))
    .withPanel(
      stat({
        title: 'Exclusivity violations in range',
        description:
          'Times two consumers of one subscription processed the same key at once (overlapping windows from delivery to settle, beyond the clock-skew tolerance): the split brain of Shared, or a broken Key_Shared contract.',
        queries: [{ expr: `sum(increase(${a.violations}{${auditSelector}, kind="exclusivity"}[$__range]))`, legend: 'exclusivity' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Cross-consumer reorders in range',
        description: 'First deliveries of a key and producer with a lower seq than one already processed at another consumer.',
        queries: [{ expr: `sum(increase(${a.violations}{${auditSelector}, kind="reorder"}[$__range]))`, legend: 'reorder' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Audit lag',
        description:
          'How long after the newest span of a batch ended the auditor audited it. Growing lag means the auditor does not keep up: add auditors behind the load_balancing exporter.',
        unit: 's',
        queries: [{ expr: `max(${a.lag})`, legend: 'lag' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Keys audited',
        description: 'Keys the auditor remembers within its sliding window (bounded by --max-keys).',
        queries: [{ expr: `sum(${a.keys})`, legend: 'keys' }],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Audit violations by kind',
        description: 'Violations per second found by the auditor, per subscription and kind (exclusivity, reorder).',
        unit: 'ops',
        queries: [
          {
            expr: `sum by (subscription, kind) (rate(${a.violations}{${auditSelector}}[$__rate_interval]))`,
            legend: '{{subscription}} {{kind}}',
          },
        ],
      }),
    )
    .withPanel(
      table({
        title: 'Worst keys',
        description:
          'The keys with the most violations (top K, auditor option --top-keys), as they appear on spans (hashed unless keyPolicy says otherwise). Open one with `keyscope timeline <key> --hash`.',
        queries: [{ expr: `topk(20, max by (subscription, key) (${a.violatingKeyViolations}{${auditSelector}}))` }],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Spans audited and dropped',
        description:
          'Spans per second: received, audited process spans, spans that are not process spans, and process spans dropped by reason (missing key, subscription or consumer, late, duplicate, over a cap).',
        unit: 'ops',
        queries: [
          { expr: `sum(rate(${a.spans}[$__rate_interval]))`, legend: 'received' },
          { expr: `sum(rate(${a.auditedSpans}[$__rate_interval]))`, legend: 'audited' },
          { expr: `sum(rate(${a.ignoredSpans}[$__rate_interval]))`, legend: 'not process spans' },
          { expr: `sum by (reason) (rate(${a.droppedSpans}[$__rate_interval]))`, legend: 'dropped {{reason}}' },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Audit state forgotten early',
        description:
          "Keys, windows per key and violating keys dropped to stay within the auditor's bounds, per second. Non-zero: raise the bounds or add auditors.",
        unit: 'ops',
        queries: [{ expr: `sum by (what) (rate(${a.overflow}[$__rate_interval]))`, legend: '{{what}}' }],
      }),
    )

    .withRow(row('Key_Shared draining and replay'))
    .withPanel(
      timeSeries({
        title: 'Draining hashes',
        description:
          'Hashes that moved to another consumer while the old one still holds unacked messages of them; new messages of those keys wait until it acks (PIP-379). They should drain within seconds; a lasting count means a stalled consumer, named per consumer here.',
        queries: [
          { expr: perSubscription(b.drainingHashes), legend: subscriptionLegend },
          {
            expr: `max by (${bySubscription}, consumer) (${b.consumerDrainingHashes}{${brokerSelector}})`,
            legend: `held by {{consumer}} ${subscriptionLegend}`,
          },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Unacked messages of draining hashes',
        description: 'Messages the old consumers still hold for the draining hashes, and dispatch attempts those hashes blocked.',
        queries: [
          { expr: perSubscription(b.drainingHashesUnacked), legend: `unacked ${subscriptionLegend}` },
          { expr: perSubscription(b.drainingHashesBlockedAttempts), legend: `blocked attempts ${subscriptionLegend}` },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Messages in replay',
        description:
          'Messages waiting to be redelivered (after a consumer left, nacks, or held back by draining hashes), and the subscription backlog.',
        queries: [
          { expr: perSubscription(b.messagesInReplay), legend: `replay ${subscriptionLegend}` },
          { expr: perSubscription(b.backlog), legend: `backlog ${subscriptionLegend}` },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Draining hashes cleared',
        description: 'Draining hashes that finished draining, per second: hash-range changes completing.',
        unit: 'ops',
        queries: [
          {
            expr: `sum by (${bySubscription}) (rate(${b.drainingHashesCleared}{${brokerSelector}}[$__rate_interval]))`,
            legend: subscriptionLegend,
          },
        ],
      }),
    )

    .withRow(row('Key_Shared consumers'))
    .withPanel(
      timeSeries({
        title: 'Hash range share per consumer',
        description:
          "Each consumer's share of the subscription's hash ranges: the part of the keys it owns. A consumer with a large share and a slow handler holds many keys back.",
        unit: 'percentunit',
        queries: [
          {
            expr: `max by (${bySubscription}, consumer) (${b.consumerHashRangeShare}{${brokerSelector}})`,
            legend: `${subscriptionLegend} {{consumer}}`,
          },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Unacked messages and permits per consumer',
        description:
          'Messages the subscription and each consumer hold unacked, and the permits (receiver queue room) it has granted the broker. Permits at zero with unacked messages high: a stalled consumer.',
        queries: [
          { expr: perSubscription(b.unacked), legend: `unacked ${subscriptionLegend} (all consumers)` },
          {
            expr: `max by (${bySubscription}, consumer) (${b.consumerUnacked}{${brokerSelector}})`,
            legend: `unacked ${subscriptionLegend} {{consumer}}`,
          },
          {
            expr: `max by (${bySubscription}, consumer) (${b.consumerPermits}{${brokerSelector}})`,
            legend: `permits ${subscriptionLegend} {{consumer}}`,
          },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Consumers connected and blocked',
        description:
          'Consumers connected per subscription, and 1 per consumer while the broker stopped dispatching to it because it reached maxUnackedMessagesPerConsumer.',
        queries: [
          { expr: perSubscription(b.consumers), legend: `connected ${subscriptionLegend}` },
          {
            expr: `max by (${bySubscription}, consumer) (${b.consumerBlockedOnUnacked}{${brokerSelector}})`,
            legend: `blocked ${subscriptionLegend} {{consumer}}`,
          },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Broker exporter health',
        description:
          "Whether the exporter's latest poll reached the broker for every topic, polling rounds per second (flat at zero: the exporter is stuck or gone), and failed admin API calls per second by reason.",
        queries: [
          { expr: `min(${b.up})`, legend: 'up' },
          { expr: `sum(rate(${b.polls}[$__rate_interval]))`, legend: 'polls/s' },
          { expr: `sum by (reason) (rate(${b.scrapeErrors}[$__rate_interval]))`, legend: 'errors {{reason}}' },
        ],
      }),
    );
  return exportDashboard(builder);
}

export const acrossConsumersDashboard: DashboardDefinition = {
  file: 'across-consumers.json',
  build: buildAcrossConsumersDashboard,
};
