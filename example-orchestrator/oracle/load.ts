/** Reads a run's folder (see domain/records.ts) into the oracle's input. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimClock } from '../domain/clock.js';
import type { JourneyPolicy } from '../domain/policy.js';
import { RUN_FILES } from '../domain/records.js';
import type { OracleInput } from './oracle.js';

export function readJsonl<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const records: T[] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      records.push(JSON.parse(line) as T);
    } catch {
      // A process killed mid-write leaves at most its last line cut short.
      if (index < lines.length - 2) throw new Error(`${path}:${index + 1} is not JSON`);
    }
  });
  return records;
}

export function loadRun(runDir: string): OracleInput {
  const runPath = join(runDir, RUN_FILES.run);
  if (!existsSync(runPath)) throw new Error(`${runPath} not found: is ${runDir} a run folder (made by startMode)?`);
  const run = JSON.parse(readFileSync(runPath, 'utf8')) as { clock: SimClock; policy: JourneyPolicy };
  return {
    clock: run.clock,
    policy: run.policy,
    events: readJsonl(join(runDir, RUN_FILES.events)),
    writes: readJsonl(join(runDir, RUN_FILES.writes)),
    deliveries: readJsonl(join(runDir, RUN_FILES.deliveries)),
    deadLetters: readJsonl(join(runDir, RUN_FILES.deadLetters)),
  };
}
