/**
 * What every process of a run shares: reading the run's settings, telling
 * the parent (startMode) when it is ready and how it is doing over the IPC
 * channel, logging, and an orderly shutdown on SIGTERM or when the parent
 * goes away.
 */
import type { ProcessRole, ProcessStats } from './handle.js';
import { readRunInfo, type RunInfo } from './run-info.js';

export const RUN_ENV = 'ORCHESTRATOR_RUN';
export const NAME_ENV = 'ORCHESTRATOR_PROCESS';
export const INDEX_ENV = 'ORCHESTRATOR_INDEX';

/** Messages a child sends to its parent. */
export type ChildMessage =
  | { type: 'ready'; metricsUrl: string; apiUrl?: string }
  | { type: 'stats'; stats: ProcessStats }
  | { type: 'fatal'; message: string };

export interface ProcessContext {
  run: RunInfo;
  name: string;
  role: ProcessRole;
  index: number;
  log(message: string): void;
  warn(message: string): void;
}

export function processContext(role: ProcessRole): ProcessContext {
  const runPath = process.env[RUN_ENV];
  if (!runPath) throw new Error(`${RUN_ENV} is not set: start this process through startMode() (npm run orchestrator)`);
  const run = readRunInfo(runPath);
  const name = process.env[NAME_ENV] ?? role;
  const index = Number(process.env[INDEX_ENV] ?? '-1');
  const stamp = () => new Date().toISOString();
  return {
    run,
    name,
    role,
    index,
    log: (message) => console.log(`${stamp()} ${name} ${message}`),
    warn: (message) => console.warn(`${stamp()} ${name} warning: ${message}`),
  };
}

function send(message: ChildMessage): void {
  if (process.connected) process.send?.(message);
}

export function reportReady(metricsUrl: string, apiUrl?: string): void {
  send({ type: 'ready', metricsUrl, ...(apiUrl !== undefined ? { apiUrl } : {}) });
}

/**
 * Reports stats every `intervalMs`, with the CPU time this process used
 * since the call (counter `cpu_ms`, start-up excluded: call it once ready);
 * returns a function that stops it (after one last report).
 */
export function reportStats(collect: () => ProcessStats, intervalMs = 500): () => void {
  const baseline = process.cpuUsage();
  const withCpu = (): ProcessStats => {
    const stats = collect();
    const used = process.cpuUsage(baseline);
    return { ...stats, counters: { ...stats.counters, cpu_ms: (used.user + used.system) / 1000 } };
  };
  const timer = setInterval(() => send({ type: 'stats', stats: withCpu() }), intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    send({ type: 'stats', stats: withCpu() });
  };
}

/**
 * Runs `stop` once on SIGTERM, SIGINT or loss of the parent, then exits.
 * A stop that hangs is cut short after `timeoutMs`.
 */
export function onShutdown(context: ProcessContext, stop: () => Promise<void>, timeoutMs = 10_000): void {
  let stopping = false;
  const shutdown = (why: string) => {
    if (stopping) return;
    stopping = true;
    context.log(`stopping (${why})`);
    const guard = setTimeout(() => {
      context.warn(`stop did not finish within ${timeoutMs} ms; exiting anyway`);
      process.exit(1);
    }, timeoutMs);
    guard.unref();
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        context.warn(`stop failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('disconnect', () => shutdown('parent went away'));
}

/** Runs a process's main function; a failure is reported to the parent and exits non-zero. */
export function runMain(context: () => ProcessContext, main: (context: ProcessContext) => Promise<void>): void {
  let ctx: ProcessContext | undefined;
  try {
    ctx = context();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
  main(ctx).catch((error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(`${ctx?.name ?? 'process'} failed: ${message}`);
    send({ type: 'fatal', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  });
}
