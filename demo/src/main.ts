/**
 * npm run demo — the quickest way to see pulsar-keyscope work.
 *
 * Brings the native stack up when it is not running (npm run stack:up), runs
 * instrumented producers and Key_Shared consumers over Pulsar's WebSocket API
 * for a bounded time, then prints where to look: a sample trace in Jaeger,
 * PromQL queries with their current values, the app's metrics endpoint.
 *
 *   npm run demo -- --seconds 60 --rate 100
 *   npm run demo -- --help
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Keyscope } from 'pulsar-keyscope';
import { WebSocketClient } from 'pulsar-keyscope/websocket';
import { endpoints, missingServices, type Endpoints } from './endpoints.js';
import { pollUntil } from './queries.js';
import { printReport } from './report.js';
import { startTelemetry } from './telemetry.js';
import { Workload, type WorkloadStats } from './workload.js';

const SERVICE_NAME = 'keyscope-demo';
// A topic per run: no backlog or series of an earlier (perhaps interrupted) run mixes in.
const TOPIC = `persistent://public/default/keyscope-demo-${Date.now().toString(36)}`;
const SUBSCRIPTION = 'keyscope-demo-sends';
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const USAGE = `usage: npm run demo -- [options]
  --seconds N      how long to produce (default 45; 0 = until Ctrl-C or SIGTERM)
  --rate N         messages per second over all producers (default 50)
  --keys N         distinct subscriber keys, skewed popularity (default 500)
  --producers N    producers (default 2)
  --consumers N    Key_Shared consumers (default 3)
  --no-stack       do not start the native stack (it runs elsewhere, e.g. docker compose)
environment: KEYSCOPE_PULSAR_URL, OTEL_EXPORTER_OTLP_ENDPOINT, KEYSCOPE_JAEGER_URL,
  KEYSCOPE_PROMETHEUS_URL, APP_METRICS_HOST, APP_METRICS_PORT (defaults: the native stack's ports)`;

interface DemoOptions {
  seconds: number;
  rate: number;
  keys: number;
  producers: number;
  consumers: number;
  startStack: boolean;
}

function parseOptions(argv: string[]): DemoOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '45' },
      rate: { type: 'string', default: '50' },
      keys: { type: 'string', default: '500' },
      producers: { type: 'string', default: '2' },
      consumers: { type: 'string', default: '3' },
      'no-stack': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const count = (name: string, raw: string, min: number): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer >= ${min}, got ${raw}\n${USAGE}`);
    return value;
  };
  return {
    seconds: count('seconds', values.seconds, 0),
    rate: count('rate', values.rate, 1),
    keys: count('keys', values.keys, 1),
    producers: count('producers', values.producers, 1),
    consumers: count('consumers', values.consumers, 1),
    startStack: !values['no-stack'],
  };
}

async function ensureStack(target: Endpoints, start: boolean): Promise<void> {
  let missing = await missingServices(target);
  if (missing.length === 0) {
    console.log('stack: already running (npm run stack:status)');
    return;
  }
  if (!start) {
    // Running next to a stack started elsewhere (docker compose): producing
    // needs only the broker and the collector; wait for them a bounded time.
    const needed = ['pulsar', 'otel-collector'];
    const ready = await pollUntil(
      async () => {
        missing = await missingServices(target);
        return missing.some((name) => needed.includes(name)) ? undefined : true;
      },
      120_000,
      2_000,
    );
    if (ready === undefined)
      throw new Error(`not reachable after 120 s: ${missing.join(', ')}; start them (docker compose up, or npm run stack:up)`);
    if (missing.length > 0) console.log(`stack: ${missing.join(', ')} not reachable yet; producing anyway`);
    return;
  }
  console.log(`stack: ${missing.join(', ')} not running; starting it with npm run stack:up (the first run builds for several minutes)`);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'stack:up'], { cwd: REPO_ROOT, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`npm run stack:up failed (exit ${code}); see its output above`);
  missing = await missingServices(target);
  if (missing.length > 0) throw new Error(`still not reachable after stack:up: ${missing.join(', ')}`);
}

function progressLine(stats: WorkloadStats, elapsedMs: number, seconds: number): string {
  const elapsed = Math.floor(elapsedMs / 1000);
  const rate = elapsedMs > 0 ? (stats.sent * 1000) / elapsedMs : 0;
  const inFlight = stats.received - stats.acked - stats.nacked;
  return (
    `  ${String(elapsed).padStart(3)}s${seconds > 0 ? `/${seconds}s` : ''}  sent ${stats.sent}  received ${stats.received}` +
    `  acked ${stats.acked}  nacked ${stats.nacked}  in flight ${inFlight}  send errors ${stats.sendErrors}  (${rate.toFixed(1)} msg/s)`
  );
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const target = endpoints();
  await ensureStack(target, options.startStack);

  const telemetry = await startTelemetry({
    serviceName: SERVICE_NAME,
    otlpEndpoint: target.otlpHttpUrl,
    metricsHost: target.appMetricsHost,
    metricsPort: target.appMetricsPort,
  });
  // A short stall threshold so that the demo's slow messages (1.5 s) show up as stalls.
  const keyscope = new Keyscope({ registry: telemetry.registry, stallThresholdMs: 1_000 });
  const client = keyscope.instrumentClient(new WebSocketClient({ serviceUrl: target.pulsarUrl }));
  const workload = new Workload({
    client,
    topic: TOPIC,
    subscription: SUBSCRIPTION,
    producers: options.producers,
    consumers: options.consumers,
    keys: options.keys,
    ratePerSecond: options.rate,
    slowShare: 0.005,
    nackShare: 0.005,
  });

  console.log(
    `\ndemo: ${options.producers} producers -> ${TOPIC} -> ${options.consumers} Key_Shared consumers (subscription ${SUBSCRIPTION}), ` +
      `${options.rate} msg/s over ${options.keys} keys, ${options.seconds > 0 ? `${options.seconds} s` : 'until stopped'}`,
  );
  console.log(`      traces -> ${target.otlpHttpUrl}, metrics on ${telemetry.metricsUrl}`);
  await workload.start();

  const startedAt = Date.now();
  const interactive = process.stdout.isTTY === true;
  let lastPrinted = 0;
  const showProgress = (final = false) => {
    const elapsed = Date.now() - startedAt;
    const line = progressLine(workload.stats, elapsed, options.seconds);
    if (interactive) process.stdout.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
    else if (final || elapsed - lastPrinted >= 10_000) {
      console.log(line);
      lastPrinted = elapsed;
    }
  };
  const ticker = setInterval(() => showProgress(), 500);

  await new Promise<void>((resolve) => {
    const finish = () => resolve();
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    if (options.seconds > 0) setTimeout(finish, options.seconds * 1000).unref();
  });
  await workload.stop();
  clearInterval(ticker);
  showProgress(true);

  await telemetry.flush();
  if (options.seconds > 0) {
    await printReport({ endpoints: target, serviceName: SERVICE_NAME, topic: TOPIC, metricsUrl: telemetry.metricsUrl });
    console.log('\nThe stack keeps running for you to explore; stop it with npm run stack:down.');
  }
  keyscope.close();
  await client.close();
  await telemetry.shutdown();
}

main().catch((error: unknown) => {
  console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
