/**
 * The fault schedule: which faults happen when, replayed identically for every
 * mode. Written as a comma-separated list of `kind@time[:name=value...]`, times
 * in seconds (`20s`), milliseconds (`1500ms`) or a share of the run (`40%`):
 *
 *   kill@30%:process=1:restartAfter=3s   kill -9 orchestrator process 1, restart it 3 s later
 *   add-consumer@45%                     start one more orchestrator process
 *   slow@50%:key=hot:ms=3000:count=2     the next 2 events of the hottest key take 3 s each
 *   poison@60%:key=hot2:count=1          the next event of the 2nd hottest key always throws
 *   broker-restart@70%                   stop and start the Pulsar broker
 *   redis-restart@85%                    stop and start Redis
 *
 * or a preset name (`all`, `safe`, `none`), or the path of a JSON file holding
 * an array of { "kind": ..., "at": "30%", ...parameters }.
 */
import { readFileSync } from 'node:fs';

export type FaultKind = 'kill' | 'add-consumer' | 'slow' | 'poison' | 'broker-restart' | 'redis-restart';
const FAULT_KINDS: readonly FaultKind[] = ['kill', 'add-consumer', 'slow', 'poison', 'broker-restart', 'redis-restart'];

/** A time in the run: absolute ms, or a share of the run's duration. */
export type FaultTime = { ms: number } | { share: number };

export type FaultSpec =
  | { kind: 'kill'; at: FaultTime; process: number; restartAfterMs: number }
  | { kind: 'add-consumer'; at: FaultTime }
  | { kind: 'slow'; at: FaultTime; key: string; delayMs: number; count: number }
  | { kind: 'poison'; at: FaultTime; key: string; count: number }
  | { kind: 'broker-restart'; at: FaultTime }
  | { kind: 'redis-restart'; at: FaultTime };

export const FAULT_PRESETS: Record<string, string> = {
  // Everything, in an order that leaves time to recover between faults.
  all: 'kill@20%,add-consumer@30%,slow@40%,poison@50%,broker-restart@60%,redis-restart@78%',
  // The same without restarting the broker or Redis (for a shared broker).
  safe: 'kill@20%,add-consumer@35%,slow@50%,poison@65%',
  none: '',
};

export class FaultScheduleError extends Error {
  override readonly name = 'FaultScheduleError';
}

const PARAMETERS: Record<FaultKind, readonly string[]> = {
  kill: ['process', 'restartAfter'],
  'add-consumer': [],
  slow: ['key', 'ms', 'count'],
  poison: ['key', 'count'],
  'broker-restart': [],
  'redis-restart': [],
};

/** Parses a schedule: a preset name, a JSON file path, or the inline list. */
export function parseFaultSchedule(text: string): FaultSpec[] {
  const trimmed = text.trim();
  const preset = FAULT_PRESETS[trimmed];
  if (preset !== undefined) return parseInline(preset);
  if (trimmed.endsWith('.json')) return parseJsonFile(trimmed);
  return parseInline(trimmed);
}

function parseInline(text: string): FaultSpec[] {
  if (text === '') return [];
  return text.split(',').map((item) => {
    const [head = '', ...pairs] = item.trim().split(':');
    const [kind = '', at] = head.split('@');
    const parameters: Record<string, string> = {};
    for (const pair of pairs) {
      const [name, value] = pair.split('=');
      if (name === undefined || value === undefined || name === '')
        throw new FaultScheduleError(`fault "${item}": parameters are name=value, got "${pair}"`);
      parameters[name] = value;
    }
    if (at === undefined)
      throw new FaultScheduleError(`fault "${item}": give its time as kind@time, e.g. ${kind || 'kill'}@30% or ${kind || 'kill'}@20s`);
    return toSpec(item, kind, at, parameters);
  });
}

function parseJsonFile(path: string): FaultSpec[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new FaultScheduleError(`cannot read the fault schedule ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Array.isArray(parsed)) throw new FaultScheduleError(`${path}: a fault schedule file holds a JSON array of faults`);
  return parsed.map((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null)
      throw new FaultScheduleError(`${path}[${i}]: each fault is an object with "kind" and "at"`);
    const { kind, at, ...rest } = entry as Record<string, unknown>;
    const parameters = Object.fromEntries(Object.entries(rest).map(([name, value]) => [name, String(value)]));
    return toSpec(`${path}[${i}]`, String(kind), String(at), parameters);
  });
}

function toSpec(where: string, kind: string, atText: string, parameters: Record<string, string>): FaultSpec {
  if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
    throw new FaultScheduleError(`fault "${where}": unknown kind "${kind}"; known: ${FAULT_KINDS.join(', ')}`);
  }
  const faultKind = kind as FaultKind;
  for (const name of Object.keys(parameters)) {
    if (!PARAMETERS[faultKind].includes(name)) {
      throw new FaultScheduleError(`fault "${where}": ${kind} takes ${PARAMETERS[faultKind].join(', ') || 'no parameters'}, not "${name}"`);
    }
  }
  const at = parseTime(where, atText);
  const integer = (name: string, fallback: number, min: number): number => {
    const raw = parameters[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min)
      throw new FaultScheduleError(`fault "${where}": ${name} must be an integer >= ${min}, got ${raw}`);
    return value;
  };
  const duration = (name: string, fallbackMs: number): number => {
    const raw = parameters[name];
    if (raw === undefined) return fallbackMs;
    const time = parseTime(where, raw);
    if (!('ms' in time)) throw new FaultScheduleError(`fault "${where}": ${name} is a duration (3s, 500ms), not a share`);
    return time.ms;
  };
  switch (faultKind) {
    case 'kill':
      return { kind: faultKind, at, process: integer('process', 0, 0), restartAfterMs: duration('restartAfter', 3_000) };
    case 'slow':
      return { kind: faultKind, at, key: parameters.key ?? 'hot', delayMs: integer('ms', 3_000, 1), count: integer('count', 2, 1) };
    case 'poison':
      return { kind: faultKind, at, key: parameters.key ?? 'hot2', count: integer('count', 1, 1) };
    default:
      return { kind: faultKind, at };
  }
}

function parseTime(where: string, text: string): FaultTime {
  const match = /^(\d+(?:\.\d+)?)(ms|s|%)$/.exec(text.trim());
  if (match === null) throw new FaultScheduleError(`fault "${where}": time "${text}" must look like 20s, 1500ms or 40%`);
  const value = Number(match[1]);
  if (match[2] === '%') {
    if (value > 100) throw new FaultScheduleError(`fault "${where}": ${text} is past the end of the run`);
    return { share: value / 100 };
  }
  return { ms: match[2] === 's' ? value * 1000 : value };
}

/** The fault's time in ms after the run started. */
export function faultTimeMs(at: FaultTime, durationMs: number): number {
  return 'ms' in at ? at.ms : Math.round(at.share * durationMs);
}

/** The schedule written back in its inline form (for the report). */
export function formatFaultSchedule(faults: readonly FaultSpec[]): string {
  return faults
    .map((fault) => {
      const at = 'ms' in fault.at ? `${fault.at.ms / 1000}s` : `${Math.round(fault.at.share * 100)}%`;
      switch (fault.kind) {
        case 'kill':
          return `kill@${at}:process=${fault.process}:restartAfter=${fault.restartAfterMs / 1000}s`;
        case 'slow':
          return `slow@${at}:key=${fault.key}:ms=${fault.delayMs}:count=${fault.count}`;
        case 'poison':
          return `poison@${at}:key=${fault.key}:count=${fault.count}`;
        default:
          return `${fault.kind}@${at}`;
      }
    })
    .join(',');
}
