/**
 * The gateway: a Key_Shared consumer of the outbound topic that delivers each
 * send command to the provider over HTTP, through a keyed executor (one
 * subscriber's sends in order, subscribers in parallel). 429 waits for
 * Retry-After, 5xx and network errors back off; both retry in place. After
 * maxAttempts the command goes to the outbound dead-letter topic. The
 * provider's answer "duplicate" means an earlier attempt of this decision got
 * through (at-least-once redelivery): done.
 */
import type { MessageLike } from 'pulsar-keyscope';
import { parseCommand, type SendCommand } from '../domain/commands.js';
import { exponentialBackoff, KeyedExecutor } from '../executor/keyed-executor.js';
import { onShutdown, processContext, reportReady, reportStats, runMain } from '../modes/process-runtime.js';
import { openPulsar } from '../modes/pulsar.js';
import { pumpByKey } from '../modes/receive.js';
import { OrchestratorMetrics } from '../telemetry/metrics.js';
import { startTelemetry } from '../telemetry/telemetry.js';
import { PROVIDER_URL_ENV } from './env.js';
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_ATTEMPTS = 30;

/** The provider asked to come back later (429), or failed in a way worth retrying. */
class RetryableDeliveryError extends Error {
  override readonly name = 'RetryableDeliveryError';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

runMain(
  () => processContext('gateway'),
  async (context) => {
    const { run, name } = context;
    const providerUrl = process.env[PROVIDER_URL_ENV];
    if (!providerUrl) throw new Error(`${PROVIDER_URL_ENV} is not set: start the gateway through startMode()`);
    const telemetry = await startTelemetry({
      serviceName: 'orchestrator-gateway',
      instanceId: `${run.runId}/${name}`,
      otlpEndpoint: run.otlpEndpoint,
      metricsHost: run.metricsHost,
      metricsPort: run.ports.gateway,
      attributes: { 'orchestrator.mode': run.mode, 'orchestrator.run': run.runId },
      warn: context.warn,
    });
    const metrics = new OrchestratorMetrics(telemetry.registry, run.mode).initialize('gateway');
    const mode = { mode: run.mode };
    const role = { mode: run.mode, role: 'gateway' };
    const pulsar = openPulsar({ serviceUrl: run.pulsarUrl, registry: telemetry.registry, stallThresholdMs: run.executor.deadlineMs });
    const deadLetterConfig = { topic: run.topics.outboundDeadLetter, batchingEnabled: false, blockIfQueueFull: true };
    const deadLetter = await pulsar.client.createProducer(deadLetterConfig);
    const consumerConfig = {
      topic: run.topics.outbound,
      subscription: run.subscriptions.gateway,
      subscriptionType: 'KeyShared' as const,
      consumerName: name,
      subscriptionInitialPosition: 'Earliest' as const,
      receiverQueueSize: 500,
    };
    const consumer = await pulsar.client.subscribe(consumerConfig);
    const stats = { received: 0, acked: 0, retries: 0, deadLettered: 0 };
    const counters: Record<string, number> = {};
    const count = (key: string) => (counters[key] = (counters[key] ?? 0) + 1);
    const backoff = exponentialBackoff(50, 2_000);

    const deliver = async (command: SendCommand): Promise<void> => {
      let response: Response;
      try {
        response = await fetch(`${providerUrl}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(command),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        await response.arrayBuffer();
      } catch (error) {
        metrics.gatewayResponses.inc({ ...mode, status: '0' });
        throw new RetryableDeliveryError(`provider unreachable: ${error instanceof Error ? error.message : String(error)}`);
      }
      metrics.gatewayResponses.inc({ ...mode, status: String(response.status) });
      if (response.status === 202 || response.status === 200) {
        const outcome = response.status === 202 ? 'accepted' : 'retry_of_accepted';
        metrics.gatewayDeliveries.inc({ ...mode, outcome });
        count(outcome);
        return;
      }
      if (response.status === 409 || response.status === 400) {
        metrics.gatewayDeliveries.inc({ ...mode, outcome: 'rejected' });
        count('rejected');
        return;
      }
      if (response.status === 429) {
        const seconds = Number(response.headers.get('retry-after') ?? '1');
        throw new RetryableDeliveryError('provider rate limit (429)', (Number.isFinite(seconds) ? seconds : 1) * 1000);
      }
      throw new RetryableDeliveryError(`provider answered ${response.status}`);
    };

    const executor = new KeyedExecutor<MessageLike>({
      maxInFlight: run.executor.maxInFlight,
      maxKeyDepth: run.executor.maxKeyDepth,
      maxAttempts: MAX_ATTEMPTS,
      deadlineMs: run.executor.deadlineMs,
      retryDelayMs: (attempt, error) =>
        error instanceof RetryableDeliveryError && error.retryAfterMs !== undefined ? error.retryAfterMs : backoff(attempt),
      handle: (message) =>
        pulsar.keyscope.process(message, async () => {
          const command = parseCommand(message.getData());
          if (command === undefined) throw new Error('not a SendCommand');
          await deliver(command);
        }),
      onDone: async (message, info) => {
        metrics.executorHandle.observe(role, info.totalMs / 1000);
        await consumer.acknowledge(message);
        stats.acked += 1;
      },
      onDeadLetter: async (message, error, info) => {
        context.warn(
          `giving up on a send command after ${info.attempts} attempts: ${error instanceof Error ? error.message : String(error)}`,
        );
        await deadLetter.send({
          data: message.getData(),
          partitionKey: message.getPartitionKey(),
          properties: { 'orchestrator-dead-letter-reason': 'delivery_failed' },
        });
        metrics.deadLetters.inc({ ...role, reason: 'delivery_failed' });
        stats.deadLettered += 1;
        await consumer.acknowledge(message);
      },
      onAbandon: (message) => consumer.negativeAcknowledge(message),
      onRetry: () => {
        stats.retries += 1;
        metrics.executorRetries.inc(role);
      },
      onStalled: () => metrics.executorStalled.inc(role),
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
      metrics.executorActiveKeys.set(role, executor.activeKeys);
      return { ...stats, inFlight: executor.inFlight, counters: { ...counters } };
    });
    context.log(`delivering ${run.topics.outbound} to ${providerUrl}; metrics on ${telemetry.metricsUrl}`);
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
