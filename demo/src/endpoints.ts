/**
 * Where the demo and the stack test find each service: the native stack's
 * loopback ports (the same environment variables and defaults as
 * scripts/lib/common.sh), or explicit URLs (docker-compose.yml sets them).
 */
const port = (name: string, fallback: number): number => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) throw new Error(`${name}=${value} is not a port number`);
  return parsed;
};

export interface Endpoints {
  /** Pulsar web service (admin, WebSocket API, /metrics/). */
  pulsarUrl: string;
  /** Base URL of the collector's OTLP/HTTP receiver. */
  otlpHttpUrl: string;
  collectorHealthUrl: string;
  jaegerUrl: string;
  prometheusUrl: string;
  appMetricsHost: string;
  appMetricsPort: number;
}

export function endpoints(env: NodeJS.ProcessEnv = process.env): Endpoints {
  return {
    pulsarUrl: env.KEYSCOPE_PULSAR_URL ?? `http://127.0.0.1:${port('PULSAR_WEB_PORT', 8080)}`,
    otlpHttpUrl: env.OTEL_EXPORTER_OTLP_ENDPOINT ?? `http://127.0.0.1:${port('OTELCOL_OTLP_HTTP_PORT', 4318)}`,
    collectorHealthUrl: env.KEYSCOPE_COLLECTOR_HEALTH_URL ?? `http://127.0.0.1:${port('OTELCOL_HEALTH_PORT', 13133)}/`,
    jaegerUrl: env.KEYSCOPE_JAEGER_URL ?? `http://127.0.0.1:${port('JAEGER_UI_PORT', 16686)}`,
    prometheusUrl: env.KEYSCOPE_PROMETHEUS_URL ?? `http://127.0.0.1:${port('PROMETHEUS_PORT', 9090)}`,
    appMetricsHost: env.APP_METRICS_HOST ?? '127.0.0.1',
    appMetricsPort: port('APP_METRICS_PORT', 9464),
  };
}

async function answers(url: string, expectBody?: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) return false;
    return expectBody === undefined || (await response.text()).trim() === expectBody;
  } catch {
    return false;
  }
}

/** Names of the stack's services that do not answer right now. */
export async function missingServices(target: Endpoints): Promise<string[]> {
  const probes: [string, Promise<boolean>][] = [
    ['pulsar', answers(`${target.pulsarUrl}/admin/v2/brokers/health`, 'ok')],
    ['otel-collector', answers(target.collectorHealthUrl)],
    ['jaeger', answers(`${target.jaegerUrl}/api/services`)],
    ['prometheus', answers(`${target.prometheusUrl}/-/ready`)],
  ];
  const results = await Promise.all(probes.map(async ([name, probe]) => [name, await probe] as const));
  return results.filter(([, up]) => !up).map(([name]) => name);
}
