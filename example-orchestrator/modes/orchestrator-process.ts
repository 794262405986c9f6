/**
 * Entry point of one orchestrator consumer process (started by startMode;
 * settings from the run's run.json).
 */
import { DetectionLog } from '../compare/detections.js';
import { FaultSwitches } from '../faults/switches.js';
import { SubscriberLock } from '../store/lock.js';
import { connectRedis } from '../store/redis-connection.js';
import { RedisStore } from '../store/redis-store.js';
import { OrchestratorMetrics } from '../telemetry/metrics.js';
import { startTelemetry } from '../telemetry/telemetry.js';
import { MODE_TRAITS } from './modes.js';
import { Orchestrator } from './orchestrator.js';
import { onShutdown, processContext, reportReady, reportStats, runMain } from './process-runtime.js';
import { openPulsar } from './pulsar.js';

runMain(
  () => processContext('orchestrator'),
  async (context) => {
    const { run, name } = context;
    const traits = MODE_TRAITS[run.mode];
    // Both are off unless the comparison names their files in the environment.
    const faults = FaultSwitches.fromEnv();
    const detections = DetectionLog.fromEnv(name);
    const telemetry = await startTelemetry({
      serviceName: 'orchestrator',
      instanceId: `${run.runId}/${name}`,
      otlpEndpoint: run.otlpEndpoint,
      metricsHost: run.metricsHost,
      metricsPort: run.ports.orchestratorBase + context.index,
      attributes: { 'orchestrator.mode': run.mode, 'orchestrator.run': run.runId },
      ...(detections !== undefined ? { spanProcessors: [detections] } : {}),
      warn: context.warn,
    });
    const metrics = new OrchestratorMetrics(telemetry.registry, run.mode).initialize('orchestrator');
    const redis = await connectRedis(run.redisUrl, name, (error) => context.warn(`redis: ${error.message}`));
    const store = new RedisStore(redis, run.redisPrefix);
    const lock = traits.lock ? new SubscriberLock(redis, run.redisPrefix, run.lock) : undefined;
    const pulsar = openPulsar({ serviceUrl: run.pulsarUrl, registry: telemetry.registry, stallThresholdMs: run.executor.deadlineMs });
    const producer = (topic: string) => pulsar.client.createProducer({ topic, ...PRODUCER_DEFAULTS });
    const [outbound, timers, deadLetter] = await Promise.all([
      producer(run.topics.outbound),
      producer(run.topics.timers),
      producer(run.topics.deadLetter),
    ]);
    const consumer = await pulsar.client.subscribe({
      topic: run.topics.events,
      subscription: run.subscriptions.orchestrator,
      subscriptionType: traits.subscriptionType,
      consumerName: name,
      subscriptionInitialPosition: 'Earliest',
      // An event handed back because it came before its predecessor (shared_redis_lock) returns quickly.
      nAckRedeliverTimeoutMs: 200,
      // Bounded prefetch: the executor's maxInFlight is the real bound.
      receiverQueueSize: Math.min(1000, Math.max(10, run.executor.maxInFlight)),
    } as Parameters<typeof pulsar.client.subscribe>[0]);
    const orchestrator = new Orchestrator({
      run,
      name,
      traits,
      consumer,
      outbound,
      timers,
      deadLetter,
      store,
      ...(lock !== undefined ? { lock } : {}),
      metrics,
      processWindow: (message, fn) => pulsar.keyscope.process(message, fn),
      ...(faults.empty ? {} : { beforeHandle: (subscriberId: string, seq: number) => faults.beforeHandle(subscriberId, seq) }),
      log: context.log,
    });
    orchestrator.start();
    const stopStats = reportStats(() => orchestrator.stats());
    context.log(
      `consuming ${run.topics.events} (${traits.subscriptionType}, subscription ${run.subscriptions.orchestrator}); metrics on ${telemetry.metricsUrl}`,
    );
    reportReady(telemetry.metricsUrl);
    onShutdown(context, async () => {
      await orchestrator.stop();
      stopStats();
      await consumer.close();
      await Promise.all([outbound.flush(), timers.flush(), deadLetter.flush()]).catch(() => undefined);
      await pulsar.close();
      await store.close();
      await telemetry.shutdown();
    });
  },
);

// No batching (a batch would mix keys), and wait for room rather than fail when the send queue is full.
const PRODUCER_DEFAULTS = { batchingEnabled: false, blockIfQueueFull: true, sendTimeoutMs: 30_000 };
