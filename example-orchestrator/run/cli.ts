/**
 * npm run orchestrator -- --mode <mode>: runs one mode on the real stack
 * (starting what is missing with npm run stack:up), publishes a seeded
 * workload, waits until everything is handled, and prints what the oracle
 * found.
 *
 *   npm run orchestrator -- --mode shared --subscribers 300 --seconds 20
 *   npm run orchestrator -- --help
 */
import { spawn } from 'node:child_process';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ModeHandle } from '../modes/handle.js';
import { MODES, parseMode } from '../modes/modes.js';
import { prepareRun, resolveRun } from '../modes/start-mode.js';
import { RUN_FILES } from '../domain/records.js';
import { formatReport } from '../oracle/format.js';
import { connectRedis } from '../store/redis-connection.js';
import { runScenario } from './scenario.js';
import type { PlayStats } from './traffic.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `usage: npm run orchestrator -- [options]
  --mode M            ${MODES.join(' | ')} (default key_shared)
  --consumers N       orchestrator processes (default 3)
  --partitions N      failover: partitions of the events topic (default max(consumers, 3))
  --subscribers N     subscribers in the workload (default 300)
  --hot N             hot subscribers, with many journeys each (default 5)
  --hot-journeys N    journeys of a hot subscriber (default 15)
  --seconds N         wall seconds the events are spread over (default 15)
  --burst             publish as fast as the broker takes it (throughput), not on the simulated clock
  --malformed N       malformed payloads mixed in (default 6)
  --seed N            workload seed (default 7)
  --speed N           simulated ms per wall ms (default 21600: a simulated day in 4 s)
  --kill-at S         kill -9 orchestrator-1 S seconds into publishing, restart it 2 s later
  --json              print the oracle report as JSON too
  --no-stack          do not start the native stack (it runs elsewhere)
  --pulsar-url U, --redis-url U, --otlp-endpoint U, --metrics-host H
                      where the broker, Redis and the collector are; where processes serve /metrics
  --write-run-info F  only write the run's settings to F (run.json) and create its topics, start
                      nothing (for processes started elsewhere, e.g. docker compose)
  --provider-port N   the provider's API port (default: any free port; 9460 with --write-run-info)
environment: PULSAR_WEB_PORT, REDIS_PORT, OTELCOL_OTLP_HTTP_PORT, ORCHESTRATOR_METRICS_PORT, KEYSCOPE_RUN_DIR`;

interface CliOptions {
  mode: ReturnType<typeof parseMode>;
  consumers: number;
  partitions: number | undefined;
  subscribers: number;
  hot: number;
  hotJourneys: number;
  seconds: number;
  burst: boolean;
  malformed: number;
  seed: number;
  speed: number | undefined;
  killAt: number | undefined;
  json: boolean;
  startStack: boolean;
  pulsarUrl: string | undefined;
  redisUrl: string | undefined;
  otlpEndpoint: string | undefined;
  metricsHost: string | undefined;
  writeRunInfo: string | undefined;
  providerPort: number | undefined;
}

function parseOptions(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'key_shared' },
      consumers: { type: 'string', default: '3' },
      partitions: { type: 'string' },
      subscribers: { type: 'string', default: '300' },
      hot: { type: 'string', default: '5' },
      'hot-journeys': { type: 'string', default: '15' },
      seconds: { type: 'string', default: '15' },
      burst: { type: 'boolean', default: false },
      malformed: { type: 'string', default: '6' },
      seed: { type: 'string', default: '7' },
      speed: { type: 'string' },
      'kill-at': { type: 'string' },
      json: { type: 'boolean', default: false },
      'no-stack': { type: 'boolean', default: false },
      'pulsar-url': { type: 'string' },
      'redis-url': { type: 'string' },
      'otlp-endpoint': { type: 'string' },
      'metrics-host': { type: 'string' },
      'write-run-info': { type: 'string' },
      'provider-port': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const number = (name: string, raw: string | undefined, min: number): number => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number >= ${min}, got ${raw}\n${USAGE}`);
    return value;
  };
  return {
    mode: parseMode(values.mode),
    consumers: number('consumers', values.consumers, 1),
    partitions: values.partitions === undefined ? undefined : number('partitions', values.partitions, 1),
    subscribers: number('subscribers', values.subscribers, 1),
    hot: number('hot', values.hot, 0),
    hotJourneys: number('hot-journeys', values['hot-journeys'], 1),
    seconds: number('seconds', values.seconds, 1),
    burst: values.burst,
    malformed: number('malformed', values.malformed, 0),
    seed: number('seed', values.seed, 0),
    speed: values.speed === undefined ? undefined : number('speed', values.speed, 1),
    killAt: values['kill-at'] === undefined ? undefined : number('kill-at', values['kill-at'], 0),
    json: values.json,
    startStack: !values['no-stack'],
    pulsarUrl: values['pulsar-url'],
    redisUrl: values['redis-url'],
    otlpEndpoint: values['otlp-endpoint'],
    metricsHost: values['metrics-host'],
    writeRunInfo: values['write-run-info'],
    providerPort: values['provider-port'] === undefined ? undefined : number('provider-port', values['provider-port'], 1),
  };
}

async function reachable(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

async function redisUp(url: string): Promise<boolean> {
  try {
    const redis = await connectRedis(url, 'orchestrator-cli-probe');
    await redis.close();
    return true;
  } catch {
    return false;
  }
}

async function ensureStack(start: boolean): Promise<void> {
  const env = process.env;
  const pulsar = `http://127.0.0.1:${env.PULSAR_WEB_PORT ?? '8080'}/admin/v2/clusters`;
  const redis = `redis://127.0.0.1:${env.REDIS_PORT ?? '6379'}`;
  const missing = async () => [...((await reachable(pulsar)) ? [] : ['pulsar']), ...((await redisUp(redis)) ? [] : ['redis'])];
  let absent = await missing();
  if (absent.length === 0) return;
  if (!start) throw new Error(`not reachable: ${absent.join(', ')}; start them (npm run stack:up) or drop --no-stack`);
  console.log(`stack: ${absent.join(', ')} not running; starting it with npm run stack:up (the first run builds for several minutes)`);
  const code = await new Promise<number | null>((resolveExit, reject) => {
    const child = spawn('npm', ['run', '--silent', 'stack:up'], { cwd: REPO_ROOT, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', resolveExit);
  });
  if (code !== 0) throw new Error(`npm run stack:up failed (exit ${code}); see its output above`);
  absent = await missing();
  if (absent.length > 0) throw new Error(`still not reachable after stack:up: ${absent.join(', ')}`);
}

function progressLine(handle: ModeHandle, played: PlayStats, total: number, startedAt: number): string {
  const orchestrators = handle.consumers();
  const stats = handle.totals('orchestrator');
  const provider = handle.processes().find((info) => info.role === 'provider')?.stats;
  const perConsumer = orchestrators.map((info) => `${info.index}:${info.alive ? (info.stats?.acked ?? 0) : 'down'}`).join(' ');
  return (
    `  ${String(Math.round((Date.now() - startedAt) / 1000)).padStart(3)}s  published ${played.published}/${total}  handled ${stats.counters.subscriber_events ?? 0}` +
    `  in flight ${stats.inFlight}  retries ${stats.retries}  dead letters ${stats.deadLettered}  delivered ${provider?.counters.distinct_accepted ?? 0}  [acked per consumer ${perConsumer}]`
  );
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const where = {
    ...(options.pulsarUrl !== undefined ? { pulsarUrl: options.pulsarUrl } : {}),
    ...(options.redisUrl !== undefined ? { redisUrl: options.redisUrl } : {}),
    ...(options.otlpEndpoint !== undefined ? { otlpEndpoint: options.otlpEndpoint } : {}),
    ...(options.metricsHost !== undefined ? { metricsHost: options.metricsHost } : {}),
  };
  if (options.writeRunInfo !== undefined) {
    const path = resolve(options.writeRunInfo);
    const run = resolveRun({
      mode: options.mode,
      consumers: options.consumers,
      ...(options.partitions !== undefined ? { partitions: options.partitions } : {}),
      ...(options.speed !== undefined ? { speed: options.speed } : {}),
      ...where,
      runDir: dirname(path),
      providerApiPort: options.providerPort ?? 9460,
    });
    if (basename(path) !== RUN_FILES.run)
      throw new Error(`--write-run-info must name a file called ${RUN_FILES.run} (the run's folder holds its other files), got ${path}`);
    await prepareRun(run);
    console.log(`wrote ${path}: run ${run.runId}, ${run.mode}, events on ${run.topics.events}`);
    return;
  }
  if (options.pulsarUrl === undefined && options.redisUrl === undefined) await ensureStack(options.startStack);
  const interactive = process.stdout.isTTY === true;
  const startedAt = Date.now();
  let lastLine = 0;
  let lastText = '';
  const result = await runScenario({
    ...where,
    ...(options.providerPort !== undefined ? { providerApiPort: options.providerPort } : {}),
    mode: options.mode,
    consumers: options.consumers,
    ...(options.partitions !== undefined ? { partitions: options.partitions } : {}),
    ...(options.speed !== undefined ? { speed: options.speed } : {}),
    traffic: {
      subscribers: options.subscribers,
      hotSubscribers: options.hot,
      hotJourneys: options.hotJourneys,
      seconds: options.seconds,
      seed: options.seed,
      malformed: options.malformed,
    },
    burst: options.burst,
    ...(options.killAt !== undefined ? { kill: { index: 1 % options.consumers, atMs: options.killAt * 1000, restartAfterMs: 2_000 } } : {}),
    idleTimeoutMs: 300_000,
    onProgress: (line) => {
      if (interactive && lastText !== '') process.stdout.write('\n');
      lastText = '';
      console.log(`  ${line}`);
    },
    onTick: (handle, played, total) => {
      if (Date.now() - lastLine < (interactive ? 500 : 2_000)) return;
      lastLine = Date.now();
      lastText = progressLine(handle, played, total, startedAt);
      if (interactive) process.stdout.write(`\r${lastText}\x1b[K`);
      else console.log(lastText);
    },
  });
  if (interactive && lastText !== '') process.stdout.write('\n');
  const { run, played, report } = result;
  console.log(
    `\n${run.mode}: ${played.published} events published in ${((played.lastAt - played.firstAt) / 1000).toFixed(1)} s, all handled after ${(result.handledAfterMs / 1000).toFixed(1)} s: ` +
      `${result.throughput.toFixed(0)} events/s; orchestrator CPU ${result.cpuPerEventMs.toFixed(2)} ms per event`,
  );
  console.log(formatReport(report));
  if (options.json)
    console.log(
      JSON.stringify(
        {
          mode: run.mode,
          throughput: result.throughput,
          cpuPerEventMs: result.cpuPerEventMs,
          handledAfterMs: result.handledAfterMs,
          report,
        },
        null,
        2,
      ),
    );
  console.log(`\nrun files: ${run.runDir}`);
}

main().catch((error: unknown) => {
  console.error(`\norchestrator run failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
