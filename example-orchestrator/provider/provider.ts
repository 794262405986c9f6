/**
 * The simulated SMS/email provider's rules, apart from HTTP: a repeated
 * decision id is a retry (accepted once, answered "duplicate" afterwards);
 * every distinct decision id accepted is recorded; requests beyond the rate
 * limit get 429 with Retry-After; a share of requests fail with 503; with
 * fencing tokens (shared_redis_lock), a command whose fence is older than
 * one already seen for the subscriber comes from a holder that lost its
 * lock, and is refused (409).
 */
import type { SendCommand } from '../domain/commands.js';
import type { DeliveryRecord } from '../domain/records.js';
import type { ProviderSettings } from '../modes/run-info.js';
import { logNormal, seededRandom } from './random.js';

export type ProviderAnswer =
  | { status: 202; outcome: 'accepted'; record: DeliveryRecord }
  | { status: 200; outcome: 'retry' }
  | { status: 409; outcome: 'stale_fence' }
  | { status: 429; outcome: 'rate_limited'; retryAfterSeconds: number }
  | { status: 503; outcome: 'error' };

/** Bound on decision ids remembered while not yet accepted (their rejected-attempt counts). */
const MAX_PENDING_DECISIONS = 100_000;
/**
 * Bound on accepted decision ids remembered for deduplication (oldest
 * forgotten first): a retry arriving after a million newer decisions would
 * be taken as new. Runs of this example stay far below it.
 */
const MAX_ACCEPTED_DECISIONS = 1_000_000;

export class Provider {
  private readonly accepted = new Set<string>();
  private acceptedCount = 0;
  private readonly rejectedAttempts = new Map<string, number>();
  private readonly fences = new Map<string, number>();
  private readonly random: () => number;
  private readonly latency: () => number;
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly settings: ProviderSettings,
    private readonly clock: { wallNow(): number; simNow(): number },
  ) {
    this.random = seededRandom(settings.seed);
    this.latency = logNormal(this.random, settings.latencyP50Ms, settings.latencyP99Ms);
    this.tokens = settings.rateLimitPerSecond;
    this.refilledAt = clock.wallNow();
  }

  /** How long this request takes (ms), drawn before answering. */
  nextLatencyMs(): number {
    return this.latency();
  }

  /** Distinct decisions accepted so far. */
  get distinctAccepted(): number {
    return this.acceptedCount;
  }

  answer(command: SendCommand): ProviderAnswer {
    if (this.accepted.has(command.decisionId)) return { status: 200, outcome: 'retry' };
    if (!this.takeToken()) return this.reject(command, { status: 429, outcome: 'rate_limited', retryAfterSeconds: 1 });
    if (this.random() < this.settings.errorRate) return this.reject(command, { status: 503, outcome: 'error' });
    if (command.fence !== undefined) {
      const newest = this.fences.get(command.subscriberId) ?? 0;
      if (command.fence < newest) return this.reject(command, { status: 409, outcome: 'stale_fence' });
      this.fences.set(command.subscriberId, command.fence);
    }
    this.accepted.add(command.decisionId);
    this.acceptedCount += 1;
    if (this.accepted.size > MAX_ACCEPTED_DECISIONS) {
      const oldest = this.accepted.values().next().value;
      if (oldest !== undefined) this.accepted.delete(oldest);
    }
    const rejected = this.rejectedAttempts.get(command.decisionId) ?? 0;
    this.rejectedAttempts.delete(command.decisionId);
    const record: DeliveryRecord = {
      decisionId: command.decisionId,
      commandId: command.commandId,
      subscriberId: command.subscriberId,
      journey: command.journey,
      step: command.step,
      channel: command.channel,
      decidedAt: command.decidedAt,
      ...(command.dueTime !== undefined ? { dueTime: command.dueTime } : {}),
      trigger: command.trigger,
      decidedBy: command.decidedBy,
      acceptedAt: this.clock.wallNow(),
      acceptedSim: this.clock.simNow(),
      ...(command.triggerPublishedAt !== undefined ? { triggerPublishedAt: command.triggerPublishedAt } : {}),
      rejectedAttempts: rejected,
      ...(command.fence !== undefined ? { fence: command.fence } : {}),
    };
    return { status: 202, outcome: 'accepted', record };
  }

  private reject<A extends ProviderAnswer>(command: SendCommand, answer: A): A {
    if (!this.rejectedAttempts.has(command.decisionId) && this.rejectedAttempts.size >= MAX_PENDING_DECISIONS) {
      const oldest = this.rejectedAttempts.keys().next().value;
      if (oldest !== undefined) this.rejectedAttempts.delete(oldest);
    }
    this.rejectedAttempts.set(command.decisionId, (this.rejectedAttempts.get(command.decisionId) ?? 0) + 1);
    return answer;
  }

  private takeToken(): boolean {
    const now = this.clock.wallNow();
    const rate = this.settings.rateLimitPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.refilledAt) * rate) / 1000);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
