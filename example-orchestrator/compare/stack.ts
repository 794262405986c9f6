/**
 * The services a comparison needs, where to find them (the native stack's
 * loopback ports, from the same environment variables as scripts/lib/common.sh),
 * and starting the stack when they are missing (npm run stack:up).
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { resolve } from 'node:path';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

export interface StackEndpoints {
  pulsarUrl: string;
  redisUrl: string;
  /** Collector OTLP/HTTP base URL. */
  otlpEndpoint: string;
  jaegerUrl: string;
  prometheusUrl: string;
  grafanaUrl: string;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0 || parsed > 65_535) throw new Error(`${name}=${value} is not a port number`);
  return parsed;
}

export function stackEndpoints(env: NodeJS.ProcessEnv = process.env): StackEndpoints {
  return {
    pulsarUrl: env.KEYSCOPE_PULSAR_URL ?? `http://127.0.0.1:${port(env, 'PULSAR_WEB_PORT', 8080)}`,
    redisUrl: env.KEYSCOPE_REDIS_URL ?? `redis://127.0.0.1:${port(env, 'REDIS_PORT', 6379)}`,
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT ?? `http://127.0.0.1:${port(env, 'OTELCOL_OTLP_HTTP_PORT', 4318)}`,
    jaegerUrl: env.KEYSCOPE_JAEGER_URL ?? `http://127.0.0.1:${port(env, 'JAEGER_UI_PORT', 16686)}`,
    prometheusUrl: env.KEYSCOPE_PROMETHEUS_URL ?? `http://127.0.0.1:${port(env, 'PROMETHEUS_PORT', 9090)}`,
    grafanaUrl: env.KEYSCOPE_GRAFANA_URL ?? 'http://127.0.0.1:3000',
  };
}

async function httpAnswers(url: string, body?: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return response.ok && (body === undefined || (await response.text()).trim() === body);
  } catch {
    return false;
  }
}

function redisAnswers(url: string): Promise<boolean> {
  const { hostname, port: redisPort } = new URL(url);
  return new Promise((done) => {
    const socket = connect({ host: hostname, port: Number(redisPort || 6379) });
    const finish = (up: boolean) => {
      socket.destroy();
      done(up);
    };
    socket.setTimeout(2_000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => finish(data.toString().startsWith('+PONG')));
  });
}

/** The services the comparison cannot run without (broker, Redis), and the observability ones. */
async function missingServices(target: StackEndpoints): Promise<{ required: string[]; optional: string[] }> {
  const [pulsar, redis, jaeger, prometheus] = await Promise.all([
    httpAnswers(`${target.pulsarUrl}/admin/v2/brokers/health`, 'ok'),
    redisAnswers(target.redisUrl),
    httpAnswers(`${target.jaegerUrl}/api/services`),
    httpAnswers(`${target.prometheusUrl}/-/ready`),
  ]);
  return {
    required: [...(pulsar ? [] : ['pulsar']), ...(redis ? [] : ['redis'])],
    optional: [...(jaeger ? [] : ['jaeger']), ...(prometheus ? [] : ['prometheus'])],
  };
}

/** Starts the native stack when a service is missing (the first run builds for several minutes). */
export async function ensureStack(target: StackEndpoints, start: boolean, log: (line: string) => void): Promise<void> {
  let missing = await missingServices(target);
  if (missing.required.length === 0 && (missing.optional.length === 0 || !start)) {
    log(
      missing.optional.length === 0
        ? 'stack: running'
        : `stack: ${missing.optional.join(', ')} not reachable; traces and dashboards will be missing`,
    );
    return;
  }
  if (!start)
    throw new Error(
      `${missing.required.join(' and ')} not reachable (${target.pulsarUrl}, ${target.redisUrl}); start the stack with npm run stack:up, or drop --no-stack`,
    );
  log(
    `stack: ${[...missing.required, ...missing.optional].join(', ')} not running; starting it with npm run stack:up (the first run builds for several minutes)`,
  );
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn('npm', ['run', '--silent', 'stack:up'], { cwd: REPO_ROOT, stdio: 'inherit' });
    child.once('error', fail);
    child.once('exit', done);
  });
  if (code !== 0) throw new Error(`npm run stack:up failed (exit ${code}); see its output above`);
  missing = await missingServices(target);
  if (missing.required.length > 0) throw new Error(`still not reachable after stack:up: ${missing.required.join(', ')}`);
}
