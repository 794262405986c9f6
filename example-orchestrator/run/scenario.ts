/**
 * One complete run of one mode: start its processes, publish the seeded
 * traffic (optionally killing a consumer mid-way and restarting it), wait
 * until everything is handled, stop, collect the records and run the
 * oracle. Used by `npm run orchestrator` and the end-to-end tests.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Keyscope } from 'pulsar-keyscope';
import { WebSocketClient } from 'pulsar-keyscope/websocket';
import type { ModeHandle, ProcessStats, StartModeOptions } from '../modes/handle.js';
import { startMode } from '../modes/start-mode.js';
import { loadRun } from '../oracle/load.js';
import { runOracle } from '../oracle/oracle.js';
import type { OracleReport } from '../oracle/report.js';
import { startTelemetry } from '../telemetry/telemetry.js';
import { openEventPublisher } from './publisher.js';
import { countEvents, planTraffic, playTraffic, type PlayStats, type TrafficOptions } from './traffic.js';

export interface ScenarioOptions extends Omit<StartModeOptions, 'onProgress'> {
  traffic: TrafficOptions;
  /** Publish as fast as the broker takes it (throughput) instead of on the simulated clock. */
  burst?: boolean;
  /** kill -9 this orchestrator `killAtMs` into publishing, restart it `restartAfterMs` later. */
  kill?: { index: number; atMs: number; restartAfterMs: number };
  idleTimeoutMs?: number;
  onProgress?: (line: string) => void;
  /** Called every 500 ms while publishing and draining. */
  onTick?: (handle: ModeHandle, played: PlayStats, total: number) => void;
}

export interface ScenarioResult {
  run: ModeHandle['run'];
  report: OracleReport;
  played: PlayStats;
  /** Subscriber events in the plan. */
  events: number;
  /** From the first publish until every event was handled once. */
  handledAfterMs: number;
  /** Events per wall second over handledAfterMs. */
  throughput: number;
  /** Mean time an orchestrator spent on one subscriber event (lock waits and retries included). */
  meanEventMs: number;
  /** Orchestrator CPU time per subscriber event, ms (all orchestrator processes, start-up excluded). */
  cpuPerEventMs: number;
  orchestrators: ProcessStats;
}

export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const { traffic, burst, kill, idleTimeoutMs, onTick, ...modeOptions } = options;
  const handle = await startMode(modeOptions);
  const run = handle.run;
  let telemetry: Awaited<ReturnType<typeof startTelemetry>> | undefined;
  let client: WebSocketClient | undefined;
  let keyscope: Keyscope | undefined;
  try {
    // The traffic's producer is instrumented too: its send spans start the traces.
    telemetry = await startTelemetry({
      serviceName: 'orchestrator-traffic',
      instanceId: `${run.runId}/traffic`,
      otlpEndpoint: run.otlpEndpoint,
      metricsHost: '127.0.0.1',
      metricsPort: 0,
    });
    keyscope = new Keyscope({ registry: telemetry.registry, keyPolicy: 'plain' });
    client = new WebSocketClient({ serviceUrl: run.pulsarUrl });
    const publisher = await openEventPublisher(keyscope.instrumentClient(client), run);
    const plan = planTraffic(traffic, run.clock, Date.now() + 300);
    const events = countEvents(plan);
    options.onProgress?.(
      `publishing ${events} events of ${traffic.subscribers} subscribers (${traffic.hotSubscribers} hot) and ${traffic.malformed} malformed payloads ${burst === true ? 'as fast as possible' : `over ${traffic.seconds} s`}`,
    );
    let played: PlayStats = { published: 0, malformed: 0, failed: 0, firstAt: 0, lastAt: 0 };
    let handledAt = 0;
    const ticker = setInterval(() => {
      if (handledAt === 0 && (handle.totals('orchestrator').counters.subscriber_events ?? 0) >= events) handledAt = Date.now();
      onTick?.(handle, played, events);
    }, 100);
    try {
      const fault = kill === undefined ? Promise.resolve() : injectKill(handle, kill);
      played = await playTraffic(publisher, plan, run.clock, { burst: burst === true, onProgress: (stats) => (played = stats) });
      await fault;
      await handle.waitForIdle({ timeoutMs: idleTimeoutMs ?? 180_000 });
    } finally {
      clearInterval(ticker);
      await publisher.close().catch(() => undefined);
    }
    await handle.stop();
    await handle.collect();
    const orchestrators = handle.totals('orchestrator');
    const report = runOracle(loadRun(run.runDir));
    const handledAfterMs = Math.max(1, (handledAt || Date.now()) - played.firstAt);
    const handledEvents = orchestrators.counters.subscriber_events ?? 0;
    return {
      run,
      report,
      played,
      events,
      handledAfterMs,
      throughput: (played.published * 1000) / handledAfterMs,
      meanEventMs: handledEvents > 0 ? (orchestrators.counters.subscriber_event_run_ms ?? 0) / handledEvents : 0,
      cpuPerEventMs: played.published > 0 ? (orchestrators.counters.cpu_ms ?? 0) / played.published : 0,
      orchestrators,
    };
  } finally {
    await handle.stop();
    await client?.close().catch(() => undefined);
    keyscope?.close();
    await telemetry?.shutdown();
  }
}

async function injectKill(handle: ModeHandle, kill: NonNullable<ScenarioOptions['kill']>): Promise<void> {
  await sleep(kill.atMs);
  await handle.kill(kill.index);
  await sleep(kill.restartAfterMs);
  await handle.restart(kill.index);
}
