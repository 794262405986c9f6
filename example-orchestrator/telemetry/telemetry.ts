/**
 * Telemetry of one orchestrator process: the OpenTelemetry NodeSDK exporting
 * spans over OTLP/HTTP to the collector (keyscope's spans, through the global
 * tracer provider), and a prom-client registry in OpenMetrics format (the
 * format that carries exemplars) on /metrics, one port per process.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { collectDefaultMetrics, Registry, type OpenMetricsContentType } from 'prom-client';

export interface TelemetryOptions {
  serviceName: string;
  /** service.instance.id, e.g. the process name and run id. */
  instanceId: string;
  /** Collector OTLP/HTTP base URL; '' = no trace export. */
  otlpEndpoint: string;
  metricsHost: string;
  /** Preferred port; when it is taken, any free port (logged with `warn`). */
  metricsPort: number;
  attributes?: Record<string, string>;
  /** More span processors, after the OTLP export (they run even without an OTLP endpoint). */
  spanProcessors?: SpanProcessor[];
  warn?: (message: string) => void;
}

export interface Telemetry {
  readonly registry: Registry<OpenMetricsContentType>;
  readonly metricsUrl: string;
  shutdown(): Promise<void>;
}

export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  let sdk: NodeSDK | undefined;
  const processors: SpanProcessor[] = [];
  if (options.otlpEndpoint !== '') {
    const exporter = new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` });
    processors.push(new BatchSpanProcessor({ exporter, scheduledDelayMillis: 1_000, maxExportBatchSize: 512, maxQueueSize: 8_192 }));
  }
  processors.push(...(options.spanProcessors ?? []));
  if (processors.length > 0) {
    sdk = new NodeSDK({
      resource: resourceFromAttributes({
        'service.name': options.serviceName,
        'service.namespace': 'pulsar-keyscope',
        'service.instance.id': options.instanceId,
        ...options.attributes,
      }),
      autoDetectResources: false,
      spanProcessors: processors,
      instrumentations: [],
    });
    sdk.start();
  }
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  // process_cpu_seconds_total and friends: CPU per event in the comparison.
  collectDefaultMetrics({ register: registry });
  const server = await serveMetrics(registry, options);
  const port = (server.address() as AddressInfo).port;
  return {
    registry,
    metricsUrl: `http://${options.metricsHost === '0.0.0.0' ? '127.0.0.1' : options.metricsHost}:${port}/metrics`,
    async shutdown() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sdk?.shutdown().catch(() => undefined);
    },
  };
}

async function serveMetrics(registry: Registry<OpenMetricsContentType>, options: TelemetryOptions): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are on /metrics\n');
      return;
    }
    registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  server.unref();
  try {
    await listen(server, options.metricsHost, options.metricsPort);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || options.metricsPort === 0) throw error;
    await listen(server, options.metricsHost, 0);
    options.warn?.(
      `port ${options.metricsPort} for /metrics is taken; serving on ${(server.address() as AddressInfo).port} instead (Prometheus will not scrape it; set ORCHESTRATOR_METRICS_PORT)`,
    );
  }
  return server;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
