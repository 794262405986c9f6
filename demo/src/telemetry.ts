/**
 * OpenTelemetry and Prometheus setup of an instrumented demo service: the
 * NodeSDK exporting spans over OTLP/HTTP to the collector, and a prom-client
 * registry in OpenMetrics format (the format that carries trace-id exemplars)
 * served on /metrics with node:http.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { Registry, type OpenMetricsContentType } from 'prom-client';

export interface TelemetryOptions {
  serviceName: string;
  /** Base URL of the collector's OTLP/HTTP receiver, e.g. http://127.0.0.1:4318. */
  otlpEndpoint: string;
  metricsHost: string;
  /** 0 picks a free port. */
  metricsPort: number;
}

export interface Telemetry {
  readonly registry: Registry<OpenMetricsContentType>;
  readonly serviceInstanceId: string;
  /** Where Prometheus scrapes this process. */
  readonly metricsUrl: string;
  /** Exports the spans still buffered. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const serviceInstanceId = randomUUID();
  const exporter = new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` });
  // A short delay so that traces reach Jaeger while the demo still runs.
  const processor = new BatchSpanProcessor({ exporter, scheduledDelayMillis: 500, maxExportBatchSize: 512, maxQueueSize: 8192 });
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      'service.name': options.serviceName,
      'service.namespace': 'pulsar-keyscope',
      'service.instance.id': serviceInstanceId,
      'deployment.environment.name': 'demo',
    }),
    // Host and process detectors would add attributes nobody queries here.
    autoDetectResources: false,
    spanProcessors: [processor],
    instrumentations: [],
  });
  sdk.start();

  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const server = await serveMetrics(registry, options.metricsHost, options.metricsPort);
  const address = server.address() as AddressInfo;
  const shownHost = options.metricsHost === '0.0.0.0' ? '127.0.0.1' : options.metricsHost;

  return {
    registry,
    serviceInstanceId,
    metricsUrl: `http://${shownHost}:${address.port}/metrics`,
    flush: () => processor.forceFlush(),
    async shutdown() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sdk.shutdown();
    },
  };
}

function serveMetrics(registry: Registry<OpenMetricsContentType>, host: string, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are on /metrics\n');
      return;
    }
    registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  // Scrapes must not keep the process alive once the work is done.
  server.unref();
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${port} for /metrics is taken on ${host}: stop the other process or set APP_METRICS_PORT`)
          : error,
      );
    });
    server.listen(port, host, () => resolve(server));
  });
}
