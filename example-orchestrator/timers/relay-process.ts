/**
 * The timer relay: journey delays are delayed messages on their own timers
 * topic (deliverAt = due time + grace), read here on a Shared subscription,
 * and each due timer is re-published onto the events topic with the
 * subscriber as key, so that the consumer owning the subscriber applies it
 * in line with the subscriber's events. Delayed messages never sit on the
 * Key_Shared events topic, where one could hold a consumer back.
 */
import { wallTimeOf } from '../domain/clock.js';
import { parseEvent } from '../domain/events.js';
import { exponentialBackoff, KeyedExecutor } from '../executor/keyed-executor.js';
import type { MessageLike } from 'pulsar-keyscope';
import { onShutdown, processContext, reportReady, reportStats, runMain } from '../modes/process-runtime.js';
import { openPulsar } from '../modes/pulsar.js';
import { pumpByKey } from '../modes/receive.js';
import { OrchestratorMetrics } from '../telemetry/metrics.js';
import { startTelemetry } from '../telemetry/telemetry.js';

runMain(
  () => processContext('timer-relay'),
  async (context) => {
    const { run, name } = context;
    const telemetry = await startTelemetry({
      serviceName: 'orchestrator-timer-relay',
      instanceId: `${run.runId}/${name}`,
      otlpEndpoint: run.otlpEndpoint,
      metricsHost: run.metricsHost,
      metricsPort: run.ports.timerRelay,
      attributes: { 'orchestrator.mode': run.mode, 'orchestrator.run': run.runId },
      warn: context.warn,
    });
    const metrics = new OrchestratorMetrics(telemetry.registry, run.mode).initialize('timer-relay');
    const pulsar = openPulsar({ serviceUrl: run.pulsarUrl, registry: telemetry.registry, stallThresholdMs: run.executor.deadlineMs });
    const producerConfig = { topic: run.topics.events, batchingEnabled: false, blockIfQueueFull: true, sendTimeoutMs: 30_000 };
    const events = await pulsar.client.createProducer(producerConfig);
    const consumerConfig = {
      topic: run.topics.timers,
      subscription: run.subscriptions.timers,
      subscriptionType: 'Shared' as const,
      consumerName: name,
      subscriptionInitialPosition: 'Earliest' as const,
      receiverQueueSize: 500,
    };
    const consumer = await pulsar.client.subscribe(consumerConfig);
    const stats = { received: 0, acked: 0, retries: 0, deadLettered: 0, relayed: 0, malformed: 0 };
    const role = { mode: run.mode, role: 'timer-relay' };
    const executor = new KeyedExecutor<MessageLike>({
      maxInFlight: 500,
      maxKeyDepth: 50,
      // Re-publishing only fails while the broker is away: keep trying.
      maxAttempts: 1_000,
      retryDelayMs: exponentialBackoff(50, 2_000),
      deadlineMs: run.executor.deadlineMs,
      handle: async (message) => {
        const parsed = parseEvent(message.getData());
        if (!parsed.ok || parsed.event.type !== 'timer_fired') {
          stats.malformed += 1;
          metrics.deadLetters.inc({ ...role, reason: parsed.ok ? 'unknown_type' : parsed.reason });
          context.warn(
            `dropping a timers-topic message that is not a timer_fired event (${parsed.ok ? parsed.event.type : parsed.reason})`,
          );
          return;
        }
        await events.send({ data: message.getData(), partitionKey: parsed.event.subscriberId });
        metrics.timersRelayed.inc({ mode: run.mode });
        metrics.timerRelayLag.observe({ mode: run.mode }, Math.max(0, Date.now() - wallTimeOf(run.clock, parsed.event.dueTime)) / 1000);
        stats.relayed += 1;
      },
      onDone: async (message) => {
        await consumer.acknowledge(message);
        stats.acked += 1;
      },
      onDeadLetter: async (message) => {
        consumer.negativeAcknowledge(message);
      },
      onRetry: () => {
        stats.retries += 1;
        metrics.executorRetries.inc(role);
      },
    });
    let running = true;
    const loop = pumpByKey(consumer, executor, {
      isRunning: () => running,
      onReceived: () => {
        stats.received += 1;
      },
      warn: (text) => context.warn(text),
    });
    const stopStats = reportStats(() => {
      metrics.executorInFlight.set(role, executor.inFlight);
      return {
        received: stats.received,
        acked: stats.acked,
        retries: stats.retries,
        deadLettered: stats.malformed,
        inFlight: executor.inFlight,
        counters: { relayed: stats.relayed },
      };
    });
    context.log(`relaying ${run.topics.timers} -> ${run.topics.events}; metrics on ${telemetry.metricsUrl}`);
    reportReady(telemetry.metricsUrl);
    onShutdown(context, async () => {
      running = false;
      await loop;
      await executor.close();
      stopStats();
      await consumer.close();
      await pulsar.close();
      await telemetry.shutdown();
    });
  },
);
