/**
 * One consumer in its own OS process, as a pod of a service would run it:
 * keyscope-instrumented WebSocket consumer, spans to the collector over
 * OTLP/HTTP (protobuf). Driven by its parent over IPC:
 *   parent -> child: { type: 'close' } (flush spans, close, exit)
 *   child -> parent: { type: 'ready' }, { type: 'processed', id, key },
 *                    { type: 'closed', concurrent } (in-process `concurrent` violations)
 * Config comes as JSON in argv[2] (see AuditedConsumerConfig).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { Keyscope } from '../../../src/index.js';
import { WebSocketClient, type WebSocketConsumer, type WebSocketMessage } from '../../../src/websocket/index.js';
import { installGlobalPropagation } from '../../support/otel.js';

export interface AuditedConsumerConfig {
  pulsarUrl: string;
  otlpTracesUrl: string;
  serviceName: string;
  topic: string;
  subscription: string;
  subscriptionType: 'Shared' | 'KeyShared';
  consumerName: string;
  /** How long the handler works on each message before acking it. */
  holdMs: number;
  receiverQueueSize: number;
}

export type ChildMessage = { type: 'ready' } | { type: 'processed'; id: string; key: string } | { type: 'closed'; concurrent: number };

const config = JSON.parse(process.argv[2] ?? '{}') as AuditedConsumerConfig;
const send = (message: ChildMessage): void => {
  process.send?.(message);
};

installGlobalPropagation();
const tracerProvider = new TracerProvider({
  resource: resourceFromAttributes({ 'service.name': config.serviceName }),
  spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: config.otlpTracesUrl }), scheduledDelayMillis: 200 })],
});
const registry = new Registry();
const keyscope = new Keyscope({ registry, tracerProvider });
const client = keyscope.instrumentClient(new WebSocketClient({ serviceUrl: config.pulsarUrl, operationTimeoutSeconds: 30, logLevel: 3 }));
const consumer: WebSocketConsumer = await client.subscribe({
  topic: config.topic,
  subscription: config.subscription,
  subscriptionType: config.subscriptionType,
  consumerName: config.consumerName,
  subscriptionInitialPosition: 'Earliest',
  receiverQueueSize: config.receiverQueueSize,
  // One message at a time, as the WebSocket client's listener runs: no overlap inside this process.
  listener: async (message: WebSocketMessage, c: WebSocketConsumer) => {
    await sleep(config.holdMs);
    await c.acknowledge(message);
    send({ type: 'processed', id: message.getMessageId().toString(), key: message.getPartitionKey() });
  },
});

process.on('message', (message: { type?: string }) => {
  if (message.type !== 'close') return;
  void (async () => {
    await consumer.close().catch(() => {});
    await client.close().catch(() => {});
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'keyscope_ordering_violations_total');
    const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
    const concurrent = values.filter((v) => v.labels.kind === 'concurrent').reduce((sum, v) => sum + v.value, 0);
    keyscope.close();
    await tracerProvider.shutdown();
    send({ type: 'closed', concurrent });
    process.disconnect?.();
  })();
});
send({ type: 'ready' });
