/** keyscope timeline <key>: one key's messages across consumers, from Jaeger. */
import { AUDITOR_DEFAULTS } from '../audit/auditor.js';
import { keyTimeline } from '../timeline/index.js';
import { renderTimeline } from '../timeline/render.js';
import { UsageError, durationOption, listOption, numberOption, parse, stringOption } from './args.js';

const TIMELINE_HELP = `Usage: keyscope timeline <key> [options]

Asks Jaeger's query API for the traces of one message key and prints the
key's deliveries in receive order across consumers: seq, producer, consumer,
received, settled (ack / nack / closed), redelivery count and duration, with
overlaps at two consumers (OVERLAP #n) and reorders (REORDER) marked.

The key is hashed the way keyscope hashes keys on spans by default; pass
--plain for services that use keyPolicy 'plain', or --hash when <key> is
already the hash seen on spans.

Options:
  --jaeger-url U           Jaeger query URL (default http://127.0.0.1:16686)
  --service S              service to search, repeatable (default every service Jaeger knows)
  --since D                how far back to look, e.g. 15m (default 1h)
  --start T, --end T       time range as ISO 8601 instead of --since
  --limit N                traces per service (default 200)
  --plain                  keys are exported plain (keyPolicy 'plain')
  --hash                   <key> is the hash seen on spans
  --key-hash-secret S      the services' keyHashSecret, when they set one
  --skew-tolerance-ms N    overlaps up to N ms are not marked (default ${AUDITOR_DEFAULTS.skewToleranceMs})
  --json                   print JSON instead of a table
  -h, --help               this help
`;

export async function timelineCommand(argv: string[]): Promise<number> {
  const parsed = parse(
    argv,
    {
      'jaeger-url': { type: 'string' },
      service: { type: 'string', multiple: true },
      since: { type: 'string' },
      start: { type: 'string' },
      end: { type: 'string' },
      limit: { type: 'string' },
      plain: { type: 'boolean' },
      hash: { type: 'boolean' },
      'key-hash-secret': { type: 'string' },
      'skew-tolerance-ms': { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (parsed.values.help === true) {
    process.stdout.write(TIMELINE_HELP);
    return 0;
  }
  if (parsed.positionals.length !== 1) throw new UsageError('timeline takes exactly one key');
  if (parsed.values.plain === true && parsed.values.hash === true) throw new UsageError('--plain and --hash exclude each other');
  const endMs = timeOption(stringOption(parsed, 'end')) ?? Date.now();
  const startMs = timeOption(stringOption(parsed, 'start')) ?? endMs - (durationOption(parsed, 'since') ?? 3_600_000);
  const timeline = await keyTimeline({
    jaegerUrl: stringOption(parsed, 'jaeger-url') ?? 'http://127.0.0.1:16686',
    key: parsed.positionals[0] as string,
    keyForm: parsed.values.hash === true ? 'hash' : parsed.values.plain === true ? 'plain' : 'hashed',
    keyHashSecret: stringOption(parsed, 'key-hash-secret'),
    services: listOption(parsed, 'service'),
    startMs,
    endMs,
    limit: numberOption(parsed, 'limit', 'integer'),
    skewToleranceMs: numberOption(parsed, 'skew-tolerance-ms'),
  });
  process.stdout.write(parsed.values.json === true ? `${JSON.stringify(timeline, null, 2)}\n` : renderTimeline(timeline));
  return 0;
}

function timeOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`'${text}' is not an ISO 8601 time (e.g. 2026-01-31T12:00:00Z)`);
  return ms;
}
