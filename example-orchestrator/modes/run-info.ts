/**
 * Everything the processes of one run share, written once to
 * `<runDir>/run.json` by startMode and read by every process (its path is in
 * the ORCHESTRATOR_RUN environment variable). One run = one set of topics,
 * subscriptions and Redis keys with a unique run id, so runs never mix.
 */
import { readFileSync } from 'node:fs';
import type { SimClock } from '../domain/clock.js';
import type { JourneyPolicy } from '../domain/policy.js';
import type { Mode } from './modes.js';

export interface ExecutorSettings {
  /** Messages taken and not finished, across keys. */
  maxInFlight: number;
  /** Messages taken and not finished, per key. */
  maxKeyDepth: number;
  /** Attempts of a failing message before it is dead-lettered. */
  maxAttempts: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** A message running longer than this is reported as stalled. */
  deadlineMs: number;
}

export interface LockSettings {
  /** Lease of a lock (PX). */
  leaseMs: number;
  /** Give up acquiring after this long (the message is then retried by the executor). */
  maxWaitMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

export interface ProviderSettings {
  /** Median and 99th percentile of the simulated send latency (log-normal). */
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Share of requests answered 503. */
  errorRate: number;
  /** Requests per second above which the provider answers 429 with Retry-After. */
  rateLimitPerSecond: number;
  /** Seed of the provider's random choices. */
  seed: number;
}

export interface RunTopics {
  /** Subscriber events and timer_fired events; key = subscriber id. */
  events: string;
  /** Delayed timer messages (deliverAt = due time); read by the timer relay. */
  timers: string;
  /** Send commands; key = subscriber id; read by the gateway. */
  outbound: string;
  /** Events the orchestrator gave up on. */
  deadLetter: string;
  /** Send commands the gateway gave up on. */
  outboundDeadLetter: string;
}

export interface ProcessPorts {
  /** /metrics of orchestrator-<i> is on orchestratorBase + i. */
  orchestratorBase: number;
  gateway: number;
  timerRelay: number;
  providerMetrics: number;
  /** The provider's send API (0 = any free port). */
  providerApi: number;
}

export interface RunInfo {
  runId: string;
  mode: Mode;
  runDir: string;
  pulsarUrl: string;
  redisUrl: string;
  /** Every Redis key of the run starts with this. */
  redisPrefix: string;
  topics: RunTopics;
  subscriptions: { orchestrator: string; timers: string; gateway: string };
  /** Partitions of the events topic (0 = not partitioned). */
  partitions: number;
  clock: SimClock;
  /** Timers are delivered this long (wall) after their due time, so that events published on time are ahead of them. */
  timerGraceMs: number;
  policy: JourneyPolicy;
  executor: ExecutorSettings;
  lock: LockSettings;
  provider: ProviderSettings;
  /** OTLP/HTTP base URL of the collector; empty = no trace export. */
  otlpEndpoint: string;
  metricsHost: string;
  ports: ProcessPorts;
}

export function readRunInfo(path: string): RunInfo {
  return JSON.parse(readFileSync(path, 'utf8')) as RunInfo;
}
