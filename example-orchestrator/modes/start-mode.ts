/**
 * startMode(): one run of one mode as OS processes: the provider, the
 * gateway, the timer relay and N orchestrator consumers, each a Node process
 * with its own /metrics port, its output in the run's logs folder and its
 * stats reported to this process over IPC.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RUN_FILES } from '../domain/records.js';
import { resolvePolicy } from '../domain/policy.js';
import { JsonlWriter } from '../run/jsonl.js';
import { redisPrefixOf } from '../store/keys.js';
import { connectRedis } from '../store/redis-connection.js';
import { RedisStore } from '../store/redis-store.js';
import { PROVIDER_URL_ENV } from '../gateway/env.js';
import type { ModeHandle, ProcessInfo, ProcessRole, ProcessStats, StartModeOptions } from './handle.js';
import { MODE_TRAITS } from './modes.js';
import { INDEX_ENV, NAME_ENV, RUN_ENV, type ChildMessage } from './process-runtime.js';
import type { RunInfo } from './run-info.js';
import { PulsarAdmin } from './pulsar-admin.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ORCHESTRATOR_ROOT = resolve(HERE, '..');
const REPO_ROOT = resolve(ORCHESTRATOR_ROOT, '..');
const NAMESPACE = 'public/orchestrator';
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 10_000;

const ENTRY_POINTS: Record<ProcessRole, string> = {
  orchestrator: join(ORCHESTRATOR_ROOT, 'modes', 'orchestrator-process.ts'),
  gateway: join(ORCHESTRATOR_ROOT, 'gateway', 'gateway-process.ts'),
  provider: join(ORCHESTRATOR_ROOT, 'provider', 'provider-process.ts'),
  'timer-relay': join(ORCHESTRATOR_ROOT, 'timers', 'relay-process.ts'),
};

const MODE_SHORT = { key_shared: 'ks', shared: 'sh', failover: 'fo', shared_redis_lock: 'lk' } as const;

/** Monday 2026-01-05, 14:00 UTC: 9 am in New York, 6 am (quiet hours) in Los Angeles. */
const DEFAULT_SIM_ORIGIN = Date.UTC(2026, 0, 5, 14, 0, 0);
const DEFAULT_SPEED = 21_600;

export function resolveRun(options: StartModeOptions): RunInfo {
  const env = process.env;
  const mode = options.mode;
  const traits = MODE_TRAITS[mode];
  const runId = options.runId ?? `${MODE_SHORT[mode]}-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(runId))
    throw new Error(`runId "${runId}" may only use letters, digits, _ and - (it names topics and Redis keys)`);
  const runDir = options.runDir ?? join(env.KEYSCOPE_RUN_DIR ?? join(REPO_ROOT, '.run'), 'orchestrator', runId);
  const consumers = options.consumers ?? 3;
  const topic = (suffix: string) => `persistent://${NAMESPACE}/${runId}-${suffix}`;
  const metricsBase = options.metricsBasePort ?? Number(env.ORCHESTRATOR_METRICS_PORT ?? '9480');
  return {
    runId,
    mode,
    runDir,
    pulsarUrl: options.pulsarUrl ?? env.KEYSCOPE_PULSAR_URL ?? `http://127.0.0.1:${env.PULSAR_WEB_PORT ?? '8080'}`,
    redisUrl: options.redisUrl ?? `redis://127.0.0.1:${env.REDIS_PORT ?? '6379'}`,
    redisPrefix: redisPrefixOf(runId),
    topics: {
      events: topic('events'),
      timers: topic('timers'),
      outbound: topic('outbound'),
      deadLetter: topic('events-dlq'),
      outboundDeadLetter: topic('outbound-dlq'),
    },
    subscriptions: { orchestrator: 'orchestrator', timers: 'timer-relay', gateway: 'gateway' },
    partitions: traits.partitioned ? (options.partitions ?? Math.max(consumers, 3)) : 0,
    clock: {
      wallOrigin: options.wallOrigin ?? Date.now(),
      simOrigin: options.simOrigin ?? DEFAULT_SIM_ORIGIN,
      speed: options.speed ?? DEFAULT_SPEED,
    },
    timerGraceMs: options.timerGraceMs ?? 500,
    policy: resolvePolicy(options.policy),
    executor: {
      maxInFlight: 256,
      maxKeyDepth: 16,
      maxAttempts: 12,
      retryInitialMs: 10,
      retryMaxMs: 1_000,
      // The slow-subscriber fault holds a message 3 s: past this, both the executor and keyscope call it stalled.
      deadlineMs: 2_000,
      ...options.executor,
    },
    lock: { leaseMs: 5_000, maxWaitMs: 3_000, backoffInitialMs: 2, backoffMaxMs: 50, ...options.lock },
    provider: { latencyP50Ms: 5, latencyP99Ms: 40, errorRate: 0.02, rateLimitPerSecond: 2_000, seed: 1, ...options.provider },
    otlpEndpoint: options.otlpEndpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? `http://127.0.0.1:${env.OTELCOL_OTLP_HTTP_PORT ?? '4318'}`,
    metricsHost: options.metricsHost ?? env.ORCHESTRATOR_METRICS_HOST ?? '127.0.0.1',
    ports: {
      providerMetrics: metricsBase,
      gateway: metricsBase + 1,
      timerRelay: metricsBase + 2,
      orchestratorBase: metricsBase + 5,
      providerApi: options.providerApiPort ?? 0,
    },
  };
}

interface Child {
  info: ProcessInfo;
  process: ChildProcess | undefined;
  exited: Promise<void>;
}

/**
 * Everything but the processes: the run's settings, its namespace and (for
 * failover) its partitioned topic, its folder with run.json and an empty
 * event log. Returns the path of run.json. Processes started elsewhere
 * (docker compose) only need ORCHESTRATOR_RUN pointing at it.
 */
export async function prepareRun(run: RunInfo): Promise<string> {
  const admin = new PulsarAdmin(run.pulsarUrl);
  await admin.ensureNamespace(NAMESPACE);
  if (run.partitions > 0) await admin.createPartitionedTopic(run.topics.events, run.partitions);
  mkdirSync(join(run.runDir, RUN_FILES.logs), { recursive: true });
  const runFile = join(run.runDir, RUN_FILES.run);
  writeFileSync(runFile, `${JSON.stringify(run, null, 2)}\n`);
  // The event log exists from the start, even before anything is published.
  await new JsonlWriter(join(run.runDir, RUN_FILES.events)).close();
  return runFile;
}

export async function startMode(options: StartModeOptions): Promise<ModeHandle> {
  const run = resolveRun(options);
  const progress = options.onProgress ?? (() => {});
  const consumers = options.consumers ?? 3;
  if (!Number.isInteger(consumers) || consumers < 1) throw new Error(`consumers must be an integer >= 1, got ${consumers}`);
  const admin = new PulsarAdmin(run.pulsarUrl);
  const runFile = await prepareRun(run);
  progress(`run ${run.runId}: ${run.mode} (${MODE_TRAITS[run.mode].summary}), files in ${run.runDir}`);

  const children = new Map<string, Child>();
  /** Last reports of processes that exited, so totals survive a kill and restart. */
  const exitedInfos: ProcessInfo[] = [];
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  let providerUrl = '';
  let stopped = false;

  const launch = async (role: ProcessRole, index: number): Promise<Child> => {
    const name = role === 'orchestrator' ? `orchestrator-${index}` : role;
    const previous = children.get(name);
    if (previous?.info.alive) throw new Error(`${name} is already running (pid ${previous.info.pid})`);
    const logPath = join(run.runDir, RUN_FILES.logs, `${name}.log`);
    const logFd = openSync(logPath, 'a');
    const child = spawn(process.execPath, ['--conditions=keyscope-source', '--import', loader, ENTRY_POINTS[role]], {
      cwd: ORCHESTRATOR_ROOT,
      env: {
        ...process.env,
        ...options.env,
        [RUN_ENV]: runFile,
        [NAME_ENV]: name,
        [INDEX_ENV]: String(index),
        ...(role === 'gateway' ? { [PROVIDER_URL_ENV]: providerUrl } : {}),
      },
      stdio: ['ignore', logFd, logFd, 'ipc'],
    });
    closeSync(logFd);
    const info: ProcessInfo = {
      name,
      role,
      index: role === 'orchestrator' ? index : -1,
      pid: child.pid,
      alive: true,
      metricsUrl: undefined,
      stats: undefined,
      restarts: previous === undefined ? 0 : previous.info.restarts + 1,
    };
    let markReady: (message: { metricsUrl: string; apiUrl?: string }) => void = () => {};
    let markFailed: (error: Error) => void = () => {};
    const ready = new Promise<{ metricsUrl: string; apiUrl?: string }>((resolveReady, rejectReady) => {
      markReady = resolveReady;
      markFailed = rejectReady;
    });
    let fatal = '';
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') {
        info.metricsUrl = message.metricsUrl;
        markReady(message);
      } else if (message.type === 'stats') {
        info.stats = message.stats;
      } else if (message.type === 'fatal') {
        fatal = message.message;
      }
    });
    const exited = new Promise<void>((resolveExit) => {
      child.once('exit', (code, signal) => {
        info.alive = false;
        exitedInfos.push({ ...info });
        const how = signal !== null ? `signal ${signal}` : `code ${code}`;
        if (!stopped) progress(`${name} (pid ${child.pid}) exited with ${how}${fatal ? `: ${fatal}` : ''} (log: ${logPath})`);
        markFailed(new Error(`${name} exited with ${how} before it was ready${fatal ? `: ${fatal}` : ''}; see ${logPath}`));
        resolveExit();
      });
    });
    const entry: Child = { info, process: child, exited };
    children.set(name, entry);
    const timeout = sleep(READY_TIMEOUT_MS, undefined, { ref: false }).then(() => {
      throw new Error(`${name} was not ready within ${READY_TIMEOUT_MS / 1000} s; see ${logPath}`);
    });
    const { apiUrl } = await Promise.race([ready, timeout]);
    if (role === 'provider' && apiUrl !== undefined) providerUrl = apiUrl;
    progress(`${name} ready (pid ${child.pid}, metrics ${info.metricsUrl})`);
    return entry;
  };

  const orchestratorNames = () => [...children.values()].filter((child) => child.info.role === 'orchestrator').map((child) => child.info);

  const stopChild = async (child: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (!child.info.alive || child.process === undefined) return;
    child.process.kill(signal);
    const exitedInTime = await Promise.race([child.exited.then(() => true), sleep(STOP_GRACE_MS, false, { ref: false })]);
    if (!exitedInTime) {
      progress(`${child.info.name} did not stop within ${STOP_GRACE_MS / 1000} s; killing it`);
      child.process.kill('SIGKILL');
      await child.exited;
    }
  };

  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    // Consumers first (they finish what they hold), the provider last.
    const order: ProcessRole[] = ['orchestrator', 'timer-relay', 'gateway', 'provider'];
    for (const role of order) {
      await Promise.all([...children.values()].filter((child) => child.info.role === role).map((child) => stopChild(child)));
    }
  };

  try {
    await launch('provider', -1);
    await Promise.all([
      launch('gateway', -1),
      launch('timer-relay', -1),
      ...Array.from({ length: consumers }, (_, index) => launch('orchestrator', index)),
    ]);
  } catch (error) {
    await stopAll();
    throw error;
  }

  const handle: ModeHandle = {
    run,
    processes: () => [...children.values()].map((child) => ({ ...child.info })),
    consumers: () => orchestratorNames().map((info) => ({ ...info })),
    totals: (role) =>
      totalStats(
        [...exitedInfos, ...[...children.values()].filter((child) => child.info.alive).map((child) => child.info)].filter(
          (info) => info.role === role,
        ),
      ),
    async kill(index, signal = 'SIGKILL') {
      const child = children.get(`orchestrator-${index}`);
      if (child === undefined)
        throw new Error(
          `no orchestrator-${index} (have ${orchestratorNames()
            .map((info) => info.name)
            .join(', ')})`,
        );
      if (!child.info.alive || child.process === undefined) return;
      progress(`fault: ${signal} to orchestrator-${index} (pid ${child.info.pid})`);
      child.process.kill(signal);
      await child.exited;
    },
    async restart(index) {
      progress(`restarting orchestrator-${index}`);
      await launch('orchestrator', index);
    },
    async addConsumer() {
      const index = Math.max(-1, ...orchestratorNames().map((info) => info.index)) + 1;
      progress(`adding orchestrator-${index}`);
      await launch('orchestrator', index);
      return index;
    },
    signal(name, signal) {
      const child = children.get(name);
      if (child?.process === undefined || !child.info.alive) throw new Error(`no running process named ${name}`);
      child.process.kill(signal);
    },
    async waitForIdle({ timeoutMs = 120_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      let quietRounds = 0;
      let last = '';
      while (quietRounds < 2) {
        if (Date.now() > deadline) throw new Error(`run ${run.runId} not idle after ${timeoutMs / 1000} s: ${last}`);
        await sleep(500);
        const [events, timers, outbound] = await Promise.all([
          admin.backlog(run.topics.events, run.subscriptions.orchestrator, run.partitions > 0),
          admin.backlog(run.topics.timers, run.subscriptions.timers, false),
          admin.backlog(run.topics.outbound, run.subscriptions.gateway, false),
        ]);
        const inFlight = [...children.values()].reduce((sum, child) => sum + (child.info.alive ? (child.info.stats?.inFlight ?? 0) : 0), 0);
        last = `backlog events ${events}, timers ${timers}, outbound ${outbound}; in flight ${inFlight}`;
        quietRounds = events === 0 && timers === 0 && outbound === 0 && inFlight === 0 ? quietRounds + 1 : 0;
      }
    },
    stop: stopAll,
    async collect() {
      const redis = await connectRedis(run.redisUrl, `collect-${run.runId}`);
      const store = new RedisStore(redis, run.redisPrefix);
      try {
        await exportRecords(store.writeRecords(), join(run.runDir, RUN_FILES.writes));
        await exportRecords(store.deadLetterRecords(), join(run.runDir, RUN_FILES.deadLetters));
      } finally {
        await store.close();
      }
    },
  };
  return handle;
}

async function exportRecords<T>(batches: AsyncIterable<T[]>, path: string): Promise<void> {
  writeFileSync(path, '');
  const writer = new JsonlWriter<T>(path);
  for await (const batch of batches) for (const record of batch) writer.write(record);
  await writer.close();
}

/** Sums stats over processes. */
function totalStats(processes: readonly ProcessInfo[]): ProcessStats {
  const total: ProcessStats = { received: 0, acked: 0, retries: 0, deadLettered: 0, inFlight: 0, counters: {} };
  for (const info of processes) {
    const stats = info.stats;
    if (stats === undefined) continue;
    total.received += stats.received;
    total.acked += stats.acked;
    total.retries += stats.retries;
    total.deadLettered += stats.deadLettered;
    total.inFlight += info.alive ? stats.inFlight : 0;
    for (const [name, value] of Object.entries(stats.counters)) total.counters[name] = (total.counters[name] ?? 0) + value;
  }
  return total;
}
