// Pulsar subscriptions: the broker's view of each subscription — backlog,
// unacked messages, dispatch blocked on unacked messages, redeliveries — the
// panels that explain Key_Shared stalls from the broker side.
import {
  exportDashboard,
  labelVariable,
  newDashboard,
  row,
  stat,
  timeSeries,
  type DashboardDefinition,
  type ExportedDashboard,
} from './common.js';
import { pulsarMetrics as p } from './metrics.js';

export const PULSAR_SUBSCRIPTIONS_UID = 'keyscope-pulsar-subscriptions';

const subscriptionSelector = 'topic=~"$topic", subscription=~"$subscription"';
const topicSelector = 'topic=~"$topic"';
const bySubscription = 'topic, subscription';
const subscriptionLegend = '{{topic}} / {{subscription}}';

function perSubscription(gauge: string, aggregation: 'sum' | 'max' = 'sum'): string {
  return `${aggregation} by (${bySubscription}) (${gauge}{${subscriptionSelector}})`;
}

export function buildPulsarSubscriptionsDashboard(): ExportedDashboard {
  const builder = newDashboard({
    uid: PULSAR_SUBSCRIPTIONS_UID,
    title: 'Keyscope / Pulsar subscriptions',
    description:
      'Broker-side subscription health: backlog, unacked messages, dispatch blocked on unacked messages, redeliveries, rates, consumers and delayed messages. Needs exposeTopicLevelMetricsInPrometheus=true (the default) on the broker.',
    tags: ['pulsar'],
  })
    .withVariable(labelVariable({ name: 'topic', label: 'Topic', series: p.backlog, labelName: 'topic' }))
    .withVariable(
      labelVariable({
        name: 'subscription',
        label: 'Subscription',
        series: p.backlog,
        labelName: 'subscription',
        selector: topicSelector,
      }),
    )

    .withRow(row('Overview'))
    .withPanel(
      stat({
        title: 'Total backlog',
        description: 'Messages not yet acknowledged by the selected subscriptions, in total.',
        queries: [{ expr: `sum(${p.backlog}{${subscriptionSelector}})`, legend: 'backlog' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Total unacked',
        description: 'Messages delivered to consumers and not yet acknowledged.',
        queries: [{ expr: `sum(${p.unacked}{${subscriptionSelector}})`, legend: 'unacked' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Blocked subscriptions',
        description:
          'Subscriptions the broker stopped dispatching to, in whole or for one of their consumers, because maxUnackedMessagesPerSubscription or maxUnackedMessagesPerConsumer was reached.',
        queries: [
          {
            expr: `sum(max by (${bySubscription}) (${p.blockedOnUnacked}{${subscriptionSelector}} or ${p.consumerBlockedOnUnacked}{${subscriptionSelector}}))`,
            legend: 'blocked',
          },
        ],
      }),
    )
    .withPanel(
      stat({
        title: 'Connected consumers',
        description: 'Connected consumers on the selected subscriptions.',
        queries: [{ expr: `sum(${p.subscriptionConsumers}{${subscriptionSelector}})`, legend: 'consumers' }],
      }),
    )

    .withRow(row('Backlog and acknowledgements'))
    .withPanel(
      timeSeries({
        title: 'Backlog',
        description:
          'Messages in the subscription not yet acknowledged (delivered or not), and the part of them that is due (delayed messages excluded). A due backlog growing while the delivery rate stays flat is the Burrow STALL pattern.',
        queries: [
          { expr: perSubscription(p.backlog), legend: `all ${subscriptionLegend}` },
          { expr: perSubscription(p.backlogNotDelayed), legend: `due ${subscriptionLegend}` },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Unacked messages',
        description:
          'Delivered and not yet acknowledged, per subscription and per consumer. Under Key_Shared a key stays pinned to its consumer while its messages are unacked, so this is where stuck handlers show on the broker.',
        queries: [
          { expr: perSubscription(p.unacked), legend: subscriptionLegend },
          {
            expr: `sum by (${bySubscription}, consumer_name) (${p.consumerUnacked}{${subscriptionSelector}})`,
            legend: `${subscriptionLegend} consumer {{consumer_name}}`,
          },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Blocked on unacked messages',
        description:
          '1 while the broker stops dispatching to the subscription (maxUnackedMessagesPerSubscription reached) or to one of its consumers (maxUnackedMessagesPerConsumer reached).',
        queries: [
          { expr: perSubscription(p.blockedOnUnacked, 'max'), legend: `subscription ${subscriptionLegend}` },
          {
            expr: `max by (${bySubscription}, consumer_name) (${p.consumerBlockedOnUnacked}{${subscriptionSelector}})`,
            legend: `consumer {{consumer_name}} ${subscriptionLegend}`,
          },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Redelivery rate',
        description: 'Messages per second redelivered by the broker (nacks, ack timeouts, consumers leaving).',
        unit: 'ops',
        queries: [{ expr: perSubscription(p.redeliverRate), legend: subscriptionLegend }],
      }),
    )

    .withRow(row('Rates, consumers and delayed delivery'))
    .withPanel(
      timeSeries({
        title: 'Rate in / out per topic',
        description: 'Messages per second published to the topic and dispatched from it (all subscriptions).',
        unit: 'ops',
        queries: [
          { expr: `sum by (topic) (${p.topicRateIn}{${topicSelector}})`, legend: 'in {{topic}}' },
          { expr: `sum by (topic) (${p.topicRateOut}{${topicSelector}})`, legend: 'out {{topic}}' },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Delivery and ack rate per subscription',
        description: 'Messages per second dispatched to the consumers of each subscription, and acknowledged by them.',
        unit: 'ops',
        queries: [
          { expr: perSubscription(p.subscriptionRateOut), legend: `delivered ${subscriptionLegend}` },
          { expr: perSubscription(p.subscriptionAckRate), legend: `acked ${subscriptionLegend}` },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Consumers',
        description: 'Consumers connected per subscription and per topic.',
        queries: [
          { expr: perSubscription(p.subscriptionConsumers), legend: subscriptionLegend },
          { expr: `sum by (topic) (${p.consumers}{${topicSelector}})`, legend: 'topic {{topic}}' },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Delayed messages',
        description: 'Messages held back for delayed delivery (deliverAfter / deliverAt), per subscription.',
        queries: [{ expr: perSubscription(p.delayed), legend: subscriptionLegend }],
      }),
    );
  return exportDashboard(builder);
}

export const pulsarSubscriptionsDashboard: DashboardDefinition = {
  file: 'pulsar-subscriptions.json',
  build: buildPulsarSubscriptionsDashboard,
};
