/** keyscope broker-exporter: the broker's Key_Shared state as Prometheus metrics. */
import { startBrokerExporterService } from '../broker/service.js';
import { durationOption, listOption, numberOption, parse, runUntilSignal, stringOption } from './args.js';

const BROKER_EXPORTER_HELP = `Usage: keyscope broker-exporter [options]

Polls the Pulsar admin REST API (topic stats) and exports, per topic and
subscription, what the broker knows of Key_Shared and does not export itself:
draining hashes, their unacked messages, blocked attempts and cleared total,
messages in replay, backlog, and per consumer unacked messages, permits,
blocked-on-unacked state and share of the hash range, at /metrics.
An unreachable broker or a missing topic is logged and counted
(keyscope_broker_scrape_errors_total); the exporter keeps polling.

Options:
  --admin-url U            broker web service URL (default http://127.0.0.1:8080)
  --token T                admin API token (Bearer); or set KEYSCOPE_ADMIN_TOKEN
  --metrics-port M         /metrics port (default 9466)
  --host H                 interface to listen on (default 127.0.0.1)
  --topic T                topic to watch, repeatable or comma-separated
                           (persistent://tenant/ns/topic; partitioned topics per partition)
  --namespace N            tenant/namespace whose topics are all watched, repeatable
                           (without --topic and --namespace: the topics this broker
                           serves that have consumers or a backlog)
  --interval D             poll interval, e.g. 10s (default 10s)
  --max-topics N           topics polled per round (default 200)
  --max-consumers N        consumers with their own series per subscription (default 20)
  -h, --help               this help
`;

export async function brokerExporterCommand(argv: string[]): Promise<number> {
  const parsed = parse(
    argv,
    {
      'admin-url': { type: 'string' },
      token: { type: 'string' },
      'metrics-port': { type: 'string' },
      host: { type: 'string' },
      topic: { type: 'string', multiple: true },
      namespace: { type: 'string', multiple: true },
      interval: { type: 'string' },
      'max-topics': { type: 'string' },
      'max-consumers': { type: 'string' },
    },
    false,
  );
  if (parsed.values.help === true) {
    process.stdout.write(BROKER_EXPORTER_HELP);
    return 0;
  }
  const service = await startBrokerExporterService({
    adminUrl: stringOption(parsed, 'admin-url') ?? 'http://127.0.0.1:8080',
    token: stringOption(parsed, 'token') ?? process.env.KEYSCOPE_ADMIN_TOKEN,
    metricsPort: numberOption(parsed, 'metrics-port', 'port') ?? 9466,
    host: stringOption(parsed, 'host'),
    topics: listOption(parsed, 'topic'),
    namespaces: listOption(parsed, 'namespace'),
    intervalMs: durationOption(parsed, 'interval'),
    maxTopics: numberOption(parsed, 'max-topics', 'integer'),
    maxConsumersPerSubscription: numberOption(parsed, 'max-consumers', 'integer'),
  });
  process.stderr.write(
    `keyscope broker-exporter: polling ${stringOption(parsed, 'admin-url') ?? 'http://127.0.0.1:8080'}, metrics at ${service.metricsUrl}\n`,
  );
  await runUntilSignal(() => service.close());
  return 0;
}
