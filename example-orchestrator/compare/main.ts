/**
 * npm run compare — the same seeded load and the same faults through each mode
 * (key_shared, shared, failover, shared_redis_lock), one after another, each on
 * fresh topics; prints a table and writes report.json and report.html.
 *
 *   npm run compare -- --out .run/compare --duration 60 --faults all
 *   npm run compare -- --help
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Keyscope } from 'pulsar-keyscope';
import { FAULT_PRESETS, formatFaultSchedule, parseFaultSchedule } from '../faults/schedule.js';
import { DEFAULT_LOAD, summarizeLoad, validateLoadOptions, type LoadOptions } from '../loadgen/plan.js';
import { MODES, parseMode, type Mode } from '../modes/modes.js';
import { startTelemetry } from '../telemetry/telemetry.js';
import { renderReportHtml } from './html.js';
import { checkTargets, type ComparisonReport, type ModeResult } from './report.js';
import { runModeLeg } from './run-mode.js';
import { ensureStack, stackEndpoints } from './stack.js';
import { formatTable, formatTargets } from './table.js';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

const USAGE = `usage: npm run compare -- [options]
  --out DIR           where report.json, report.html and each mode's run files go (default .run/compare)
  --modes LIST        comma-separated, in run order (default ${MODES.join(',')})
  --duration SECONDS  how long the load runs per mode (default 60)
  --subscribers N     distinct subscribers (default ${DEFAULT_LOAD.subscribers})
  --rate N            events per second (default ${DEFAULT_LOAD.ratePerSecond})
  --seed N            seed of the load (default ${DEFAULT_LOAD.seed})
  --skew X            Zipf exponent of subscriber popularity (default ${DEFAULT_LOAD.skew})
  --faults SCHEDULE   ${Object.keys(FAULT_PRESETS).join(' | ')} | a file.json | an inline list (default all), e.g.
                      kill@20%:process=1:restartAfter=3s,add-consumer@30%,slow@40%:key=hot:ms=3000,
                      poison@50%:key=hot2,broker-restart@60%,redis-restart@80%
  --consumers N       orchestrator processes per mode at the start (default 3)
  --drain-timeout S   how long to wait for a mode's backlog after the load (default max(120, 3 x duration))
  --no-stack          do not start the native stack when a service is missing
environment: PULSAR_WEB_PORT, REDIS_PORT, OTELCOL_OTLP_HTTP_PORT, JAEGER_UI_PORT, PROMETHEUS_PORT,
  KEYSCOPE_RUN_DIR (broker-restart and redis-restart restart the stack of that run folder)`;

interface CompareOptions {
  outDir: string;
  modes: Mode[];
  load: LoadOptions;
  faults: string;
  consumers: number;
  /** Wait at most this long for a mode's backlog to drain after the load, ms. */
  drainTimeoutMs?: number;
  startStack: boolean;
}

export function parseCompareOptions(argv: string[]): CompareOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', default: join(process.env.KEYSCOPE_RUN_DIR ?? join(REPO_ROOT, '.run'), 'compare') },
      modes: { type: 'string', default: MODES.join(',') },
      duration: { type: 'string', default: '60' },
      subscribers: { type: 'string', default: String(DEFAULT_LOAD.subscribers) },
      rate: { type: 'string', default: String(DEFAULT_LOAD.ratePerSecond) },
      seed: { type: 'string', default: String(DEFAULT_LOAD.seed) },
      skew: { type: 'string', default: String(DEFAULT_LOAD.skew) },
      faults: { type: 'string', default: 'all' },
      consumers: { type: 'string', default: '3' },
      'drain-timeout': { type: 'string' },
      'no-stack': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const number = (name: string, raw: string, ok: (n: number) => boolean, rule: string): number => {
    const value = Number(raw);
    if (!ok(value)) throw new Error(`--${name} must be ${rule}, got ${raw}\n${USAGE}`);
    return value;
  };
  const load = validateLoadOptions({
    ...DEFAULT_LOAD,
    durationMs: number('duration', values.duration, (n) => n > 0 && n <= 3600, 'a number of seconds from 1 to 3600') * 1000,
    subscribers: number('subscribers', values.subscribers, Number.isInteger, 'an integer'),
    ratePerSecond: number('rate', values.rate, (n) => n > 0, 'a positive number'),
    seed: number('seed', values.seed, Number.isInteger, 'an integer'),
    skew: number('skew', values.skew, Number.isFinite, 'a number'),
  });
  const modes = values.modes.split(',').map((mode) => parseMode(mode.trim()));
  if (new Set(modes).size !== modes.length) throw new Error(`--modes lists a mode twice: ${values.modes}`);
  return {
    // npm runs scripts from the repository root; INIT_CWD is where the user typed the command.
    outDir: resolve(process.env.INIT_CWD ?? process.cwd(), values.out),
    modes,
    load,
    faults: values.faults,
    consumers: number('consumers', values.consumers, (n) => Number.isInteger(n) && n >= 1 && n <= 10, 'an integer from 1 to 10'),
    ...(values['drain-timeout'] === undefined
      ? {}
      : {
          drainTimeoutMs:
            number('drain-timeout', values['drain-timeout'], (n) => n > 0 && n <= 3600, 'a number of seconds from 1 to 3600') * 1000,
        }),
    startStack: !values['no-stack'],
  };
}

export async function compare(
  options: CompareOptions,
  log: (line: string) => void = (line) => console.log(line),
): Promise<ComparisonReport> {
  const faults = parseFaultSchedule(options.faults);
  const target = stackEndpoints();
  await ensureStack(target, options.startStack, log);
  mkdirSync(options.outDir, { recursive: true });
  const summary = summarizeLoad(options.load);
  log(
    `load: ${summary.events} events from ${summary.activeSubscribers} of ${options.load.subscribers} subscribers over ${options.load.durationMs / 1000} s ` +
      `(seed ${options.load.seed}); hottest ${summary.hotKeys.map((key) => `${key.subscriberId} (${key.events})`).join(', ')}`,
  );
  log(`faults: ${faults.length === 0 ? 'none' : formatFaultSchedule(faults)}`);
  // The load generator is instrumented like the orchestrator's processes: its
  // send spans start the traces, and its stamps let consumers tell a reorder.
  const telemetry = await startTelemetry({
    serviceName: 'loadgen',
    instanceId: `compare-${process.pid}`,
    otlpEndpoint: target.otlpEndpoint,
    metricsHost: '127.0.0.1',
    metricsPort: 0,
  });
  const keyscope = new Keyscope({ registry: telemetry.registry, keyPolicy: 'plain' });
  const results: ModeResult[] = [];
  try {
    for (const mode of options.modes) {
      const result = await runModeLeg({
        mode,
        load: options.load,
        faults,
        hotKeys: summary.hotKeys.map((key) => key.subscriberId),
        consumers: options.consumers,
        outDir: options.outDir,
        pulsarUrl: target.pulsarUrl,
        redisUrl: target.redisUrl,
        otlpEndpoint: target.otlpEndpoint,
        jaegerUrl: target.jaegerUrl,
        instrument: (client) => keyscope.instrumentClient(client),
        drainTimeoutMs: options.drainTimeoutMs ?? Math.max(120_000, options.load.durationMs * 3),
        log,
      });
      results.push(result);
      log(`${mode}: ${result.throughput} events/s, p99 ${result.p99Ms} ms, ${result.oracleTotal} oracle violations`);
    }
  } finally {
    keyscope.close();
    await telemetry.shutdown();
  }
  const report: ComparisonReport = {
    generatedAt: new Date().toISOString(),
    command: `npm run compare -- ${process.argv.slice(2).join(' ')}`.trim(),
    options: {
      modes: options.modes,
      durationMs: options.load.durationMs,
      subscribers: options.load.subscribers,
      ratePerSecond: options.load.ratePerSecond,
      seed: options.load.seed,
      faults: formatFaultSchedule(faults),
      consumers: options.consumers,
    },
    load: summary,
    modes: results,
    targets: checkTargets(results),
    links: { jaeger: target.jaegerUrl, prometheus: target.prometheusUrl, grafana: target.grafanaUrl },
  };
  writeFileSync(join(options.outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(options.outDir, 'report.html'), renderReportHtml(report));
  return report;
}

export function printReport(report: ComparisonReport, outDir: string): void {
  console.log(`\n${formatTable(report.modes)}\n\n${formatTargets(report)}\n`);
  console.log(`report:      ${join(outDir, 'report.html')} (data: report.json)`);
  for (const mode of report.modes) {
    if (mode.trace === undefined) continue;
    console.log(`trace:       ${mode.mode}, split-brain subscriber ${mode.trace.subscriberId}: ${mode.trace.url}`);
    if (mode.trace.traceId !== undefined) console.log(`             all its traces: ${mode.trace.searchUrl}`);
  }
  console.log(
    `dashboards:  Grafana "Orchestrator" and "Key health" (docker compose: ${report.links.grafana}; native stack: import dashboards/*.json), Prometheus ${report.links.prometheus}`,
  );
}

async function main(): Promise<void> {
  const options = parseCompareOptions(process.argv.slice(2));
  if (options === undefined) {
    console.log(USAGE);
    return;
  }
  const report = await compare(options);
  printReport(report, options.outDir);
}

if (import.meta.filename === resolve(process.argv[1] ?? '')) {
  main().catch((error: unknown) => {
    console.error(`\ncompare failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
