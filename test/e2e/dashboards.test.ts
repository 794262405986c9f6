/**
 * Proof that the dashboards and alert rules work on real data.
 *
 * With the native stack up (`npm run stack:up`: Pulsar, the collector,
 * Jaeger, Prometheus loading dashboards/alerts.yml), four workloads run
 * through the real broker with the library, side by side:
 *   - clean:   Key_Shared, two consumers, each key handled in order;
 *   - shared:  Shared, two consumers handling messages concurrently and
 *              nacking some, so keys are processed out of order and in
 *              parallel (reorder, concurrent, redeliveries);
 *   - stall:   Key_Shared in a namespace whose consumers may hold only 20
 *              unacked messages; the handler never finishes two keys, so
 *              they stall, block the keys behind them and finally the
 *              consumer; a second subscription nobody reads keeps growing;
 *   - overflow: an Exclusive consumer that never acks, instrumented by a
 *              second Keyscope (same registry) whose maxInflightMessages is
 *              small, so deliveries beyond the bound are dropped from
 *              tracking and counted as in-flight evictions;
 *   - orchestrator: the reference orchestrator in shared_redis_lock mode
 *              (its processes on the ports Prometheus scrapes for it), so
 *              that the Orchestrator dashboard's decisions, executor, lock,
 *              gateway, provider and timer panels have data.
 * The app serves its registry on the port Prometheus scrapes (9464) and sends
 * traces to the collector, which sends every span to the stack's keyscope
 * audit as well; the stack's keyscope broker-exporter polls the broker. Then
 * every panel query of the dashboards runs against Prometheus with the
 * variables set to this run's topics and must return data, and the alert
 * states are checked: the violation and stall alerts fire for the bad runs
 * (the Shared run's two consumers also break exclusivity across consumers,
 * seen by the auditor) and never for the clean one.
 *
 * Alert `for:` durations are minutes long (they are meant for production), so
 * on the stack's Prometheus an alert counts as active once it is pending or
 * firing, that is once its expression holds on the scraped data. A second
 * Prometheus started by the test scrapes the same app and broker and loads
 * the same rules with every `for:` shortened to 10 s: there, every rule must
 * reach *firing*, and none of the violation, stall and blocking rules may
 * fire for the clean run.
 */
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { Registry, openMetricsContentType, type OpenMetricsContentType } from 'prom-client';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { Keyscope } from '../../src/index.js';
import { WebSocketClient, type WebSocketConsumer, type WebSocketMessage, type WebSocketProducer } from '../../src/websocket/index.js';
import { dashboards, panelQueries, substituteVariables, type PanelQuery } from '../../dashboards/src/catalog.js';
import { installGlobalPropagation } from '../support/otel.js';
import { runScenario } from '../../example-orchestrator/run/scenario.js';

const env = process.env;
const PROMETHEUS = `http://127.0.0.1:${env.PROMETHEUS_PORT ?? '9090'}`;
const PULSAR_HTTP = `http://127.0.0.1:${env.PULSAR_WEB_PORT ?? '8080'}`;
const OTLP_TRACES = `http://127.0.0.1:${env.OTELCOL_OTLP_HTTP_PORT ?? '4318'}/v1/traces`;
const APP_METRICS_PORT = Number(env.APP_METRICS_PORT ?? '9464');
const COLLECTOR_HEALTH = `http://127.0.0.1:${env.OTELCOL_HEALTH_PORT ?? '13133'}/`;
const JAEGER = `http://127.0.0.1:${env.JAEGER_UI_PORT ?? '16686'}`;
const AUDIT_METRICS = `127.0.0.1:${env.KEYSCOPE_AUDIT_METRICS_PORT ?? '9465'}`;
const BROKER_EXPORTER_METRICS = `127.0.0.1:${env.KEYSCOPE_BROKER_EXPORTER_PORT ?? '9466'}`;
// A second Prometheus, started by this test, loads dashboards/alerts.yml
// with every `for:` shortened to SHORT_FOR, so that the alerts reach
// *firing* on the run's real data within the test (the shared Prometheus
// keeps the production durations, where they stay pending).
const SHORT_FOR_PROMETHEUS_PORT = Number(env.KEYSCOPE_SHORT_FOR_PROMETHEUS_PORT ?? '19091');
const SHORT_FOR_PROMETHEUS = `http://127.0.0.1:${SHORT_FOR_PROMETHEUS_PORT}`;
const SHORT_FOR = '10s';

const SERVICE_NAME = 'keyscope-dashboards-e2e';
const NAMESPACE = 'public/keyscope-dashboards';
const BLOCKED_NAMESPACE = 'public/keyscope-dashboards-blocked';
const MAX_UNACKED_PER_CONSUMER = 20;
const STALL_THRESHOLD_MS = 2_000;
/** maxInflightMessages of the overflow run's Keyscope: far below what it receives. */
const OVERFLOW_INFLIGHT_BOUND = 20;
const alertRules = (
  parseYaml(readFileSync(new URL('../../dashboards/alerts.yml', import.meta.url), 'utf8')) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  }
).groups.flatMap((group) => group.rules);
/** The stuck messages must outlive KeyscopeOldestInflightTooOld's threshold (seconds). */
const OLDEST_INFLIGHT_ALERT_SECONDS = Number(
  /> *(\d+)/.exec(alertRules.find((rule) => rule.alert === 'KeyscopeOldestInflightTooOld')?.expr ?? '')?.[1] ?? 'NaN',
);
const PRODUCE_SECONDS = 45;

const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const topics = {
  clean: `persistent://${NAMESPACE}/clean-${runId}`,
  shared: `persistent://${NAMESPACE}/shared-${runId}`,
  stall: `persistent://${BLOCKED_NAMESPACE}/stall-${runId}`,
  overflow: `persistent://${NAMESPACE}/overflow-${runId}`,
};
const ourTopics = Object.values(topics);
// The orchestrator run's topics (named after its run id): only the panel
// queries select them; the assertions below are about the four runs above.
const ORCHESTRATOR_RUN_ID = `dash-${runId}`;
const orchestratorTopics = ['events', 'timers', 'outbound'].map(
  (suffix) => `persistent://public/orchestrator/${ORCHESTRATOR_RUN_ID}-${suffix}`,
);
const REDIS = `redis://127.0.0.1:${env.REDIS_PORT ?? '6379'}`;
// A regex inside a PromQL string: the backslash that escapes a regex
// metacharacter must itself be escaped.
const escapeForPromql = (topic: string) => topic.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
const topicRegex = ourTopics.map(escapeForPromql).join('|');
const panelTopicRegex = [...ourTopics, ...orchestratorTopics].map(escapeForPromql).join('|');

// --- small HTTP helpers ------------------------------------------------------

interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

async function prometheus<T>(path: string, params: Record<string, string>): Promise<T> {
  // Queries go as form posts (long expressions); /api/v1/rules and /alerts only answer GET.
  const response =
    Object.keys(params).length === 0
      ? await fetch(`${PROMETHEUS}${path}`, { signal: AbortSignal.timeout(15_000) })
      : await fetch(`${PROMETHEUS}${path}`, {
          method: 'POST',
          body: new URLSearchParams(params),
          signal: AbortSignal.timeout(15_000),
        });
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`Prometheus ${path} ${JSON.stringify(params)}: ${body.error ?? response.status}`);
  return body.data;
}

async function pulsarAdmin(method: string, path: string, body?: unknown): Promise<number> {
  const response = await fetch(`${PULSAR_HTTP}/admin/v2/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  await response.arrayBuffer();
  return response.status;
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

// --- alert bookkeeping -------------------------------------------------------

interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
}

/** Every (alert, topic, subscription) Prometheus reported active during the run. */
const seenAlerts = new Map<string, { alertname: string; topic: string; subscription: string; states: Set<string> }>();

async function recordAlerts(): Promise<void> {
  const data = await prometheus<{ alerts: PromAlert[] }>('/api/v1/alerts', {});
  for (const alert of data.alerts) {
    const { alertname = '', topic = '', subscription = '' } = alert.labels;
    const id = `${alertname}|${topic}|${subscription}`;
    const entry = seenAlerts.get(id) ?? { alertname, topic, subscription, states: new Set<string>() };
    entry.states.add(alert.state);
    seenAlerts.set(id, entry);
  }
}

// --- the short-`for:` Prometheus --------------------------------------------
const shortFor: { process?: ChildProcess; dir?: string; log: string } = { log: '' };
/** Every (alert, topic, subscription) the short-`for:` Prometheus reported firing. */
const firedWithShortFor = new Set<string>();

async function startShortForPrometheus(): Promise<void> {
  const binary = execFileSync('bash', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'keyscope-short-for-'));
  shortFor.dir = dir;
  const rules = readFileSync(new URL('../../dashboards/alerts.yml', import.meta.url), 'utf8');
  const shortened = rules.replace(/^(\s+for:\s*)\S+/gm, `$1${SHORT_FOR}`);
  if (shortened === rules) throw new Error('dashboards/alerts.yml has no `for:` to shorten; update this test');
  writeFileSync(join(dir, 'alerts.yml'), shortened);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 2s, evaluation_interval: 2s }',
      'rule_files: [alerts.yml]',
      'scrape_configs:',
      `  - { job_name: keyscope-app, static_configs: [{ targets: ["127.0.0.1:${APP_METRICS_PORT}"] }] }`,
      `  - { job_name: pulsar, metrics_path: /metrics/, static_configs: [{ targets: ["${new URL(PULSAR_HTTP).host}"] }] }`,
      `  - { job_name: keyscope-audit, static_configs: [{ targets: ["${AUDIT_METRICS}"] }] }`,
      `  - { job_name: keyscope-broker, static_configs: [{ targets: ["${BROKER_EXPORTER_METRICS}"] }] }`,
      '',
    ].join('\n'),
  );
  const child = spawn(
    binary,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${SHORT_FOR_PROMETHEUS_PORT}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  shortFor.process = child;
  const keepLog = (chunk: Buffer) => {
    shortFor.log = (shortFor.log + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keepLog);
  child.stderr?.on('data', keepLog);
  const deadline = Date.now() + 30_000;
  while (!(await reachable(`${SHORT_FOR_PROMETHEUS}/-/ready`))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(
        `the short-for: Prometheus on :${SHORT_FOR_PROMETHEUS_PORT} did not start (set KEYSCOPE_SHORT_FOR_PROMETHEUS_PORT if the port is taken):\n${shortFor.log}`,
      );
    }
    await sleep(250);
  }
}

async function recordShortForAlerts(): Promise<void> {
  const response = await fetch(`${SHORT_FOR_PROMETHEUS}/api/v1/alerts`, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as { data: { alerts: PromAlert[] } };
  for (const alert of body.data.alerts) {
    if (alert.state !== 'firing') continue;
    const { alertname = '', topic = '', subscription = '' } = alert.labels;
    firedWithShortFor.add(`${alertname}|${topic}|${subscription}`);
  }
}

function firedShortFor(alertname: string, topic: string): boolean {
  return [...firedWithShortFor].some((id) => id.startsWith(`${alertname}|${topic}|`));
}

function alertsFor(topic: string): { alertname: string; subscription: string; states: Set<string> }[] {
  return [...seenAlerts.values()].filter((alert) => alert.topic === topic);
}

function hasAlert(alertname: string, topic: string, subscription?: string): boolean {
  return alertsFor(topic).some(
    (alert) => alert.alertname === alertname && (subscription === undefined || alert.subscription === subscription),
  );
}

// --- the workload ------------------------------------------------------------

class Release {
  private resolveAll: () => void = () => {};
  readonly promise = new Promise<void>((resolve) => {
    this.resolveAll = resolve;
  });
  release(): void {
    this.resolveAll();
  }
}

interface Workload {
  client: WebSocketClient;
  rawClient: WebSocketClient;
  keyscope: Keyscope;
  /** Same registry and tracer provider, maxInflightMessages = OVERFLOW_INFLIGHT_BOUND. */
  boundedKeyscope: Keyscope;
  registry: Registry<OpenMetricsContentType>;
  server: Server;
  tracerProvider: TracerProvider;
  producers: WebSocketProducer[];
  consumers: WebSocketConsumer[];
  stopLoops: boolean;
  loops: Promise<void>[];
  stuckRelease: Release;
  counts: Record<string, number>;
}

const work = {} as Workload;

function count(name: string): void {
  work.counts[name] = (work.counts[name] ?? 0) + 1;
}

/** Receives until told to stop; `handle` decides how each message is processed. */
function consumeLoop(consumer: WebSocketConsumer, handle: (message: WebSocketMessage) => Promise<void> | void): Promise<void> {
  return (async () => {
    while (!work.stopLoops) {
      let message: WebSocketMessage;
      try {
        message = await consumer.receive(500);
      } catch {
        continue; // receive timeout: check the stop flag again
      }
      try {
        await handle(message);
      } catch (error) {
        count(`handler error: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  })();
}

/** Sends `total` messages spread over `seconds`, keys chosen by `keyOf(i)`. */
async function produce(
  producer: WebSocketProducer,
  options: {
    seconds: number;
    total: number;
    keyOf: (i: number) => string;
    extra?: (i: number) => Partial<Parameters<WebSocketProducer['send']>[0]>;
  },
): Promise<void> {
  const started = Date.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < options.total; i++) {
    const due = started + (i * options.seconds * 1000) / options.total;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    pending.push(
      producer.send({ data: Buffer.from(`message ${i}`), partitionKey: options.keyOf(i), ...options.extra?.(i) }).then(
        () => count('sent'),
        () => count('send failed'),
      ),
    );
    if (pending.length >= 50) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

async function startApp(): Promise<void> {
  installGlobalPropagation();
  work.counts = {};
  work.producers = [];
  work.consumers = [];
  work.loops = [];
  work.stopLoops = false;
  work.stuckRelease = new Release();
  work.tracerProvider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE_NAME, 'service.instance.id': runId }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: OTLP_TRACES }), scheduledDelayMillis: 1000 })],
  });
  // OpenMetrics is the only exposition format that carries exemplars.
  work.registry = new Registry<OpenMetricsContentType>();
  work.registry.setContentType(openMetricsContentType);
  work.keyscope = new Keyscope({
    registry: work.registry,
    tracerProvider: work.tracerProvider,
    stallThresholdMs: STALL_THRESHOLD_MS,
    // Fewer than the clean run's keys, so that idle keys get evicted.
    maxTrackedKeys: 200,
    topStalledKeys: 5,
    sweepIntervalMs: 500,
  });
  work.boundedKeyscope = new Keyscope({
    registry: work.registry,
    tracerProvider: work.tracerProvider,
    stallThresholdMs: STALL_THRESHOLD_MS,
    maxInflightMessages: OVERFLOW_INFLIGHT_BOUND,
    sweepIntervalMs: 500,
  });
  work.server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    work.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': work.registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    work.server.once('error', (error) =>
      reject(
        new Error(
          `cannot serve metrics on 127.0.0.1:${APP_METRICS_PORT} (${String(error)}); stop whatever uses it (npm run demo?) or set APP_METRICS_PORT`,
        ),
      ),
    );
    work.server.listen(APP_METRICS_PORT, '127.0.0.1', resolve);
  });
  work.client = new WebSocketClient({ serviceUrl: PULSAR_HTTP });
  work.rawClient = new WebSocketClient({ serviceUrl: PULSAR_HTTP });
}

async function subscribe(
  topic: string,
  subscription: string,
  type: 'KeyShared' | 'Shared' | 'Exclusive',
  name: string,
  keyscope: Keyscope = work.keyscope,
): Promise<WebSocketConsumer> {
  const consumer = await work.client.subscribe({
    topic,
    subscription,
    subscriptionType: type,
    consumerName: name,
    subscriptionInitialPosition: 'Earliest',
    nAckRedeliverTimeoutMs: 1_000,
    receiverQueueSize: 100,
  });
  work.consumers.push(consumer);
  return keyscope.instrumentConsumer(consumer, { subscription, subscriptionType: type, topic });
}

async function createProducer(topic: string): Promise<WebSocketProducer> {
  const producer = await work.client.createProducer({ topic, sendTimeoutMs: 10_000 });
  work.producers.push(producer);
  return work.keyscope.instrumentProducer(producer, { topic });
}

/** Clean Key_Shared run: every key handled by one consumer, in order, then acked. */
async function cleanRun(): Promise<void> {
  const consumers = [
    await subscribe(topics.clean, 'clean', 'KeyShared', 'clean-1'),
    await subscribe(topics.clean, 'clean', 'KeyShared', 'clean-2'),
  ];
  for (const consumer of consumers) {
    work.loops.push(
      consumeLoop(consumer, async (message) => {
        await work.keyscope.process(message, () => sleep(2));
        await consumer.acknowledge(message);
        count('clean acked');
      }),
    );
  }
  const producer = await createProducer(topics.clean);
  // Messages whose trace context and stamps are garbage, sent past the
  // library: they must be counted as context errors and flow on.
  const raw = await work.rawClient.createProducer({ topic: topics.clean });
  work.producers.push(raw);
  const hostile = (async () => {
    for (let i = 0; i < PRODUCE_SECONDS / 3; i++) {
      await raw
        .send({
          data: Buffer.from('hostile'),
          partitionKey: `hostile-${i}`,
          properties: { traceparent: 'not-a-trace-context', 'keyscope-seq': 'NaN', 'keyscope-producer': 'x' },
        })
        .then(
          () => count('hostile sent'),
          () => count('hostile failed'),
        );
      await sleep(3_000);
    }
  })();
  await produce(producer, { seconds: PRODUCE_SECONDS, total: PRODUCE_SECONDS * 30, keyOf: (i) => `subscriber-${i % 300}` });
  await hostile;
}

/**
 * Shared run: messages of one key go to both consumers and are handled
 * concurrently; the second consumer starts reading late, so it hands out
 * older messages after newer ones were seen; the handler fails on 40% of
 * first deliveries, which are nacked. A few messages are delayed by ten
 * minutes.
 */
async function sharedRun(): Promise<void> {
  const consumers = [
    await subscribe(topics.shared, 'shared', 'Shared', 'shared-1'),
    await subscribe(topics.shared, 'shared', 'Shared', 'shared-2'),
  ];
  consumers.forEach((consumer, index) => {
    work.loops.push(
      (async () => {
        if (index === 1) await sleep(3_000);
        await consumeLoop(consumer, (message) => {
          // Not awaited: messages of one key overlap inside this consumer too.
          void work.keyscope
            .process(message, async () => {
              await sleep(10 + Math.random() * 40);
              if (message.getRedeliveryCount() === 0 && Math.random() < 0.4) throw new Error('downstream unavailable');
            })
            .then(
              async () => {
                await consumer.acknowledge(message);
                count('shared acked');
              },
              () => {
                consumer.negativeAcknowledge(message);
                count('shared nacked');
              },
            );
        });
      })(),
    );
  });
  const producer = await createProducer(topics.shared);
  await Promise.all([
    produce(producer, { seconds: PRODUCE_SECONDS, total: PRODUCE_SECONDS * 40, keyOf: (i) => `hot-${i % 8}` }),
    produce(producer, { seconds: 5, total: 5, keyOf: (i) => `later-${i}`, extra: () => ({ deliverAfter: 600_000 }) }),
  ]);
}

/**
 * Stall run: keys stuck-0 and stuck-1 never finish until the test releases
 * them; the messages behind them wait (head-of-line blocked), the consumer
 * reaches its unacked limit and the broker stops dispatching. A subscription
 * without consumers only accumulates backlog.
 */
async function stallRun(): Promise<void> {
  const abandoned = await work.rawClient.subscribe({ topic: topics.stall, subscription: 'abandoned', subscriptionType: 'Shared' });
  await abandoned.close();
  const consumer = await subscribe(topics.stall, 'stall', 'KeyShared', 'stall-1');
  const keyQueues = new Map<string, Promise<void>>();
  work.loops.push(
    consumeLoop(consumer, (message) => {
      const key = message.getPartitionKey();
      // One message of a key at a time, in order: a per-key queue.
      const previous = keyQueues.get(key) ?? Promise.resolve();
      const next = previous.then(async () => {
        await work.keyscope.process(message, () => (key.startsWith('stuck-') ? work.stuckRelease.promise : sleep(5)));
        await consumer.acknowledge(message);
        count('stall acked');
      });
      keyQueues.set(
        key,
        next.catch(() => {}),
      );
    }),
  );
  const producer = await createProducer(topics.stall);
  await produce(producer, {
    seconds: PRODUCE_SECONDS,
    total: PRODUCE_SECONDS * 10,
    keyOf: (i) => (i % 5 === 0 ? `stuck-${(i / 5) % 2}` : `key-${i % 17}`),
  });
}

/**
 * Overflow run: an Exclusive consumer that processes every message and never
 * acks it (the broker keeps dispatching; nothing stops it). Its Keyscope
 * tracks at most OVERFLOW_INFLIGHT_BOUND deliveries, so every later delivery
 * drops the oldest from tracking.
 */
async function overflowRun(): Promise<void> {
  const consumer = await subscribe(topics.overflow, 'overflow', 'Exclusive', 'overflow-1', work.boundedKeyscope);
  work.loops.push(
    consumeLoop(consumer, async (message) => {
      await work.boundedKeyscope.process(message, () => sleep(1));
      count('overflow held unacked');
    }),
  );
  const producer = await createProducer(topics.overflow);
  await produce(producer, { seconds: PRODUCE_SECONDS, total: PRODUCE_SECONDS * 5, keyOf: (i) => `held-${i % 10}` });
}

/**
 * Orchestrator run: shared_redis_lock (the mode with lock metrics), paced
 * over the produce time, with hot subscribers (lock contention) and a few
 * malformed events (dead letters); its processes serve /metrics on the
 * ports the stack's Prometheus scrapes for the orchestrator.
 */
async function orchestratorRun(): Promise<void> {
  const result = await runScenario({
    mode: 'shared_redis_lock',
    runId: ORCHESTRATOR_RUN_ID,
    consumers: 2,
    pulsarUrl: PULSAR_HTTP,
    redisUrl: REDIS,
    otlpEndpoint: OTLP_TRACES.replace(/\/v1\/traces$/, ''),
    traffic: { subscribers: 80, hotSubscribers: 3, hotJourneys: 10, seconds: PRODUCE_SECONDS, seed: 5, malformed: 3 },
    idleTimeoutMs: 120_000,
  });
  work.counts['orchestrator events'] = result.played.published;
  work.counts['orchestrator oracle violations'] = result.report.total;
}

// --- the test ------------------------------------------------------------------

const queries: (PanelQuery & { file: string })[] = dashboards.flatMap((definition) =>
  panelQueries(definition.build()).map((query) => ({ ...query, file: definition.file })),
);

describe('dashboards and alert rules on real data', () => {
  let startedAt = 0;

  beforeAll(async () => {
    expect(OLDEST_INFLIGHT_ALERT_SECONDS, 'threshold of KeyscopeOldestInflightTooOld').toBeLessThan(120);
    const missing: string[] = [];
    if (!(await reachable(`${PROMETHEUS}/-/ready`))) missing.push(`Prometheus (${PROMETHEUS})`);
    if (!(await reachable(`${PULSAR_HTTP}/admin/v2/clusters`))) missing.push(`the Pulsar broker (${PULSAR_HTTP})`);
    if (!(await reachable(COLLECTOR_HEALTH))) missing.push(`the OpenTelemetry Collector (${COLLECTOR_HEALTH})`);
    if (!(await reachable(`http://${AUDIT_METRICS}/metrics`))) missing.push(`keyscope audit (http://${AUDIT_METRICS})`);
    if (!(await reachable(`http://${BROKER_EXPORTER_METRICS}/metrics`)))
      missing.push(`keyscope broker-exporter (http://${BROKER_EXPORTER_METRICS})`);
    if (missing.length > 0) throw new Error(`not running: ${missing.join(', ')}. Start the native stack first: npm run stack:up`);

    const rules = await prometheus<{ groups: { rules: { name: string }[] }[] }>('/api/v1/rules', {});
    const loaded = rules.groups.flatMap((group) => group.rules.map((rule) => rule.name));
    const ours = alertRules.map((rule) => rule.alert);
    expect(
      loaded,
      `Prometheus must load dashboards/alerts.yml (rule_files); if the file changed since the stack started: curl -X POST ${PROMETHEUS}/-/reload`,
    ).toEqual(expect.arrayContaining(ours));

    for (const namespace of [NAMESPACE, BLOCKED_NAMESPACE]) {
      const status = await pulsarAdmin('PUT', `namespaces/${namespace}`);
      expect([204, 409], `create namespace ${namespace}`).toContain(status);
    }
    expect(await pulsarAdmin('POST', `namespaces/${BLOCKED_NAMESPACE}/maxUnackedMessagesPerConsumer`, MAX_UNACKED_PER_CONSUMER)).toBe(204);

    await startShortForPrometheus();
    await startApp();
    startedAt = Date.now();
  });

  afterAll(async () => {
    shortFor.process?.kill('SIGTERM');
    if (shortFor.dir) rmSync(shortFor.dir, { recursive: true, force: true });
    work.stuckRelease?.release();
    work.stopLoops = true;
    await Promise.allSettled(work.loops ?? []);
    await Promise.allSettled([...(work.consumers ?? []), ...(work.producers ?? [])].map((handle) => handle.close()));
    await Promise.allSettled([work.client?.close(), work.rawClient?.close()]);
    work.keyscope?.close();
    work.boundedKeyscope?.close();
    await work.tracerProvider?.shutdown().catch(() => {});
    await new Promise<void>((resolve) => (work.server ? work.server.close(() => resolve()) : resolve()));
    // The topics would keep the broker-side alerts going; remove them.
    for (const topic of ourTopics) {
      await pulsarAdmin('DELETE', `${topic.replace('persistent://', 'persistent/')}?force=true`).catch(() => 0);
    }
  });

  it('fills every panel with data and fires the alerts the workloads call for', { timeout: 300_000 }, async () => {
    const alertPoller = (async () => {
      while (!work.stopLoops) {
        await recordAlerts().catch(() => {});
        await recordShortForAlerts().catch(() => {});
        await sleep(5_000);
      }
    })();

    await Promise.all([cleanRun(), sharedRun(), stallRun(), overflowRun(), orchestratorRun()]);
    console.log(`workload done after ${Math.round((Date.now() - startedAt) / 1000)} s:`, work.counts);
    // A broker hiccup may time out a few sends; the signals below do not depend on them.
    expect(work.counts['send failed'] ?? 0, 'failed sends').toBeLessThanOrEqual((work.counts.sent ?? 0) * 0.02);
    await work.tracerProvider.forceFlush();

    // Wait until the stall alerts have had their chance: the oldest stuck
    // message must be older than the KeyscopeOldestInflightTooOld threshold,
    // then scraped and evaluated. Bounded.
    const deadline = startedAt + (OLDEST_INFLIGHT_ALERT_SECONDS + 75) * 1000;
    const wanted = (): boolean =>
      hasAlert('KeyscopeOrderingViolation', topics.shared) &&
      hasAlert('KeyscopeRedeliveryStorm', topics.shared) &&
      hasAlert('KeyscopeMessagesStalled', topics.stall) &&
      hasAlert('KeyscopeOldestInflightTooOld', topics.stall) &&
      hasAlert('PulsarSubscriptionBlockedOnUnacked', topics.stall, 'stall') &&
      hasAlert('PulsarSubscriptionBacklogGrowing', topics.stall) &&
      hasAlert('PulsarSubscriptionStopped', topics.stall, 'abandoned') &&
      hasAlert('KeyscopeInflightEvictions', topics.overflow, 'overflow') &&
      hasAlert('KeyscopeCrossConsumerExclusivity', '', 'shared');
    const shouldFire = [
      ['KeyscopeOrderingViolation', topics.shared],
      ['KeyscopeRedeliveryStorm', topics.shared],
      ['KeyscopeMessagesStalled', topics.stall],
      ['KeyscopeOldestInflightTooOld', topics.stall],
      ['PulsarSubscriptionBlockedOnUnacked', topics.stall],
      ['PulsarSubscriptionBacklogGrowing', topics.stall],
      ['PulsarSubscriptionStopped', topics.stall],
      ['KeyscopeInflightEvictions', topics.overflow],
      // The auditor's series carry the subscription only: no topic label.
      ['KeyscopeCrossConsumerExclusivity', ''],
    ] as const;
    const firingWanted = (): boolean => shouldFire.every(([alertname, topic]) => firedShortFor(alertname, topic));
    while (Date.now() < deadline && !(wanted() && firingWanted())) {
      await sleep(5_000);
      await recordAlerts();
      await recordShortForAlerts().catch(() => {});
    }
    // Let the span metrics and the last gauges reach Prometheus.
    await sleep(10_000);

    // Every panel query, variables set to this run's topics and service.
    const end = Date.now() / 1000;
    const start = startedAt / 1000 - 30;
    const rangeSeconds = Math.ceil(end - start);
    const results: { file: string; panel: string; refId: string; series: number; points: number }[] = [];
    for (const query of queries) {
      const expr = substituteVariables(query.expr, {
        rateInterval: '1m',
        range: `${rangeSeconds}s`,
        variables: { topic: panelTopicRegex, subscription: '.*', service: SERVICE_NAME, span_name: '.*' },
      });
      const data = query.instant
        ? await prometheus<{ result: PromSeries[] }>('/api/v1/query', { query: expr, time: String(end) })
        : await prometheus<{ result: PromSeries[] }>('/api/v1/query_range', {
            query: expr,
            start: String(start),
            end: String(end),
            step: '5',
          });
      const points = data.result.reduce(
        (sum, series) => sum + (series.values ?? (series.value ? [series.value] : [])).filter(([, value]) => value !== 'NaN').length,
        0,
      );
      results.push({ file: query.file, panel: query.panelTitle, refId: query.refId, series: data.result.length, points });
    }
    console.log('panel queries against the real Prometheus:');
    console.table(results);

    // Exemplars link the latency histograms to traces.
    const exemplars = await prometheus<{ exemplars: { labels: Record<string, string> }[] }[]>('/api/v1/query_exemplars', {
      query: `keyscope_end_to_end_seconds_bucket{topic=~"${topicRegex}"}`,
      start: String(start),
      end: String(end),
    });
    const traceIds = exemplars.flatMap((series) => series.exemplars.map((exemplar) => exemplar.labels.trace_id));
    console.log(`exemplars on keyscope_end_to_end_seconds: ${traceIds.length} (e.g. trace_id ${traceIds[0] ?? '-'})`);
    // What Grafana's exemplar link opens: the trace with that id in Jaeger.
    const linkedTraces: { traceId: string; services: string[] }[] = [];
    for (const traceId of traceIds.slice(0, 5).filter((id): id is string => id !== undefined)) {
      const response = await fetch(`${JAEGER}/api/traces/${traceId}`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      if (response?.ok !== true) continue;
      const body = (await response.json()) as { data?: { processes: Record<string, { serviceName: string }> }[] };
      const services = Object.values(body.data?.[0]?.processes ?? {}).map((process) => process.serviceName);
      linkedTraces.push({ traceId, services });
    }
    console.log(`exemplar trace ids found in Jaeger: ${linkedTraces.length} of ${Math.min(traceIds.length, 5)}`);

    await recordAlerts();
    const alertTable = [...seenAlerts.values()]
      .filter((alert) => ourTopics.includes(alert.topic))
      .map((alert) => ({
        alert: alert.alertname,
        topic: alert.topic.replace(/.*\//, ''),
        subscription: alert.subscription,
        states: [...alert.states].join(','),
      }));
    console.log('alerts seen for this run (pending = expression true, waiting for `for:`):');
    console.table(alertTable);
    const firedTable = [...firedWithShortFor]
      .map((id) => id.split('|'))
      .filter(([, topic]) => ourTopics.includes(topic ?? ''))
      .map(([alert, topic, subscription]) => ({ alert, topic: (topic ?? '').replace(/.*\//, ''), subscription }));
    console.log(`alerts firing with every \`for:\` shortened to ${SHORT_FOR} (second Prometheus on :${SHORT_FOR_PROMETHEUS_PORT}):`);
    console.table(firedTable);

    work.stuckRelease.release();
    work.stopLoops = true;
    await alertPoller;

    const empty = results.filter((result) => result.points === 0);
    expect(
      empty.map((result) => `${result.file}: ${result.panel} (${result.refId})`),
      'panel queries without data',
    ).toEqual([]);
    expect(traceIds.length, 'exemplars with a trace_id on the end-to-end histogram').toBeGreaterThan(0);
    expect(
      traceIds.every((id) => /^[0-9a-f]{32}$/.test(id ?? '')),
      'exemplar trace ids',
    ).toBe(true);
    expect(
      linkedTraces.some((trace) => trace.services.includes(SERVICE_NAME)),
      'an exemplar trace id opens a trace of this run in Jaeger',
    ).toBe(true);

    // The bad runs fire what they should ...
    expect(
      alertsFor(topics.shared)
        .filter((a) => a.alertname === 'KeyscopeOrderingViolation')
        .map((a) => a.subscription),
    ).toContain('shared');
    for (const [alertname, topic] of shouldFire) {
      expect(hasAlert(alertname, topic), `${alertname} on ${topic}`).toBe(true);
    }
    // ... and every rule goes all the way to firing once its condition has
    // held for the (shortened) `for:` ...
    for (const [alertname, topic] of shouldFire) {
      expect(firedShortFor(alertname, topic), `${alertname} firing on ${topic} with for: ${SHORT_FOR}`).toBe(true);
    }
    // ... with both fault kinds of the Shared run among the violations.
    const violationKinds = await prometheus<{ result: PromSeries[] }>('/api/v1/query', {
      query: `sum by (kind) (keyscope_ordering_violations_total{topic="${topics.shared}"}) > 0`,
    });
    expect(violationKinds.result.map((series) => series.metric.kind).sort()).toEqual(
      expect.arrayContaining(['concurrent', 'redelivery_reorder', 'reorder']),
    );

    // The overflow run hit its bound: every delivery beyond the tracked ones
    // was counted as an eviction, and tracking never held more than the
    // bound. The runs under the default bound evicted nothing.
    const overflowFigures = async (expr: string): Promise<number> => {
      const data = await prometheus<{ result: PromSeries[] }>('/api/v1/query', { query: expr, time: String(end) });
      return Number(data.result[0]?.value?.[1] ?? 'NaN');
    };
    const overflow = `topic="${topics.overflow}", subscription="overflow"`;
    const overflowReceived = await overflowFigures(`sum(keyscope_messages_received_total{${overflow}})`);
    const overflowEvicted = await overflowFigures(`sum(keyscope_inflight_evictions_total{${overflow}})`);
    const overflowInflight = await overflowFigures(`sum(keyscope_inflight_messages{${overflow}})`);
    const overflowMaxInflight = await overflowFigures(`max(max_over_time(keyscope_inflight_messages{${overflow}}[${rangeSeconds}s]))`);
    console.log(
      `overflow run (maxInflightMessages ${OVERFLOW_INFLIGHT_BOUND}): received ${overflowReceived}, evicted ${overflowEvicted}, in flight ${overflowInflight} (at most ${overflowMaxInflight})`,
    );
    expect(overflowReceived, 'messages received by the overflow run').toBeGreaterThan(OVERFLOW_INFLIGHT_BOUND * 2);
    expect(overflowEvicted, 'evicted = received - still tracked').toBe(overflowReceived - overflowInflight);
    expect(overflowMaxInflight, 'tracked in flight never above the bound').toBeLessThanOrEqual(OVERFLOW_INFLIGHT_BOUND);
    const unboundedEvictions = await prometheus<{ result: PromSeries[] }>('/api/v1/query', {
      query: `sum by (topic) (keyscope_inflight_evictions_total{topic=~"${topicRegex}", topic!="${topics.overflow}"})`,
      time: String(end),
    });
    expect(
      Object.fromEntries(unboundedEvictions.result.map((series) => [series.metric.topic, series.value?.[1]])),
      'in-flight evictions of the runs under the default bound',
    ).toEqual({ [topics.clean]: '0', [topics.shared]: '0', [topics.stall]: '0' });
    for (const topic of [topics.clean, topics.shared, topics.stall]) {
      expect(hasAlert('KeyscopeInflightEvictions', topic), `KeyscopeInflightEvictions on ${topic}`).toBe(false);
      expect(firedShortFor('KeyscopeInflightEvictions', topic), `KeyscopeInflightEvictions firing on ${topic}`).toBe(false);
    }

    // The error panels show real failures, not only the zero line they
    // draw for spans without errors.
    const ourSpans = `service_name="${SERVICE_NAME}", messaging_destination_name=~"${topicRegex}"`;
    const failedSpans = await prometheus<{ result: PromSeries[] }>('/api/v1/query', {
      query:
        `sum by (span_name) (traces_span_metrics_calls_total{${ourSpans}, status_code="STATUS_CODE_ERROR"}` +
        ` or traces_span_metrics_calls_total{${ourSpans}, error_type!=""})`,
    });
    expect(failedSpans.result.map((series) => series.metric.span_name)).toEqual([`process ${topics.shared}`]);

    // ... and the clean run stays silent. (The broker-side backlog rules
    // may go pending for a moment on any busy topic; their `for:` of 5 and
    // 10 minutes is what keeps them quiet, so they are not asserted here.)
    expect(
      alertsFor(topics.clean).filter(
        (alert) => alert.alertname.startsWith('Keyscope') || alert.alertname === 'PulsarSubscriptionBlockedOnUnacked',
      ),
      'violation, stall and blocking alerts for the clean Key_Shared run',
    ).toEqual([]);
    expect(
      [...firedWithShortFor].filter(
        (id) => id.split('|')[1] === topics.clean && (id.startsWith('Keyscope') || id.startsWith('PulsarSubscriptionBlockedOnUnacked')),
      ),
      'violation, stall and blocking alerts firing for the clean run with short for:',
    ).toEqual([]);
    // Across consumers: the auditor saw the Shared run's split brain, and no
    // exclusivity violation on the clean Key_Shared run.
    expect(hasAlert('KeyscopeCrossConsumerExclusivity', '', 'shared'), 'KeyscopeCrossConsumerExclusivity for subscription shared').toBe(
      true,
    );
    expect(hasAlert('KeyscopeCrossConsumerExclusivity', '', 'clean'), 'KeyscopeCrossConsumerExclusivity for subscription clean').toBe(
      false,
    );
    const cleanViolations = await prometheus<{ result: PromSeries[] }>('/api/v1/query', {
      query: `sum(keyscope_ordering_violations_total{topic="${topics.clean}"})`,
    });
    expect(cleanViolations.result.map((series) => series.value?.[1])).toEqual(['0']);
  });
});
