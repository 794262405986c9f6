/**
 * The auditor as a service: OTLP/HTTP traces in at /v1/traces (protobuf or
 * JSON, optionally gzip- or deflate-compressed, as the collector's otlphttp
 * exporter sends them) and Prometheus metrics out at /metrics, on two ports.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import { Registry } from 'prom-client';
import { Auditor, type AuditorOptions } from './auditor.js';
import { registerAuditMetrics } from './metrics.js';
import { EMPTY_PROTOBUF_RESPONSE, OtlpDecodeError, decodeJsonTraces, decodeProtobufTraces } from './otlp/decode.js';
import { auditTraces } from './otlp/feed.js';
import { baseUrl, closeServer, listen, serveMetrics } from '../service/http.js';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

export const OTLP_TRACES_PATH = '/v1/traces';
const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
const SWEEP_INTERVAL_MS = 5000;

export interface AuditServiceOptions extends AuditorOptions {
  /** Port of the OTLP/HTTP receiver (0: any free port). Default 4319. */
  otlpPort?: number;
  /** Port of /metrics (0: any free port). Default 9465. */
  metricsPort?: number;
  /** Interface both servers listen on. Default 127.0.0.1. */
  host?: string;
  /** Keys exported on keyscope_audit_violating_key_violations. Default 10. */
  topKeys?: number;
  /** Largest request body accepted, compressed or not. Default 32 MiB. */
  maxBodyBytes?: number;
  /** Registry for the metrics; default a new one. */
  registry?: Registry;
}

export interface AuditService {
  readonly auditor: Auditor;
  readonly registry: Registry;
  /** Base URL of the OTLP receiver, e.g. http://127.0.0.1:4319 (send to `${otlpUrl}/v1/traces`). */
  readonly otlpUrl: string;
  readonly metricsUrl: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A request handler for OTLP/HTTP trace exports that feeds `auditor`; mount it
 * on your own server if you prefer. Answers 404 for any other path.
 */
export function createOtlpTracesHandler(
  auditor: Auditor,
  maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    handleTraces(auditor, request, maxBodyBytes).then(
      (json) => {
        if (json) response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        else response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(EMPTY_PROTOBUF_RESPONSE);
      },
      (error: unknown) => {
        const status = error instanceof HttpError ? error.status : error instanceof OtlpDecodeError ? 400 : 500;
        const message = error instanceof Error ? error.message : String(error);
        if (!response.headersSent) response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(`${message}\n`);
      },
    );
  };
}

async function handleTraces(auditor: Auditor, request: IncomingMessage, maxBodyBytes: number): Promise<boolean> {
  const path = (request.url ?? '').split('?')[0];
  if (path !== OTLP_TRACES_PATH) throw new HttpError(404, `not found: OTLP traces go to POST ${OTLP_TRACES_PATH}`);
  if (request.method !== 'POST') throw new HttpError(405, `${OTLP_TRACES_PATH} takes POST`);
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const json = type === 'application/json';
  if (!json && type !== 'application/x-protobuf' && type !== 'application/protobuf') {
    throw new HttpError(415, `unsupported content-type '${type}': send application/x-protobuf or application/json`);
  }
  let body = await readBody(request, maxBodyBytes);
  const encoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase();
  try {
    if (encoding === 'gzip') body = await gunzipAsync(body, { maxOutputLength: maxBodyBytes });
    else if (encoding === 'deflate') body = await inflateAsync(body, { maxOutputLength: maxBodyBytes });
    else if (encoding !== 'identity') throw new HttpError(415, `unsupported content-encoding '${encoding}': use gzip, deflate or none`);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(
      400,
      `cannot decompress the ${encoding} body (larger than ${maxBodyBytes} bytes, or corrupt): ${(error as Error).message}`,
    );
  }
  auditTraces(auditor, json ? decodeJsonTraces(body.toString('utf8')) : decodeProtobufTraces(body));
  return json;
}

function readBody(request: IncomingMessage, maxBodyBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        reject(new HttpError(413, `request body over ${maxBodyBytes} bytes: lower the exporter's batch size`));
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Starts the OTLP receiver and the /metrics server; resolves once both listen. */
export async function startAuditService(options: AuditServiceOptions = {}): Promise<AuditService> {
  const auditor = new Auditor(options);
  const registry = options.registry ?? new Registry();
  registerAuditMetrics(registry, auditor, { topKeys: options.topKeys ?? 10 });
  const host = options.host ?? '127.0.0.1';
  const otlpServer = createServer(createOtlpTracesHandler(auditor, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES));
  const metricsServer = createServer((request, response) => {
    serveMetrics(registry, request, response);
  });
  const sweep = setInterval(() => auditor.sweep(), SWEEP_INTERVAL_MS);
  sweep.unref();
  try {
    const otlpPort = await listen(otlpServer, options.otlpPort ?? 4319, host, 'OTLP receiver (--otlp-port)');
    const metricsPort = await listen(metricsServer, options.metricsPort ?? 9465, host, 'metrics (--metrics-port)');
    return {
      auditor,
      registry,
      otlpUrl: baseUrl(host, otlpPort),
      metricsUrl: `${baseUrl(host, metricsPort)}/metrics`,
      async close() {
        clearInterval(sweep);
        await Promise.all([closeServer(otlpServer), closeServer(metricsServer)]);
      },
    };
  } catch (error) {
    clearInterval(sweep);
    await Promise.all([closeServer(otlpServer), closeServer(metricsServer)]);
    throw error;
  }
}
