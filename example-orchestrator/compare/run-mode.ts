/**
 * One mode's leg of the comparison: start its processes on fresh topics, publish
 * the seeded load on the run clock while the fault schedule plays, wait until
 * everything is handled, stop, collect, run the oracle, measure.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { ClientLike } from 'pulsar-keyscope';
import { WebSocketClient } from 'pulsar-keyscope/websocket';
import { DAY } from '../domain/clock.js';
import { planFaults, runFaults, type FaultRecord, type FaultTarget } from '../faults/runner.js';
import type { FaultSpec } from '../faults/schedule.js';
import { FAULT_FILE_ENV, writeFaultSwitchFile } from '../faults/switches.js';
import { planLoad, type LoadOptions } from '../loadgen/plan.js';
import { RunProgress } from '../loadgen/progress.js';
import { LoadPublisher } from '../loadgen/publisher.js';
import type { ModeHandle } from '../modes/handle.js';
import type { Mode } from '../modes/modes.js';
import { startMode } from '../modes/start-mode.js';
import { loadRun } from '../oracle/load.js';
import { runOracle } from '../oracle/oracle.js';
import { VIOLATION_KINDS } from '../oracle/report.js';
import { auditDelta, auditorMetricsUrl, readAuditCounts } from './auditor.js';
import { DETECTIONS_FILE_ENV } from './detections.js';
import { measureMode } from './measure.js';
import type { ModeResult } from './report.js';
import { DETECTIONS_FILE, FAULT_SWITCH_FILE, readRunFiles } from './run-files.js';
import { ProcessSampler } from './sampler.js';
import { findTrace } from './traces.js';

const execFileAsync = promisify(execFile);
const AUDIT_SETTLE_MS = 5_000;
const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

export interface ModeRunOptions {
  mode: Mode;
  load: LoadOptions;
  faults: readonly FaultSpec[];
  hotKeys: readonly string[];
  consumers: number;
  outDir: string;
  pulsarUrl: string;
  redisUrl: string;
  otlpEndpoint: string;
  jaegerUrl: string;
  /** Wraps the load generator's client (keyscope stamps each event, so consumers can tell a reorder). */
  instrument: <T extends ClientLike>(client: T) => T;
  /** How long to wait for the backlog to drain after the load, ms. */
  drainTimeoutMs: number;
  log: (line: string) => void;
}

export async function runModeLeg(options: ModeRunOptions): Promise<ModeResult> {
  const { mode, load } = options;
  const runId = `cmp-${mode.replace(/_/g, '-')}-${Date.now().toString(36)}`;
  const runDir = join(options.outDir, 'runs', mode);
  mkdirSync(runDir, { recursive: true });
  const plan = planFaults(options.faults, planLoad(load), load.durationMs, options.hotKeys);
  const switchFile = join(runDir, FAULT_SWITCH_FILE);
  writeFaultSwitchFile(switchFile, plan.switches);

  const childEnv = { [FAULT_FILE_ENV]: switchFile, [DETECTIONS_FILE_ENV]: join(runDir, DETECTIONS_FILE) };
  options.log(`${mode}: starting ${options.consumers} orchestrator processes, gateway, provider and timer relay (run ${runId})`);
  const startingAt = performance.now();
  const handle = await startMode({
    mode,
    runId,
    runDir,
    consumers: options.consumers,
    pulsarUrl: options.pulsarUrl,
    redisUrl: options.redisUrl,
    otlpEndpoint: options.otlpEndpoint,
    speed: load.timeScale,
    simOrigin: load.simulatedStartMs,
    env: childEnv,
  });
  const startupMs = Math.round(performance.now() - startingAt);
  const auditUrl = auditorMetricsUrl();
  const auditBefore = await readAuditCounts(auditUrl, handle.run.subscriptions.orchestrator);
  const sampler = new ProcessSampler(() => handle.processes());
  const raw = new WebSocketClient({ serviceUrl: options.pulsarUrl });
  const client = options.instrument(raw);
  let faults: FaultRecord[] = [];
  let drained = true;
  let loadStartedAt = Date.now();
  try {
    const producer = await client.createProducer({
      topic: handle.run.topics.events,
      // No batching across keys; wait for room instead of failing; outlive a broker restart.
      blockIfQueueFull: true,
      sendTimeoutMs: 120_000,
    });
    // The load starts at the first whole simulated day of the run clock after
    // the processes are up: its event times move by whole days, which the
    // rules (time of day, rolling windows, delays) do not see, so every mode
    // decides the same whatever its start-up took.
    const clock = handle.run.clock;
    const dayWallMs = DAY / clock.speed;
    const shiftDays = Math.max(1, Math.ceil((Date.now() + 250 - clock.wallOrigin) / dayWallMs));
    loadStartedAt = clock.wallOrigin + shiftDays * dayWallMs;
    const startedAt = performance.now() + (loadStartedAt - Date.now());
    const publisher = new LoadPublisher({
      producer,
      events: planLoad({ ...load, simulatedStartMs: load.simulatedStartMs + shiftDays * DAY }),
      eventLogPath: join(runDir, 'events.jsonl'),
      wallOrigin: loadStartedAt,
      maxInFlight: 500,
      onSendError: (event, error) => options.log(`${mode}: send of ${event.subscriberId} #${event.seq} failed: ${error.message}`),
    });
    await sampler.sampleOnce();
    sampler.start();
    const progress = new RunProgress(mode, load.durationMs);
    let lastFault = '';
    const ticker = setInterval(() => {
      const stats = publisher.snapshot();
      const done = handle.consumers().reduce((sum, info) => sum + (info.stats?.acked ?? 0), 0);
      progress.update(stats.elapsedMs, { published: stats.published, done, note: lastFault });
    }, 500);
    ticker.unref();
    const faultsDone = runFaults(plan, faultTarget(handle, options), {
      startedAt,
      onFault: (record) =>
        (lastFault = `${record.kind}${record.error === undefined ? '' : ' FAILED'} at ${(record.atMs / 1000).toFixed(1)}s`),
    });
    const published = await publisher.run();
    faults = await faultsDone;
    clearInterval(ticker);
    progress.stop();
    await producer.close();
    options.log(`${mode}: published ${published.acknowledged} events (${published.failed} failed); waiting for the backlog to drain`);
    try {
      await handle.waitForIdle({ timeoutMs: options.drainTimeoutMs });
    } catch (error) {
      drained = false;
      options.log(
        `${mode}: not drained after ${options.drainTimeoutMs / 1000} s (${error instanceof Error ? error.message : String(error)}); measuring what was done`,
      );
    }
    await sampler.stop();
  } finally {
    await raw.close().catch(() => undefined);
    await handle.stop();
  }
  await handle.collect();
  // The last spans reach the auditor through the collector's batches within a few seconds.
  await sleep(AUDIT_SETTLE_MS);
  const auditor = auditDelta(auditBefore, await readAuditCounts(auditUrl, handle.run.subscriptions.orchestrator));
  for (const record of faults) if (record.error !== undefined) options.log(`${mode}: fault ${record.kind} failed: ${record.error}`);

  // Every example kept: the subscribers behind each kind score keyscope's detections key by key.
  const oracle = runOracle({ ...loadRun(runDir), maxExamples: Number.POSITIVE_INFINITY });
  const oracleSubscribers = Object.fromEntries(
    VIOLATION_KINDS.map((kind) => [kind, [...new Set(oracle.examples[kind].map((example) => example.subscriberId))]]),
  );
  const result = measureMode({
    mode,
    runId,
    runDir,
    consumers: options.consumers,
    loadStartedAt,
    files: readRunFiles(runDir),
    sampler,
    oracle,
    oracleSubscribers,
    faults,
  });
  // Events still queued when the wait ended count as lost_event (and their sends as missing) for the oracle.
  const notes = drained
    ? []
    : [
        `the backlog did not drain within ${options.drainTimeoutMs / 1000} s after the load: lost_event and missing_send include events still queued`,
      ];
  const splitKey = ['lost_update', 'double_send', 'out_of_order'].flatMap(
    (kind) => oracle.examples[kind as keyof typeof oracle.examples] ?? [],
  )[0]?.subscriberId;
  const trace = splitKey === undefined ? undefined : await findTrace(options.jaegerUrl, splitKey, handle.run.topics.events);
  return { ...result, auditor, startupMs, notes, ...(trace === undefined ? {} : { trace }) };
}

/** Attempts to start a process, as a supervisor would: one started while the broker is down exits. */
const START_ATTEMPTS = 5;
const START_RETRY_MS = 3_000;

function faultTarget(handle: ModeHandle, options: ModeRunOptions): FaultTarget {
  const pidOf = (index: number) => handle.consumers().find((info) => info.index === index)?.pid;
  const startUntilUp = async (index: number, first: () => Promise<unknown>): Promise<string> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await (attempt === 1 ? first() : handle.restart(index));
        return attempt === 1
          ? `pid ${pidOf(index)}`
          : `pid ${pidOf(index)}, attempt ${attempt} (the earlier ones exited: ${options.mode} broker or Redis down?)`;
      } catch (error) {
        if (attempt >= START_ATTEMPTS) throw error;
        options.log(
          `${options.mode}: orchestrator-${index} did not start (${error instanceof Error ? error.message.split(':')[0] : String(error)}); again in ${START_RETRY_MS / 1000} s`,
        );
        await sleep(START_RETRY_MS);
      }
    }
  };
  return {
    async killOrchestrator(index) {
      const pid = pidOf(index);
      await handle.kill(index, 'SIGKILL');
      return `orchestrator-${index} (pid ${pid}) killed with SIGKILL`;
    },
    async restartOrchestrator(index) {
      return `orchestrator-${index} restarted, ${await startUntilUp(index, () => handle.restart(index))}`;
    },
    async addConsumer() {
      const index = Math.max(-1, ...handle.consumers().map((info) => info.index)) + 1;
      return `orchestrator-${index} added, ${await startUntilUp(index, () => handle.addConsumer())}`;
    },
    restartBroker: () => restartService('pulsar', options),
    restartRedis: () => restartService('redis', options),
  };
}

/**
 * Stops and starts a service of the native stack through its own scripts,
 * with this process's environment (ports, KEYSCOPE_RUN_DIR): the scripts only
 * stop a service started from that run folder, never someone else's.
 */
async function restartService(service: 'pulsar' | 'redis', options: ModeRunOptions): Promise<string> {
  const started = performance.now();
  const script = (name: string) => join(REPO_ROOT, 'scripts', service, name);
  const stop = await execFileAsync('bash', [script('stop.sh')], { cwd: REPO_ROOT, timeout: 120_000 });
  if (/not running/.test(stop.stdout + stop.stderr)) {
    throw new Error(
      `${service} of ${process.env.KEYSCOPE_RUN_DIR ?? '.run'} is not running here: the stack's own ${service} is needed to restart it (npm run stack:up)`,
    );
  }
  const downMs = Math.round(performance.now() - started);
  await execFileAsync('bash', [script('start.sh')], { cwd: REPO_ROOT, timeout: 300_000 });
  options.log(`${options.mode}: ${service} restarted`);
  return `${service} stopped in ${downMs} ms, back after ${Math.round(performance.now() - started)} ms`;
}
