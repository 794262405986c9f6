/** The broker exporter as a service: polls in the background, serves /metrics. */
import { createServer } from 'node:http';
import { baseUrl, closeServer, listen, serveMetrics } from '../service/http.js';
import { BrokerExporter, type BrokerExporterOptions } from './exporter.js';

export interface BrokerExporterServiceOptions extends BrokerExporterOptions {
  /** Port of /metrics (0: any free port). Default 9466. */
  metricsPort?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface BrokerExporterService {
  readonly exporter: BrokerExporter;
  readonly metricsUrl: string;
  close(): Promise<void>;
}

export async function startBrokerExporterService(options: BrokerExporterServiceOptions): Promise<BrokerExporterService> {
  const exporter = new BrokerExporter(options);
  const host = options.host ?? '127.0.0.1';
  const server = createServer((request, response) => serveMetrics(exporter.registry, request, response));
  const port = await listen(server, options.metricsPort ?? 9466, host, 'metrics (--metrics-port)');
  exporter.start();
  return {
    exporter,
    metricsUrl: `${baseUrl(host, port)}/metrics`,
    async close() {
      await Promise.all([exporter.close(), closeServer(server)]);
    },
  };
}
