// Orchestrator: the reference orchestrator's decisions, keyed executor,
// Redis lock, gateway and provider, next to what keyscope sees per key in
// its consumers, so the four modes can be compared side by side.
import {
  exportDashboard,
  labelVariable,
  newDashboard,
  quantileQueries,
  row,
  stat,
  timeSeries,
  type DashboardDefinition,
  type ExportedDashboard,
} from './common.js';
import { keyscopeMetrics as k, orchestratorMetrics as o } from './metrics.js';

export const ORCHESTRATOR_UID = 'keyscope-orchestrator';

const modeSelector = 'mode=~"$mode"';
const consumerSelector = 'topic=~"$topic", subscription=~"$subscription"';

/** Rate of an orchestrator counter, summed by `by`. */
function rateBy(counter: string, by: string): string {
  return `sum by (${by}) (rate(${counter}{${modeSelector}}[$__rate_interval]))`;
}

export function buildOrchestratorDashboard(): ExportedDashboard {
  const builder = newDashboard({
    uid: ORCHESTRATOR_UID,
    title: 'Keyscope / Orchestrator',
    description:
      'The reference orchestrator (example-orchestrator/): decisions by outcome, sends by channel, the keyed executor, the per-subscriber Redis lock of shared_redis_lock, the gateway and provider, and per-key ordering and stalls as keyscope sees them in its consumers. Select one or more modes to compare them.',
    tags: ['orchestrator', 'key_shared'],
  })
    .withVariable(labelVariable({ name: 'mode', label: 'Mode', series: o.events, labelName: 'mode' }))
    .withVariable(
      labelVariable({
        name: 'topic',
        label: 'Topic',
        series: k.messagesReceived,
        labelName: 'topic',
        // The orchestrator's topics live in the public/orchestrator namespace.
        selector: 'topic=~".*/orchestrator/.*"',
      }),
    )
    .withVariable(
      labelVariable({
        name: 'subscription',
        label: 'Subscription',
        series: k.messagesReceived,
        labelName: 'subscription',
        selector: 'topic=~"$topic"',
      }),
    )

    .withRow(row('Decisions'))
    .withPanel(
      stat({
        title: 'Events handled in range',
        description: 'Subscriber and timer events applied to a subscriber state, per mode, over the selected time range.',
        queries: [
          { expr: `sum by (mode) (increase(${o.events}{${modeSelector}, result="applied"}[$__range]))`, legend: '{{mode}}', instant: true },
        ],
        width: 8,
      }),
    )
    .withPanel(
      stat({
        title: 'Sends in range',
        description: 'Send commands published to the outbound topic over the selected time range, per mode.',
        queries: [{ expr: `sum by (mode) (increase(${o.sends}{${modeSelector}}[$__range]))`, legend: '{{mode}}', instant: true }],
        width: 8,
      }),
    )
    .withPanel(
      stat({
        title: 'Dead letters in range',
        description: 'Messages given up on (malformed events, handlers failing every attempt, undeliverable sends), per mode.',
        queries: [{ expr: `sum by (mode) (increase(${o.deadLetters}{${modeSelector}}[$__range]))`, legend: '{{mode}}', instant: true }],
        width: 8,
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Decisions by outcome',
        description:
          'Every send considered: sent, capped (frequency cap), quiet_hours (deferred to the morning), unsubscribed, duplicate (the step was already sent), cancelled (an order ended the cart journey), no_channel, timer_dropped.',
        unit: 'ops',
        stacked: true,
        queries: [{ expr: rateBy(o.decisions, 'mode, outcome'), legend: '{{mode}} {{outcome}}' }],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Sends by channel',
        description: 'Send commands published per second, by channel (sms, email).',
        unit: 'ops',
        stacked: true,
        queries: [{ expr: rateBy(o.sends, 'mode, channel'), legend: '{{mode}} {{channel}}' }],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Events by result',
        description:
          'Events per second by type and result: applied, duplicate_event (a redelivery already applied), timer_not_pending (a timer that already fired or was cancelled).',
        unit: 'ops',
        queries: [{ expr: rateBy(o.events, 'mode, result'), legend: '{{mode}} {{result}}' }],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Dead letters by reason',
        description:
          'bad_json, not_an_object, unsupported_version, unknown_type, missing_subscriber, bad_field (malformed events, dead-lettered at once), handler_failed (after every retry), delivery_failed (gateway).',
        unit: 'ops',
        queries: [{ expr: rateBy(o.deadLetters, 'mode, role, reason'), legend: '{{mode}} {{role}} {{reason}}' }],
      }),
    )

    .withRow(row('Keyed executor'))
    .withPanel(
      timeSeries({
        title: 'Executor in flight and active keys',
        description: 'Messages taken by the keyed executors and not settled (bounded by maxInFlight), and keys with work, per process.',
        queries: [
          { expr: `sum by (mode, role, instance) (${o.executorInFlight}{${modeSelector}})`, legend: '{{role}} {{instance}} in flight' },
          { expr: `sum by (mode, role, instance) (${o.executorActiveKeys}{${modeSelector}})`, legend: '{{role}} {{instance}} keys' },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Executor retries and stalls',
        description:
          'Attempts that failed and were retried in place (blocking only their key), and messages that ran past the executor deadline (stalled).',
        unit: 'ops',
        queries: [
          { expr: rateBy(o.executorRetries, 'mode, role'), legend: '{{mode}} {{role}} retries' },
          { expr: rateBy(o.executorStalled, 'mode, role'), legend: '{{mode}} {{role}} stalled' },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Time per message p50 / p95 / p99',
        description: 'From taking a message to settling it: waiting behind its key, lock waits and retries included.',
        unit: 's',
        queries: quantileQueries(`${o.executorHandle}_bucket`, modeSelector, ['mode', 'role'], ' {{mode}} {{role}}'),
      }),
    )

    .withRow(row('Redis lock (shared_redis_lock)'))
    .withPanel(
      timeSeries({
        title: 'Lock wait p50 / p95 / p99',
        description:
          'Time to acquire a subscriber lock (SET NX PX with backoff): the network round trips and the contention a per-key lock adds.',
        unit: 's',
        queries: quantileQueries(`${o.lockWait}_bucket`, modeSelector, ['mode'], ' {{mode}}'),
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Lock hold p50 / p95 / p99',
        description: 'Time a subscriber lock was held: read, decide, publish, write.',
        unit: 's',
        queries: quantileQueries(`${o.lockHold}_bucket`, modeSelector, ['mode'], ' {{mode}}'),
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Lock contention, failures and fencing',
        description:
          'Acquire attempts that found the lock taken; acquisitions given up (timeout) and leases that expired before release; state writes refused because a newer holder had the lock (fencing); events that arrived before their predecessor and waited.',
        unit: 'ops',
        queries: [
          { expr: rateBy(o.lockContention, 'mode'), legend: '{{mode}} contention' },
          { expr: rateBy(o.lockFailures, 'mode, reason'), legend: '{{mode}} {{reason}}' },
          { expr: rateBy(o.fencingRejections, 'mode'), legend: '{{mode}} fencing rejections' },
          { expr: rateBy(o.outOfSequence, 'mode'), legend: '{{mode}} out of sequence' },
        ],
        width: 24,
      }),
    )

    .withRow(row('Gateway, provider and timers'))
    .withPanel(
      timeSeries({
        title: 'Provider requests by outcome',
        description:
          'accepted (a new decision), retry (a decision id seen before: at-least-once redelivery, not a double send), rate_limited (429), error (503), stale_fence (409).',
        unit: 'reqps',
        stacked: true,
        queries: [{ expr: rateBy(o.providerRequests, 'mode, outcome'), legend: '{{mode}} {{outcome}}' }],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Gateway deliveries and provider responses',
        description: 'Send commands the gateway settled, by outcome, and the provider responses it saw, by HTTP status (0 = unreachable).',
        unit: 'ops',
        queries: [
          { expr: rateBy(o.gatewayDeliveries, 'mode, outcome'), legend: '{{mode}} {{outcome}}' },
          { expr: rateBy(o.gatewayResponses, 'mode, status'), legend: '{{mode}} HTTP {{status}}' },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Provider latency p50 / p95 / p99',
        description: 'The simulated provider latency (log-normal).',
        unit: 's',
        queries: quantileQueries(`${o.providerLatency}_bucket`, modeSelector, ['mode'], ' {{mode}}'),
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Lateness of timed sends p50 / p95 / p99',
        description:
          'Reminders, follow-ups and review requests: accepted by the provider minus the time they were due (wall clock). A reminder minutes late is worthless.',
        unit: 's',
        queries: quantileQueries(`${o.sendLateness}_bucket`, modeSelector, ['mode'], ' {{mode}}'),
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Timers scheduled and relayed',
        description: 'Journey timers published to the timers topic, and due timers re-published onto the events topic by the timer relay.',
        unit: 'ops',
        queries: [
          { expr: rateBy(o.timersScheduled, 'mode'), legend: '{{mode}} scheduled' },
          { expr: rateBy(o.timersRelayed, 'mode'), legend: '{{mode}} relayed' },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Timer relay lag p99',
        description:
          'When the relay re-published a timer minus when it was due (includes the grace that keeps timers behind events published on time).',
        unit: 's',
        queries: quantileQueries(`${o.timerRelayLag}_bucket`, modeSelector, ['mode'], ' {{mode}}').slice(0, 1),
      }),
    )

    .withRow(row('Per key, as keyscope sees it'))
    .withPanel(
      timeSeries({
        title: 'Ordering violations by kind',
        description:
          'keyscope inside each orchestrator consumer: reorder (a key out of order), concurrent (two windows of one key overlapping in one process), redelivery_reorder (expected after a redelivery). Split brain across processes needs the cross-consumer auditor.',
        unit: 'ops',
        queries: [
          {
            expr: `sum by (topic, kind) (rate(${k.orderingViolations}{${consumerSelector}}[$__rate_interval]))`,
            legend: '{{topic}} {{kind}}',
          },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Stalled and head-of-line blocked',
        description:
          'Messages in flight longer than the stall threshold (the executor deadline), and messages of the same keys waiting behind them.',
        queries: [
          { expr: `sum by (topic) (${k.stalledMessages}{${consumerSelector}})`, legend: '{{topic}} stalled' },
          { expr: `sum by (topic) (${k.headOfLineBlocked}{${consumerSelector}})`, legend: '{{topic}} blocked' },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Received and redelivered',
        description:
          'Messages received by the orchestrator consumers, and redeliveries (after a consumer was killed, a nack, a reconnect).',
        unit: 'ops',
        queries: [
          {
            expr: `sum by (topic, subscription) (rate(${k.messagesReceived}{${consumerSelector}}[$__rate_interval]))`,
            legend: '{{topic}} received',
          },
          {
            expr: `sum by (topic, subscription) (rate(${k.redeliveries}{${consumerSelector}}[$__rate_interval]))`,
            legend: '{{topic}} redelivered',
          },
        ],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Processing time p99 by topic',
        description: 'keyscope process spans of the orchestrator consumers, gateway and relay: p99 per topic.',
        unit: 's',
        queries: [
          {
            expr: `histogram_quantile(0.99, sum by (le, topic) (rate(${k.processing}_bucket{${consumerSelector}}[$__rate_interval])))`,
            legend: '{{topic}} p99',
            exemplar: true,
          },
        ],
      }),
    );
  return exportDashboard(builder);
}

export const orchestratorDashboard: DashboardDefinition = {
  file: 'orchestrator.json',
  build: buildOrchestratorDashboard,
};
