/**
 * What the demo prints at the end: a sample trace fetched back from Jaeger
 * (proof that it arrived), a few PromQL queries with their current values,
 * and the app's metrics endpoint.
 */
import type { Endpoints } from './endpoints.js';
import { findMessageHop, pollUntil, promQuery, searchTraces, tag, type MessageHop } from './queries.js';

export interface ReportOptions {
  endpoints: Endpoints;
  serviceName: string;
  topic: string;
  metricsUrl: string;
}

/**
 * Filtered to this run's topic and service, so that series left in
 * Prometheus by earlier runs or other programs do not mix in.
 */
export const DEMO_QUERIES: { title: string; query: (service: string, topic: string) => string }[] = [
  { title: 'messages sent per second', query: (_, topic) => `sum(rate(keyscope_messages_sent_total{topic="${topic}"}[30s]))` },
  { title: 'messages acked per second', query: (_, topic) => `sum(rate(keyscope_messages_acked_total{topic="${topic}"}[30s]))` },
  {
    title: 'p99 publish-to-ack seconds',
    query: (_, topic) => `histogram_quantile(0.99, sum by (le) (rate(keyscope_end_to_end_seconds_bucket{topic="${topic}"}[30s])))`,
  },
  { title: 'redeliveries', query: (_, topic) => `sum(keyscope_redeliveries_total{topic="${topic}"})` },
  {
    title: 'ordering violations by kind',
    query: (_, topic) => `sum by (kind) (keyscope_ordering_violations_total{topic="${topic}"})`,
  },
  { title: 'stalls', query: (_, topic) => `sum(keyscope_stalls_total{topic="${topic}"})` },
  {
    title: 'spans per second (collector span metrics)',
    query: (service, topic) =>
      `sum by (span_name) (rate(traces_span_metrics_calls_total{service_name="${service}", span_name=~"(send|process) ${topic}"}[30s]))`,
  },
];

const ms = (microseconds: number) => `${(microseconds / 1000).toFixed(1)} ms`;

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN (no samples in the window)';
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

function printHop(hop: MessageHop): void {
  const key = tag(hop.process, 'messaging.pulsar.message.key');
  console.log(`    ${hop.send.operationName}  (producer, ${ms(hop.send.duration)})`);
  console.log(
    `    └─ ${hop.process.operationName}  (consumer, ${ms(hop.process.duration)}, subscription ${String(
      tag(hop.process, 'messaging.destination.subscription.name'),
    )}${key === undefined ? '' : `, key ${String(key)}`})`,
  );
}

/** A Jaeger built without its UI assets serves a placeholder page instead of the UI. */
async function servesPlaceholderUi(jaegerUrl: string): Promise<boolean> {
  try {
    const page = await (await fetch(`${jaegerUrl}/`, { signal: AbortSignal.timeout(2_000) })).text();
    return page.includes('not compiled with the UI assets');
  } catch {
    return false;
  }
}

export async function printReport(options: ReportOptions): Promise<void> {
  const { jaegerUrl, prometheusUrl } = options.endpoints;

  console.log('\nTraces (Jaeger)');
  const hop = await pollUntil(async () => {
    const traces = await searchTraces(jaegerUrl, { service: options.serviceName, operation: `process ${options.topic}`, limit: 20 });
    for (const trace of traces) {
      const found = findMessageHop(trace, options.topic);
      if (found !== undefined) return found;
    }
    return undefined;
  }, 20_000);
  if (hop === undefined) {
    console.log(`  no trace of service ${options.serviceName} reached Jaeger within 20 s: check the collector log (npm run stack:status)`);
  } else {
    console.log(`  sample trace  ${jaegerUrl}/trace/${hop.trace.traceID}`);
    console.log(`  as JSON       ${jaegerUrl}/api/traces/${hop.trace.traceID}`);
    printHop(hop);
    if (await servesPlaceholderUi(jaegerUrl)) {
      console.log('  (this Jaeger was built from the Go module proxy, which has no UI assets: use the JSON link, or the');
      console.log('   full UI of the jaegertracing/jaeger image in docker-compose.yml, which reads the same config)');
    }
    console.log(`  search by key: tag messaging.pulsar.message.key=<hash> (Keyscope#hashKey) in service ${options.serviceName}`);
  }

  console.log(`\nMetrics (Prometheus ${prometheusUrl})`);
  // The app and the collector's span metrics are scraped every 5 s; wait for both.
  await pollUntil(async () => {
    const app = await promQuery(prometheusUrl, `keyscope_messages_sent_total{topic="${options.topic}"}`);
    const spans = await promQuery(prometheusUrl, `traces_span_metrics_calls_total{service_name="${options.serviceName}"}`);
    return app.length > 0 && spans.length > 0 ? true : undefined;
  }, 20_000).catch(() => undefined);
  for (const { title, query } of DEMO_QUERIES) {
    const promql = query(options.serviceName, options.topic);
    let lines: string[];
    try {
      const samples = await promQuery(prometheusUrl, promql);
      lines =
        samples.length === 0
          ? ['(no data yet)']
          : samples.map((sample) => {
              const labels = Object.entries(sample.metric)
                .map(([name, value]) => `${name}="${value}"`)
                .join(', ');
              return `${formatValue(sample.value)}${labels === '' ? '' : `  {${labels}}`}`;
            });
    } catch (error) {
      lines = [`query failed: ${String(error)}`];
    }
    console.log(`  ${title}\n    ${promql}`);
    for (const line of lines) console.log(`      = ${line}`);
  }
  console.log(`  graph: ${prometheusUrl}/graph`);

  console.log(`\nApp metrics endpoint (OpenMetrics, exemplars carry trace ids): ${options.metricsUrl}`);
}
