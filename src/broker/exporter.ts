/**
 * Polls the broker's topic stats and publishes the Key_Shared state that
 * Pulsar keeps in its admin JSON only, as keyscope_broker_* metrics. Each poll
 * replaces the whole snapshot, so a topic or consumer that is gone takes its
 * series with it. Errors are counted and logged (once per change of error),
 * never thrown: the exporter keeps polling.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { KeyscopeConfigError } from '../errors.js';
import { AdminClient, BrokerAdminError, type AdminErrorReason } from './admin.js';
import { readPartitionedStats, readTopicStats, type ReadLimits, type SubscriptionSample } from './stats.js';

export interface BrokerExporterOptions {
  /** The broker's web service URL (admin REST API), e.g. http://127.0.0.1:8080. */
  adminUrl: string;
  /** Bearer token for the admin API. */
  token?: string;
  /** Topics to watch (persistent://tenant/ns/topic). */
  topics?: string[];
  /**
   * Namespaces (tenant/namespace) whose topics are all watched. With neither
   * topics nor namespaces, the exporter watches the topics the broker at
   * adminUrl serves that have consumers or a backlog (point one exporter at
   * each broker of a cluster, or name the namespaces).
   */
  namespaces?: string[];
  /** Default 10000. */
  intervalMs?: number;
  /** Per request. Default 5000. */
  timeoutMs?: number;
  /** Topics (or partitions) polled per round; the rest are skipped and counted. Default 200. */
  maxTopics?: number;
  /** Default 50. */
  maxSubscriptionsPerTopic?: number;
  /** Consumers with their own series per subscription (most unacked first). Default 20. */
  maxConsumersPerSubscription?: number;
  registry?: Registry;
  /** Where errors and recoveries are reported. Default console.error. */
  log?: (line: string) => void;
}

type ScrapeErrorReason = AdminErrorReason | 'over_topic_cap' | 'round_timeout';
const SCRAPE_ERROR_REASONS: readonly ScrapeErrorReason[] = [
  'unreachable',
  'unauthorized',
  'not_found',
  'http_error',
  'bad_response',
  'over_topic_cap',
  'round_timeout',
];
const POLL_CONCURRENCY = 4;

export class BrokerExporter {
  readonly registry: Registry;
  /** The subscriptions of the latest poll. */
  snapshot: readonly SubscriptionSample[] = [];
  readonly scrapeErrors: Record<ScrapeErrorReason, number> = Object.fromEntries(SCRAPE_ERROR_REASONS.map((r) => [r, 0])) as Record<
    ScrapeErrorReason,
    number
  >;
  /** Completed polls. */
  polls = 0;
  /** Whether the latest poll reached the broker for every target. */
  up = false;

  private readonly admin: AdminClient;
  private readonly topics: readonly string[];
  private readonly namespaces: readonly string[];
  private readonly intervalMs: number;
  private readonly maxTopics: number;
  private readonly limits: ReadLimits;
  private readonly log: (line: string) => void;
  /** The last error logged per target, so a lasting fault is logged once. */
  private readonly lastErrors = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  /** Rounds started; a round abandoned by the watchdog must not overwrite a later one's snapshot. */
  private rounds = 0;
  private readonly roundTimeoutMs: number;
  private closed = false;

  constructor(options: BrokerExporterOptions) {
    if (typeof options?.adminUrl !== 'string' || !/^https?:\/\//.test(options.adminUrl)) {
      throw new KeyscopeConfigError(
        `Option \`adminUrl\` must be the broker's http(s) web service URL, e.g. http://127.0.0.1:8080 (got ${String(options?.adminUrl)}).`,
      );
    }
    const positive = (name: string, value: number | undefined, fallback: number): number => {
      if (value === undefined) return fallback;
      if (!Number.isInteger(value) || value <= 0)
        throw new KeyscopeConfigError(
          `Option \`${name}\` must be a positive integer (got ${String(value)}); omit it for the default ${fallback}.`,
        );
      return value;
    };
    this.intervalMs = positive('intervalMs', options.intervalMs, 10_000);
    this.maxTopics = positive('maxTopics', options.maxTopics, 200);
    this.limits = {
      maxSubscriptionsPerTopic: positive('maxSubscriptionsPerTopic', options.maxSubscriptionsPerTopic, 50),
      maxConsumersPerSubscription: positive('maxConsumersPerSubscription', options.maxConsumersPerSubscription, 20),
    };
    this.topics = options.topics ?? [];
    this.namespaces = options.namespaces ?? [];
    const timeoutMs = positive('timeoutMs', options.timeoutMs, 5000);
    this.admin = new AdminClient({ adminUrl: options.adminUrl, token: options.token, timeoutMs });
    this.roundTimeoutMs = Math.max(this.intervalMs * 3, timeoutMs * 6);
    this.log = options.log ?? ((line) => console.error(line));
    this.registry = options.registry ?? new Registry();
    this.registerMetrics();
  }

  /** Polls now and then every intervalMs until close(). */
  start(): void {
    if (this.timer !== undefined || this.closed) return;
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  /**
   * One round over every target; a round still running is joined rather than
   * doubled. Requests time out one by one, and a watchdog abandons a round
   * that still has not finished, so one hung call cannot stop the polling.
   */
  poll(): Promise<void> {
    if (this.polling === undefined) {
      const round = ++this.rounds;
      let timer: NodeJS.Timeout | undefined;
      const watchdog = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.scrapeErrors.round_timeout++;
          this.up = false;
          this.logOnce('round', `broker-exporter: a polling round took longer than ${this.roundTimeoutMs / 1000}s; starting the next one`);
          resolve();
        }, this.roundTimeoutMs);
        timer.unref();
      });
      this.polling = Promise.race([this.pollOnce(round), watchdog]).finally(() => {
        clearTimeout(timer);
        this.polling = undefined;
      });
    }
    return this.polling;
  }

  private async pollOnce(round: number): Promise<void> {
    let ok = true;
    const targets = new Set(this.topics);
    if (this.topics.length === 0 && this.namespaces.length === 0) {
      try {
        for (const topic of await this.admin.activeTopics()) targets.add(topic);
        this.recovered('topic discovery');
      } catch (error) {
        ok = false;
        this.failed('topic discovery', error);
      }
    }
    for (const namespace of this.namespaces) {
      try {
        for (const topic of await this.admin.namespaceTopics(namespace)) targets.add(topic);
        this.recovered(`namespace ${namespace}`);
      } catch (error) {
        ok = false;
        this.failed(`namespace ${namespace}`, error);
      }
    }
    const list = [...targets];
    if (list.length > this.maxTopics) {
      this.scrapeErrors.over_topic_cap += list.length - this.maxTopics;
      this.logOnce(
        'topic cap',
        `broker-exporter: ${list.length} topics, polling the first ${this.maxTopics} (raise --max-topics or name the topics with --topic)`,
      );
      list.length = this.maxTopics;
    }
    const samples: SubscriptionSample[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < list.length) {
        const topic = list[next++] as string;
        try {
          samples.push(...(await this.topicSamples(topic)));
          this.recovered(`topic ${topic}`);
        } catch (error) {
          ok = false;
          this.failed(`topic ${topic}`, error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(POLL_CONCURRENCY, list.length) }, worker));
    samples.sort((a, b) => (a.topic === b.topic ? a.subscription.localeCompare(b.subscription) : a.topic.localeCompare(b.topic)));
    if (round !== this.rounds) return;
    this.recovered('round');
    this.snapshot = samples;
    this.up = ok;
    this.polls++;
  }

  private async topicSamples(topic: string): Promise<SubscriptionSample[]> {
    const partitions = await this.admin.partitions(topic);
    if (partitions > 0) return readPartitionedStats(await this.admin.partitionedStats(topic), this.limits);
    return readTopicStats(topic, await this.admin.topicStats(topic), this.limits);
  }

  private failed(target: string, error: unknown): void {
    const reason: ScrapeErrorReason = error instanceof BrokerAdminError ? error.reason : 'bad_response';
    this.scrapeErrors[reason]++;
    this.logOnce(
      target,
      `broker-exporter: ${error instanceof Error ? error.message : String(error)}; retrying every ${this.intervalMs / 1000}s`,
    );
  }

  private recovered(target: string): void {
    if (this.lastErrors.delete(target)) this.log(`broker-exporter: ${target} is back`);
  }

  private logOnce(target: string, line: string): void {
    if (this.lastErrors.get(target) === line) return;
    this.lastErrors.set(target, line);
    this.log(line);
  }

  private registerMetrics(): void {
    const registers = [this.registry];
    const sub = ['topic', 'subscription'] as const;
    const consumerLabels = ['topic', 'subscription', 'consumer'] as const;
    const perSubscription = (name: string, help: string, pick: (s: SubscriptionSample) => number | undefined): void => {
      const snapshotOf = (): readonly SubscriptionSample[] => this.snapshot;
      new Gauge({
        name,
        help,
        labelNames: sub,
        registers,
        collect() {
          this.reset();
          for (const s of snapshotOf()) {
            const value = pick(s);
            if (value !== undefined) this.set({ topic: s.topic, subscription: s.subscription }, value);
          }
        },
      });
    };
    const perConsumer = (name: string, help: string, pick: (c: SubscriptionSample['consumers'][number]) => number | undefined): void => {
      const snapshotOf = (): readonly SubscriptionSample[] => this.snapshot;
      new Gauge({
        name,
        help,
        labelNames: consumerLabels,
        registers,
        collect() {
          this.reset();
          for (const s of snapshotOf()) {
            for (const c of s.consumers) {
              const value = pick(c);
              if (value !== undefined) this.set({ topic: s.topic, subscription: s.subscription, consumer: c.consumer }, value);
            }
          }
        },
      });
    };
    perSubscription(
      'keyscope_broker_draining_hashes',
      'Key_Shared hashes draining: held by a consumer that lost them, new deliveries of them wait for its acks (PIP-379).',
      (s) => s.drainingHashes,
    );
    perSubscription(
      'keyscope_broker_draining_hashes_unacked_messages',
      'Unacked messages of the draining hashes.',
      (s) => s.drainingHashesUnackedMessages,
    );
    perSubscription(
      'keyscope_broker_draining_hashes_blocked_attempts',
      'Dispatch attempts blocked by the current draining hashes (sum over consumers).',
      (s) => s.drainingHashesBlockedAttempts,
    );
    perSubscription(
      'keyscope_broker_messages_in_replay',
      'Messages waiting for redelivery (replay), e.g. behind draining hashes or after a consumer left.',
      (s) => s.messagesInReplay,
    );
    perSubscription('keyscope_broker_backlog_messages', 'Subscription backlog (messages not yet acknowledged).', (s) => s.backlogMessages);
    perSubscription(
      'keyscope_broker_unacked_messages',
      'Messages delivered and not yet acknowledged, over all consumers.',
      (s) => s.unackedMessages,
    );
    perSubscription('keyscope_broker_consumers', 'Consumers connected (series per consumer are capped).', (s) => s.consumerCount);
    const snapshotOf = (): readonly SubscriptionSample[] => this.snapshot;
    new Counter({
      name: 'keyscope_broker_draining_hashes_cleared_total',
      help: "Draining hashes that finished draining (the broker's counter; resets when the broker restarts).",
      labelNames: sub,
      registers,
      collect() {
        this.reset();
        for (const s of snapshotOf()) {
          if (s.drainingHashesClearedTotal !== undefined)
            this.inc({ topic: s.topic, subscription: s.subscription }, s.drainingHashesClearedTotal);
        }
      },
    });
    perConsumer(
      'keyscope_broker_consumer_unacked_messages',
      'Messages delivered to the consumer and not yet acknowledged.',
      (c) => c.unackedMessages,
    );
    perConsumer(
      'keyscope_broker_consumer_blocked_on_unacked',
      '1 while the broker stopped dispatching to the consumer for too many unacked messages.',
      (c) => (c.blockedOnUnacked === undefined ? undefined : c.blockedOnUnacked ? 1 : 0),
    );
    perConsumer(
      'keyscope_broker_consumer_available_permits',
      'Permits (receiver queue room) the consumer has granted the broker.',
      (c) => c.availablePermits,
    );
    perConsumer(
      'keyscope_broker_consumer_hash_range_share',
      "The consumer's share (0..1) of the Key_Shared hash ranges assigned to the subscription's consumers.",
      (c) => c.hashRangeShare,
    );
    perConsumer('keyscope_broker_consumer_draining_hashes', 'Draining hashes held by the consumer.', (c) => c.drainingHashes);
    const errors = this.scrapeErrors;
    new Counter({
      name: 'keyscope_broker_scrape_errors_total',
      help: 'Admin API calls that failed, by reason (unreachable, unauthorized, not_found, http_error, bad_response, over_topic_cap, round_timeout).',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const reason of SCRAPE_ERROR_REASONS) this.inc({ reason }, errors[reason]);
      },
    });
    const pollsOf = (): number => this.polls;
    new Counter({
      name: 'keyscope_broker_polls_total',
      help: 'Polling rounds completed (a flat line means the exporter is stuck or stopped).',
      registers,
      collect() {
        this.reset();
        this.inc(pollsOf());
      },
    });
    const upOf = (): number => (this.up ? 1 : 0);
    new Gauge({
      name: 'keyscope_broker_up',
      help: '1 when the latest poll reached the broker for every topic and namespace.',
      registers,
      collect() {
        this.set(upOf());
      },
    });
  }
}
