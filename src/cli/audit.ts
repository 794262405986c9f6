/** keyscope audit: the cross-consumer auditor service. */
import { startAuditService } from '../audit/service.js';
import { AUDITOR_DEFAULTS } from '../audit/auditor.js';
import { durationOption, numberOption, parse, runUntilSignal, stringOption } from './args.js';

const AUDIT_HELP = `Usage: keyscope audit [options]

Receives traces over OTLP/HTTP (protobuf or JSON, at /v1/traces), rebuilds
each key's processing windows from keyscope's process spans across
consumers, and exports violations as Prometheus metrics at /metrics:
  exclusivity  one key processed at two consumers of a subscription at once
  reorder      a lower seq of (key, producer) processed after a higher one
               at another consumer
Point the collector's otlphttp exporter (or an SDK) at it, before sampling.

Options:
  --otlp-port P            OTLP/HTTP receiver port (default 4319)
  --metrics-port M         /metrics port (default 9465)
  --host H                 interface to listen on (default 127.0.0.1; 0.0.0.0 in containers)
  --window D               sliding window, e.g. 2m (default ${AUDITOR_DEFAULTS.windowMs / 1000}s)
  --skew-tolerance-ms N    overlaps up to N ms are put down to clock skew (default ${AUDITOR_DEFAULTS.skewToleranceMs})
  --max-keys N             keys remembered at once (default ${AUDITOR_DEFAULTS.maxKeys})
  --max-windows-per-key N  windows remembered per key (default ${AUDITOR_DEFAULTS.maxWindowsPerKey})
  --max-subscriptions N    subscriptions audited (default ${AUDITOR_DEFAULTS.maxSubscriptions})
  --top-keys K             worst keys exported with a key label (default 10)
  --log-violations         print each violation as a JSON line on stdout
  -h, --help               this help
`;

export async function auditCommand(argv: string[]): Promise<number> {
  const parsed = parse(
    argv,
    {
      'otlp-port': { type: 'string' },
      'metrics-port': { type: 'string' },
      host: { type: 'string' },
      window: { type: 'string' },
      'skew-tolerance-ms': { type: 'string' },
      'max-keys': { type: 'string' },
      'max-windows-per-key': { type: 'string' },
      'max-subscriptions': { type: 'string' },
      'top-keys': { type: 'string' },
      'log-violations': { type: 'boolean' },
    },
    false,
  );
  if (parsed.values.help === true) {
    process.stdout.write(AUDIT_HELP);
    return 0;
  }
  const logViolations = parsed.values['log-violations'] === true;
  const service = await startAuditService({
    otlpPort: numberOption(parsed, 'otlp-port', 'port') ?? 4319,
    metricsPort: numberOption(parsed, 'metrics-port', 'port') ?? 9465,
    host: stringOption(parsed, 'host'),
    windowMs: durationOption(parsed, 'window'),
    skewToleranceMs: numberOption(parsed, 'skew-tolerance-ms'),
    maxKeys: numberOption(parsed, 'max-keys', 'integer'),
    maxWindowsPerKey: numberOption(parsed, 'max-windows-per-key', 'integer'),
    maxSubscriptions: numberOption(parsed, 'max-subscriptions', 'integer'),
    topKeys: numberOption(parsed, 'top-keys', 'integer'),
    onViolation: logViolations
      ? (v) => {
          const w = (x: typeof v.window) => ({
            consumer: x.consumer,
            seq: x.seq,
            producer: x.producer,
            receivedAt: new Date(x.receivedAt).toISOString(),
            settledAt: new Date(x.settledAt).toISOString(),
            traceId: x.traceId,
          });
          process.stdout.write(
            `${JSON.stringify({
              kind: v.kind,
              subscription: v.subscription,
              key: v.key,
              overlapMs: v.overlapMs,
              window: w(v.window),
              other: w(v.other),
            })}\n`,
          );
        }
      : undefined,
  });
  process.stderr.write(`keyscope audit: OTLP/HTTP traces at ${service.otlpUrl}/v1/traces, metrics at ${service.metricsUrl}\n`);
  await runUntilSignal(() => service.close());
  return 0;
}
