/**
 * The provider as a real HTTP server process: POST /v1/messages with a
 * SendCommand; answers after a simulated latency. Writes the run's delivery
 * log (deliveries.jsonl), one line per distinct decision accepted. /metrics
 * is served on its own port.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { simTimeAt, wallTimeOf } from '../domain/clock.js';
import { parseCommand } from '../domain/commands.js';
import { RUN_FILES, type DeliveryRecord } from '../domain/records.js';
import { onShutdown, processContext, reportReady, reportStats, runMain } from '../modes/process-runtime.js';
import { JsonlWriter } from '../run/jsonl.js';
import { OrchestratorMetrics } from '../telemetry/metrics.js';
import { startTelemetry } from '../telemetry/telemetry.js';
import { Provider } from './provider.js';

const MAX_BODY_BYTES = 64 * 1024;

runMain(
  () => processContext('provider'),
  async (context) => {
    const { run, name } = context;
    const telemetry = await startTelemetry({
      serviceName: 'orchestrator-provider',
      instanceId: `${run.runId}/${name}`,
      otlpEndpoint: '',
      metricsHost: run.metricsHost,
      metricsPort: run.ports.providerMetrics,
      warn: context.warn,
    });
    const metrics = new OrchestratorMetrics(telemetry.registry, run.mode).initialize('provider');
    const provider = new Provider(run.provider, { wallNow: () => Date.now(), simNow: () => simTimeAt(run.clock, Date.now()) });
    const log = new JsonlWriter<DeliveryRecord>(join(run.runDir, RUN_FILES.deliveries));
    const counters: Record<string, number> = {};
    let requests = 0;
    let inFlight = 0;
    const mode = { mode: run.mode };

    const server = createServer((request, response) => {
      if (request.method !== 'POST' || request.url !== '/v1/messages') {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"POST /v1/messages"}');
        return;
      }
      requests += 1;
      inFlight += 1;
      void (async () => {
        const body = await readBody(request);
        const command = body === undefined ? undefined : parseCommand(body);
        if (command === undefined) {
          metrics.providerRequests.inc({ ...mode, outcome: 'bad_request' });
          response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"body must be a SendCommand"}');
          return;
        }
        const latency = provider.nextLatencyMs();
        metrics.providerLatency.observe(mode, latency / 1000);
        await sleep(latency);
        const answer = provider.answer(command);
        metrics.providerRequests.inc({ ...mode, outcome: answer.outcome });
        counters[answer.outcome] = (counters[answer.outcome] ?? 0) + 1;
        if (answer.status === 202) {
          log.write(answer.record);
          if (answer.record.dueTime !== undefined) {
            metrics.sendLateness.observe(
              { ...mode, channel: answer.record.channel },
              Math.max(0, answer.record.acceptedAt - wallTimeOf(run.clock, answer.record.dueTime)) / 1000,
            );
          }
        }
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (answer.status === 429) headers['retry-after'] = String(answer.retryAfterSeconds);
        response.writeHead(answer.status, headers).end(JSON.stringify({ status: answer.outcome }));
      })()
        .catch((error: unknown) => {
          if (!response.headersSent) response.writeHead(500).end(String(error));
        })
        .finally(() => {
          inFlight -= 1;
        });
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(run.ports.providerApi, run.metricsHost, () => resolve());
    });
    const apiUrl = `http://${run.metricsHost === '0.0.0.0' ? '127.0.0.1' : run.metricsHost}:${(server.address() as AddressInfo).port}`;
    const stopStats = reportStats(() => ({
      received: requests,
      acked: provider.distinctAccepted,
      retries: 0,
      deadLettered: 0,
      inFlight,
      counters: { ...counters, distinct_accepted: provider.distinctAccepted },
    }));
    context.log(`provider API on ${apiUrl}, delivery log ${join(run.runDir, RUN_FILES.deliveries)}; metrics on ${telemetry.metricsUrl}`);
    reportReady(telemetry.metricsUrl, apiUrl);
    onShutdown(context, async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      stopStats();
      await log.close();
      await telemetry.shutdown();
    });
  },
);

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
