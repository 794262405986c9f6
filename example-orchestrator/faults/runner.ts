/**
 * Replays a fault schedule against one mode's running processes and records
 * every fault with the time it happened (ms after the run started), so that
 * the report can mark it on the charts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PlannedEvent } from '../loadgen/plan.js';
import { faultTimeMs, FaultScheduleError, type FaultKind, type FaultSpec } from './schedule.js';
import type { FaultSwitchFile } from './switches.js';

/** What the faults act on: implemented by the comparison for one mode's processes. */
export interface FaultTarget {
  /** kill -9 orchestrator process `index`; returns a detail for the log, e.g. its pid. */
  killOrchestrator(index: number): Promise<string>;
  restartOrchestrator(index: number): Promise<string>;
  addConsumer(): Promise<string>;
  restartBroker(): Promise<string>;
  restartRedis(): Promise<string>;
}

type FaultRecordKind = FaultKind | 'restart';

export interface FaultRecord {
  kind: FaultRecordKind;
  /** When the schedule wanted it, ms after the run started. */
  plannedAtMs: number;
  /** When it started. */
  atMs: number;
  durationMs: number;
  detail: string;
  /** Set when the fault could not be carried out. */
  error?: string;
}

interface TimelineStep {
  atMs: number;
  kind: FaultRecordKind;
  /** Returns the detail for the log; undefined for steps planned ahead (slow, poison). */
  run?: (target: FaultTarget) => Promise<string>;
  detail?: string;
  /** A kill's restart: runs only once the kill itself is done. */
  after?: TimelineStep;
}

export interface FaultPlan {
  /** Handed to the orchestrator processes (ORCH_FAULT_FILE). */
  switches: FaultSwitchFile;
  steps: TimelineStep[];
}

/**
 * Resolves a schedule against the planned load: times become ms, slow and
 * poison faults become concrete events (the next `count` events of the key
 * from the fault's time on), kills get their restart step.
 *
 * @param hotKeys subscriber ids by popularity, hottest first (key=hot, hot2, ...)
 */
export function planFaults(
  faults: readonly FaultSpec[],
  events: Iterable<PlannedEvent>,
  durationMs: number,
  hotKeys: readonly string[],
): FaultPlan {
  const switches: FaultSwitchFile = { slow: [], poison: [] };
  const steps: TimelineStep[] = [];
  const keyed: Array<{
    fault: Extract<FaultSpec, { kind: 'slow' | 'poison' }>;
    atMs: number;
    subscriberId: string;
    picked: PlannedEvent[];
  }> = [];
  for (const fault of faults) {
    const atMs = faultTimeMs(fault.at, durationMs);
    if (atMs >= durationMs) throw new FaultScheduleError(`fault ${fault.kind} at ${atMs} ms is not inside the ${durationMs} ms run`);
    switch (fault.kind) {
      case 'kill': {
        const kill: TimelineStep = { atMs, kind: 'kill', run: (target) => target.killOrchestrator(fault.process) };
        steps.push(kill, {
          atMs: atMs + fault.restartAfterMs,
          kind: 'restart',
          run: (target) => target.restartOrchestrator(fault.process),
          after: kill,
        });
        break;
      }
      case 'add-consumer':
        steps.push({ atMs, kind: 'add-consumer', run: (target) => target.addConsumer() });
        break;
      case 'broker-restart':
        steps.push({ atMs, kind: 'broker-restart', run: (target) => target.restartBroker() });
        break;
      case 'redis-restart':
        steps.push({ atMs, kind: 'redis-restart', run: (target) => target.restartRedis() });
        break;
      case 'slow':
      case 'poison':
        keyed.push({ fault, atMs, subscriberId: resolveKey(fault.key, hotKeys), picked: [] });
        break;
    }
  }
  if (keyed.length > 0) {
    for (const event of events) {
      for (const entry of keyed) {
        if (entry.picked.length < entry.fault.count && event.subscriberId === entry.subscriberId && event.atMs >= entry.atMs)
          entry.picked.push(event);
      }
    }
  }
  for (const { fault, subscriberId, picked } of keyed) {
    const first = picked[0];
    if (first === undefined)
      throw new FaultScheduleError(
        `fault ${fault.kind}: ${subscriberId} has no event after ${fault.kind}'s time; pick a busier key (key=hot)`,
      );
    const seqs = picked.map((event) => event.seq);
    if (fault.kind === 'slow') {
      for (const event of picked) switches.slow.push({ subscriberId, seq: event.seq, delayMs: fault.delayMs });
      steps.push({ atMs: first.atMs, kind: 'slow', detail: `${subscriberId} events ${seqs.join(', ')} take ${fault.delayMs} ms each` });
    } else {
      for (const event of picked) switches.poison.push({ subscriberId, seq: event.seq });
      steps.push({ atMs: first.atMs, kind: 'poison', detail: `${subscriberId} events ${seqs.join(', ')} always fail (dead letter)` });
    }
  }
  steps.sort((a, b) => a.atMs - b.atMs);
  return { switches, steps };
}

function resolveKey(key: string, hotKeys: readonly string[]): string {
  const hot = /^hot(\d*)$/.exec(key);
  if (hot === null) return key;
  const rank = hot[1] === '' ? 1 : Number(hot[1]);
  const subscriberId = hotKeys[rank - 1];
  if (subscriberId === undefined) throw new FaultScheduleError(`key=${key}: the load has only ${hotKeys.length} hot keys`);
  return subscriberId;
}

/**
 * Starts each step at its time, whether or not the steps before it are done
 * (a broker restart that takes a minute does not push the next fault back),
 * so every mode meets its faults at the same moments; a kill's restart still
 * waits for its kill. A failing step is logged and the run goes on. Resolves
 * when every step has finished, with the records in the order they started.
 */
export async function runFaults(
  plan: FaultPlan,
  target: FaultTarget,
  options: { startedAt: number; signal?: AbortSignal; onFault?(record: FaultRecord): void },
): Promise<FaultRecord[]> {
  const now = () => performance.now() - options.startedAt;
  const done = new Map<TimelineStep, Promise<FaultRecord | undefined>>();
  const runStep = async (step: TimelineStep): Promise<FaultRecord | undefined> => {
    const waitMs = step.atMs - now();
    if (waitMs > 0) {
      try {
        await sleep(waitMs, undefined, { signal: options.signal, ref: false });
      } catch {
        return undefined; // aborted: the run ended before this fault
      }
    }
    if (step.after !== undefined) await done.get(step.after);
    if (options.signal?.aborted) return undefined;
    const atMs = Math.round(now());
    const record: FaultRecord = { kind: step.kind, plannedAtMs: step.atMs, atMs, durationMs: 0, detail: step.detail ?? '' };
    if (step.run !== undefined) {
      try {
        record.detail = await step.run(target);
      } catch (error) {
        record.error = error instanceof Error ? error.message : String(error);
      }
    }
    record.durationMs = Math.round(now()) - atMs;
    options.onFault?.(record);
    return record;
  };
  for (const step of plan.steps) done.set(step, runStep(step));
  const records = await Promise.all(done.values());
  return records.filter((record): record is FaultRecord => record !== undefined).sort((a, b) => a.atMs - b.atMs);
}
