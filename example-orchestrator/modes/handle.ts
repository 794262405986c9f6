/**
 * The programmatic face of a running mode (what `npm run orchestrator` and
 * the comparison drive): startMode() starts the processes of one run and
 * returns a ModeHandle.
 */
import type { JourneyPolicy } from '../domain/policy.js';
import type { Mode } from './modes.js';
import type { ExecutorSettings, LockSettings, ProviderSettings, RunInfo } from './run-info.js';

export interface StartModeOptions {
  mode: Mode;
  /** Default: a new unique id (topics, subscriptions and Redis keys are named after it). */
  runId?: string;
  /** Orchestrator consumer processes. Default 3. */
  consumers?: number;
  /** failover: partitions of the events topic. Default: max(consumers, 3). */
  partitions?: number;
  /** Default http://127.0.0.1:$PULSAR_WEB_PORT (8080). */
  pulsarUrl?: string;
  /** Default redis://127.0.0.1:$REDIS_PORT (6379). */
  redisUrl?: string;
  /** Collector OTLP/HTTP base URL; default http://127.0.0.1:$OTELCOL_OTLP_HTTP_PORT; '' = no traces. */
  otlpEndpoint?: string;
  /** Folder of the run's files. Default: $KEYSCOPE_RUN_DIR/orchestrator/<runId>. */
  runDir?: string;
  /** Simulated ms per wall ms. Default 21600 (one simulated day in 4 wall seconds). */
  speed?: number;
  /** Simulated time at the start. Default 2026-01-05T14:00:00Z. */
  simOrigin?: number;
  timerGraceMs?: number;
  /**
   * Wall clock of the simulated clock's origin. Default: now. A load planned
   * ahead (the comparison) passes a moment a little in the future and starts
   * publishing then, so that event times and timers agree.
   */
  wallOrigin?: number;
  /** Extra environment for every process of the run (e.g. ORCH_FAULT_FILE). */
  env?: Record<string, string>;
  policy?: Partial<JourneyPolicy>;
  executor?: Partial<ExecutorSettings>;
  lock?: Partial<LockSettings>;
  provider?: Partial<ProviderSettings>;
  /** Interface the processes serve /metrics (and the provider its API) on. Default $ORCHESTRATOR_METRICS_HOST or 127.0.0.1. */
  metricsHost?: string;
  /** The provider's API port. Default 0: any free port (startMode tells the gateway). */
  providerApiPort?: number;
  /** First /metrics port; processes take consecutive ports from it (see README). Default $ORCHESTRATOR_METRICS_PORT or 9480. */
  metricsBasePort?: number;
  /** Progress and process events, one line each. Default: none. */
  onProgress?: (line: string) => void;
}

export type ProcessRole = 'orchestrator' | 'gateway' | 'provider' | 'timer-relay';

export interface ProcessStats {
  /** Messages received, finished (acked), retried, dead-lettered, in the executor now. */
  received: number;
  acked: number;
  retries: number;
  deadLettered: number;
  inFlight: number;
  /** Role-specific counters, e.g. decisions by outcome, deliveries, lock waits. */
  counters: Record<string, number>;
}

export interface ProcessInfo {
  name: string;
  role: ProcessRole;
  /** orchestrator-<index>; -1 for the other roles. */
  index: number;
  pid: number | undefined;
  alive: boolean;
  metricsUrl: string | undefined;
  /** The latest stats the process reported (every 500 ms). */
  stats: ProcessStats | undefined;
  restarts: number;
}

export interface ModeHandle {
  readonly run: RunInfo;
  /** Every process of the run, orchestrators first. */
  processes(): ProcessInfo[];
  /** Orchestrator processes (index -> info). */
  consumers(): ProcessInfo[];
  /** Stats summed over every process of a role, those that exited (killed, restarted) included. */
  totals(role: ProcessRole): ProcessStats;
  /** Signal one orchestrator process (default SIGKILL, i.e. kill -9) and wait until it exited. */
  kill(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** Start orchestrator <index> again (after kill) and wait until it is subscribed. */
  restart(index: number): Promise<void>;
  /** Start one more orchestrator process; resolves with its index once subscribed. */
  addConsumer(): Promise<number>;
  /** Signal any process by name (e.g. 'gateway'), for fault injection. */
  signal(name: string, signal: NodeJS.Signals): void;
  /**
   * Waits until every message of the run is handled: no backlog on the events,
   * timers and outbound subscriptions, no pending delayed timer, every process
   * idle. Rejects after timeoutMs (default 120 s).
   */
  waitForIdle(options?: { timeoutMs?: number }): Promise<void>;
  /** Stops every process (SIGTERM, then SIGKILL after 10 s) and closes connections. Idempotent. */
  stop(): Promise<void>;
  /** Exports the Redis-held records (state writes, dead letters) to the run folder; call after waitForIdle(). */
  collect(): Promise<void>;
}
