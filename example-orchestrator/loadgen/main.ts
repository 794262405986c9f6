/**
 * The load generator as a process of its own: publishes a seeded load onto a
 * run's events topic (settings from the run's run.json, like every process
 * of a run), instrumented with keyscope, with /metrics for Prometheus and a
 * progress display. The comparison (npm run compare) drives the same pieces
 * in-process; docker-compose.yml runs this one.
 *
 *   tsx --conditions=keyscope-source loadgen/main.ts --run .run/orchestrator/<id>/run.json --rate 50 --duration 600
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Counter, Gauge } from 'prom-client';
import { Keyscope } from 'pulsar-keyscope';
import { WebSocketClient } from 'pulsar-keyscope/websocket';
import { simTimeAt } from '../domain/clock.js';
import { RUN_FILES } from '../domain/records.js';
import { readRunInfo } from '../modes/run-info.js';
import { startTelemetry } from '../telemetry/telemetry.js';
import { DEFAULT_LOAD, planLoad, summarizeLoad, validateLoadOptions } from './plan.js';
import { RunProgress } from './progress.js';
import { LoadPublisher } from './publisher.js';

const USAGE = `usage: loadgen/main.ts --run RUN_JSON [options]
  --run PATH          the run's run.json (topics, clock, broker URL)
  --rate N            events per second (default ${DEFAULT_LOAD.ratePerSecond})
  --duration SECONDS  how long to publish (default 60)
  --subscribers N     (default ${DEFAULT_LOAD.subscribers})   --seed N (default ${DEFAULT_LOAD.seed})   --skew X (default ${DEFAULT_LOAD.skew})
  --metrics-port N    /metrics port (default: the run's first /metrics port + 3, beside the provider,
                      gateway and timer relay; 0 = any)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      run: { type: 'string' },
      rate: { type: 'string', default: String(DEFAULT_LOAD.ratePerSecond) },
      duration: { type: 'string', default: '60' },
      subscribers: { type: 'string', default: String(DEFAULT_LOAD.subscribers) },
      seed: { type: 'string', default: String(DEFAULT_LOAD.seed) },
      skew: { type: 'string', default: String(DEFAULT_LOAD.skew) },
      'metrics-port': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || values.run === undefined) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const run = readRunInfo(values.run);
  const wallOrigin = Date.now();
  // Event times follow the run's clock from now on, so timers and events agree.
  const load = validateLoadOptions({
    ...DEFAULT_LOAD,
    ratePerSecond: Number(values.rate),
    durationMs: Number(values.duration) * 1000,
    subscribers: Number(values.subscribers),
    seed: Number(values.seed),
    skew: Number(values.skew),
    timeScale: run.clock.speed,
    simulatedStartMs: simTimeAt(run.clock, wallOrigin),
  });
  const telemetry = await startTelemetry({
    serviceName: 'loadgen',
    instanceId: `${run.runId}/loadgen`,
    otlpEndpoint: run.otlpEndpoint,
    metricsHost: run.metricsHost,
    metricsPort: values['metrics-port'] === undefined ? run.ports.providerMetrics + 3 : Number(values['metrics-port']),
  });
  const published = new Counter({
    name: 'loadgen_events_published_total',
    help: 'Events the broker confirmed',
    registers: [telemetry.registry],
  });
  const failed = new Counter({ name: 'loadgen_send_failures_total', help: 'Sends that failed', registers: [telemetry.registry] });
  const behind = new Gauge({
    name: 'loadgen_behind_seconds',
    help: 'How far the publisher is behind its schedule',
    registers: [telemetry.registry],
  });
  const keyscope = new Keyscope({ registry: telemetry.registry, keyPolicy: 'plain' });
  const client = keyscope.instrumentClient(new WebSocketClient({ serviceUrl: run.pulsarUrl }));
  const producer = await client.createProducer({ topic: run.topics.events, blockIfQueueFull: true, sendTimeoutMs: 120_000 });
  const summary = summarizeLoad(load, 3);
  console.log(
    `loadgen: ${summary.events} events over ${load.durationMs / 1000} s to ${run.topics.events}; /metrics on ${telemetry.metricsUrl}`,
  );

  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort());
  process.once('SIGINT', () => controller.abort());
  const publisher = new LoadPublisher({
    producer,
    events: planLoad(load),
    eventLogPath: join(run.runDir, RUN_FILES.events),
    wallOrigin,
    signal: controller.signal,
    onSendError: (event, error) => {
      failed.inc();
      console.warn(`loadgen: send of ${event.subscriberId} #${event.seq} failed: ${error.message}`);
    },
  });
  const progress = new RunProgress('loadgen', load.durationMs);
  let reported = 0;
  const ticker = setInterval(() => {
    const stats = publisher.snapshot();
    published.inc(stats.acknowledged - reported);
    reported = stats.acknowledged;
    behind.set(stats.behindMs / 1000);
    progress.update(stats.elapsedMs, {
      published: stats.published,
      done: stats.acknowledged,
      note: stats.behindMs > 1000 ? `${(stats.behindMs / 1000).toFixed(1)} s behind` : '',
    });
  }, 500);
  const stats = await publisher.run();
  clearInterval(ticker);
  progress.stop();
  console.log(`loadgen: ${stats.acknowledged} events published, ${stats.failed} failed`);
  await producer.close();
  await client.close();
  keyscope.close();
  await telemetry.shutdown();
}

main().catch((error: unknown) => {
  console.error(`loadgen failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
