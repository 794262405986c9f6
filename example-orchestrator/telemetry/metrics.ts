/**
 * The orchestrator's own metrics (next to keyscope's keyscope_* on the same
 * registry). Every series carries `mode`; Prometheus adds `instance` per
 * process. Label values come from small fixed sets (outcomes, channels,
 * reasons), never from keys.
 */
import { Counter, Gauge, Histogram, type Registry, type RegistryContentType } from 'prom-client';
import type { DecisionOutcome } from '../domain/decide.js';
import type { Channel } from '../domain/events.js';

const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const LATENESS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];

export type Role = 'orchestrator' | 'gateway' | 'provider' | 'timer-relay';

const DECISION_OUTCOMES: readonly DecisionOutcome[] = [
  'sent',
  'capped',
  'quiet_hours',
  'unsubscribed',
  'no_channel',
  'duplicate',
  'cancelled',
  'timer_dropped',
];
const ORCHESTRATOR_DEAD_LETTER_REASONS = [
  'bad_json',
  'not_an_object',
  'unsupported_version',
  'unknown_type',
  'missing_subscriber',
  'bad_field',
  'handler_failed',
];

export class OrchestratorMetrics {
  readonly decisions: Counter<'mode' | 'outcome'>;
  readonly sends: Counter<'mode' | 'channel'>;
  readonly events: Counter<'mode' | 'type' | 'result'>;
  readonly timersScheduled: Counter<'mode'>;
  readonly lockWait: Histogram<'mode'>;
  readonly lockHold: Histogram<'mode'>;
  readonly lockContention: Counter<'mode'>;
  readonly lockFailures: Counter<'mode' | 'reason'>;
  readonly fencingRejections: Counter<'mode'>;
  readonly outOfSequence: Counter<'mode'>;
  readonly executorInFlight: Gauge<'mode' | 'role'>;
  readonly executorActiveKeys: Gauge<'mode' | 'role'>;
  readonly executorRetries: Counter<'mode' | 'role'>;
  readonly executorStalled: Counter<'mode' | 'role'>;
  readonly executorHandle: Histogram<'mode' | 'role'>;
  readonly deadLetters: Counter<'mode' | 'role' | 'reason'>;
  readonly gatewayDeliveries: Counter<'mode' | 'outcome'>;
  readonly gatewayResponses: Counter<'mode' | 'status'>;
  readonly providerRequests: Counter<'mode' | 'outcome'>;
  readonly providerLatency: Histogram<'mode'>;
  readonly sendLateness: Histogram<'mode' | 'channel'>;
  readonly timersRelayed: Counter<'mode'>;
  readonly timerRelayLag: Histogram<'mode'>;

  constructor(
    registry: Registry<RegistryContentType>,
    readonly mode: string,
  ) {
    const registers = [registry];
    this.decisions = new Counter({
      name: 'orchestrator_decisions_total',
      help: 'Send decisions by outcome (sent, capped, quiet_hours, unsubscribed, duplicate, cancelled, ...)',
      labelNames: ['mode', 'outcome'],
      registers,
    });
    this.sends = new Counter({
      name: 'orchestrator_sends_total',
      help: 'Send commands published to the outbound topic, by channel',
      labelNames: ['mode', 'channel'],
      registers,
    });
    this.events = new Counter({
      name: 'orchestrator_events_total',
      help: 'Events handled, by type and result (applied, duplicate, timer_not_pending)',
      labelNames: ['mode', 'type', 'result'],
      registers,
    });
    this.timersScheduled = new Counter({
      name: 'orchestrator_timers_scheduled_total',
      help: 'Journey timers published to the timers topic',
      labelNames: ['mode'],
      registers,
    });
    this.lockWait = new Histogram({
      name: 'orchestrator_lock_wait_seconds',
      help: 'Time to acquire a subscriber lock',
      labelNames: ['mode'],
      buckets: FAST_BUCKETS,
      registers,
    });
    this.lockHold = new Histogram({
      name: 'orchestrator_lock_hold_seconds',
      help: 'Time a subscriber lock was held',
      labelNames: ['mode'],
      buckets: FAST_BUCKETS,
      registers,
    });
    this.lockContention = new Counter({
      name: 'orchestrator_lock_contention_total',
      help: 'Lock attempts that found the lock taken',
      labelNames: ['mode'],
      registers,
    });
    this.lockFailures = new Counter({
      name: 'orchestrator_lock_failures_total',
      help: 'Lock acquisitions given up (timeout) and leases lost before release (expired)',
      labelNames: ['mode', 'reason'],
      registers,
    });
    this.fencingRejections = new Counter({
      name: 'orchestrator_fencing_rejections_total',
      help: 'State writes refused because a newer lock holder exists',
      labelNames: ['mode'],
      registers,
    });
    this.outOfSequence = new Counter({
      name: 'orchestrator_out_of_sequence_total',
      help: 'Events that arrived before their predecessor was applied and were retried',
      labelNames: ['mode'],
      registers,
    });
    this.executorInFlight = new Gauge({
      name: 'orchestrator_executor_in_flight',
      help: 'Messages taken by the keyed executor and not settled',
      labelNames: ['mode', 'role'],
      registers,
    });
    this.executorActiveKeys = new Gauge({
      name: 'orchestrator_executor_active_keys',
      help: 'Keys with messages in the keyed executor',
      labelNames: ['mode', 'role'],
      registers,
    });
    this.executorRetries = new Counter({
      name: 'orchestrator_executor_retries_total',
      help: 'Handler attempts that failed and were retried in place',
      labelNames: ['mode', 'role'],
      registers,
    });
    this.executorStalled = new Counter({
      name: 'orchestrator_executor_stalled_total',
      help: 'Messages that ran past the executor deadline',
      labelNames: ['mode', 'role'],
      registers,
    });
    this.executorHandle = new Histogram({
      name: 'orchestrator_executor_handle_seconds',
      help: 'From taking a message to settling it (waiting behind its key, retries included)',
      labelNames: ['mode', 'role'],
      buckets: FAST_BUCKETS,
      registers,
    });
    this.deadLetters = new Counter({
      name: 'orchestrator_dead_letters_total',
      help: 'Messages dead-lettered, by reason',
      labelNames: ['mode', 'role', 'reason'],
      registers,
    });
    this.gatewayDeliveries = new Counter({
      name: 'orchestrator_gateway_deliveries_total',
      help: 'Send commands settled by the gateway, by outcome (accepted, retry_of_accepted, rejected)',
      labelNames: ['mode', 'outcome'],
      registers,
    });
    this.gatewayResponses = new Counter({
      name: 'orchestrator_gateway_provider_responses_total',
      help: 'Provider responses seen by the gateway, by HTTP status (0 = network error)',
      labelNames: ['mode', 'status'],
      registers,
    });
    this.providerRequests = new Counter({
      name: 'orchestrator_provider_requests_total',
      help: 'Provider requests by outcome (accepted, retry, rate_limited, error, stale_fence, bad_request)',
      labelNames: ['mode', 'outcome'],
      registers,
    });
    this.providerLatency = new Histogram({
      name: 'orchestrator_provider_latency_seconds',
      help: 'Simulated provider latency',
      labelNames: ['mode'],
      buckets: FAST_BUCKETS,
      registers,
    });
    this.sendLateness = new Histogram({
      name: 'orchestrator_send_lateness_seconds',
      help: 'Timed sends: acceptance by the provider minus the due time (wall clock)',
      labelNames: ['mode', 'channel'],
      buckets: LATENESS_BUCKETS,
      registers,
    });
    this.timersRelayed = new Counter({
      name: 'orchestrator_timers_relayed_total',
      help: 'Due timers re-published onto the events topic',
      labelNames: ['mode'],
      registers,
    });
    this.timerRelayLag = new Histogram({
      name: 'orchestrator_timer_relay_lag_seconds',
      help: 'Re-publish time of a timer minus its due time (wall clock)',
      labelNames: ['mode'],
      buckets: LATENESS_BUCKETS,
      registers,
    });
  }

  /**
   * Creates this role's series at 0, so that a rate is 0 (not absent) until
   * the first event of its kind: "no fencing rejection" is a fact to show.
   */
  initialize(role: Role): this {
    const mode = { mode: this.mode };
    const zero = <L extends string>(counter: Counter<L>, labels: Partial<Record<L, string>>) => counter.inc(labels, 0);
    zero(this.executorRetries, { ...mode, role });
    zero(this.executorStalled, { ...mode, role });
    if (role === 'orchestrator') {
      for (const outcome of DECISION_OUTCOMES) zero(this.decisions, { ...mode, outcome });
      for (const channel of ['sms', 'email']) zero(this.sends, { ...mode, channel });
      for (const reason of ORCHESTRATOR_DEAD_LETTER_REASONS) zero(this.deadLetters, { ...mode, role, reason });
      for (const reason of ['timeout', 'lease_expired']) zero(this.lockFailures, { ...mode, reason });
      zero(this.lockContention, mode);
      zero(this.fencingRejections, mode);
      zero(this.outOfSequence, mode);
      zero(this.timersScheduled, mode);
    } else if (role === 'gateway') {
      for (const outcome of ['accepted', 'retry_of_accepted', 'rejected']) zero(this.gatewayDeliveries, { ...mode, outcome });
      zero(this.deadLetters, { ...mode, role, reason: 'delivery_failed' });
    } else if (role === 'provider') {
      for (const outcome of ['accepted', 'retry', 'rate_limited', 'error', 'stale_fence', 'bad_request'])
        zero(this.providerRequests, { ...mode, outcome });
    } else {
      zero(this.timersRelayed, mode);
    }
    return this;
  }

  decision(outcome: DecisionOutcome): void {
    this.decisions.inc({ mode: this.mode, outcome });
  }

  send(channel: Channel): void {
    this.sends.inc({ mode: this.mode, channel });
  }
}
