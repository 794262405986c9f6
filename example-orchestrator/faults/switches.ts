/**
 * Slow and poison subscribers, seen from inside an orchestrator process. The
 * fault runner picks the affected events (subscriber id and sequence number)
 * before the run and writes them to a small JSON file; each process reads it
 * once at start (named by the ORCH_FAULT_FILE environment variable) and calls
 * `beforeHandle()` at the top of its event handler. Picking events, not time
 * windows, makes every mode meet exactly the same slow and poison events.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export const FAULT_FILE_ENV = 'ORCH_FAULT_FILE';

export interface FaultSwitchFile {
  /** Events whose handling takes delayMs (each time they are handled). */
  slow: Array<{ subscriberId: string; seq: number; delayMs: number }>;
  /** Events whose handler always throws: retried, then dead-lettered. */
  poison: Array<{ subscriberId: string; seq: number }>;
}

/** Thrown by the handler of a poison event. */
export class PoisonEventError extends Error {
  override readonly name = 'PoisonEventError';
  constructor(
    readonly subscriberId: string,
    readonly seq: number,
  ) {
    super(`event ${seq} of ${subscriberId} is a poison event of the fault schedule (${FAULT_FILE_ENV}); its handler always fails`);
  }
}

export class FaultSwitches {
  private readonly slow = new Map<string, number>();
  private readonly poison = new Set<string>();

  constructor(file: FaultSwitchFile = { slow: [], poison: [] }) {
    for (const entry of file.slow) this.slow.set(eventKey(entry.subscriberId, entry.seq), entry.delayMs);
    for (const entry of file.poison) this.poison.add(eventKey(entry.subscriberId, entry.seq));
  }

  /** The switches named by ORCH_FAULT_FILE; none when it is unset. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): FaultSwitches {
    const path = env[FAULT_FILE_ENV];
    return path === undefined || path === '' ? new FaultSwitches() : FaultSwitches.fromFile(path);
  }

  static fromFile(path: string): FaultSwitches {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new Error(
        `cannot read the fault switch file ${path} (${FAULT_FILE_ENV}): ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (!isSwitchFile(parsed))
      throw new Error(`${path} (${FAULT_FILE_ENV}) is not a fault switch file: expected { "slow": [...], "poison": [...] }`);
    return new FaultSwitches(parsed);
  }

  get empty(): boolean {
    return this.slow.size === 0 && this.poison.size === 0;
  }

  /** Sleeps for a slow event, throws PoisonEventError for a poison event, else returns at once. */
  async beforeHandle(subscriberId: string, seq: number): Promise<void> {
    if (this.empty) return;
    const key = eventKey(subscriberId, seq);
    const delayMs = this.slow.get(key);
    if (delayMs !== undefined) await sleep(delayMs);
    if (this.poison.has(key)) throw new PoisonEventError(subscriberId, seq);
  }
}

export function writeFaultSwitchFile(path: string, file: FaultSwitchFile): void {
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
}

function eventKey(subscriberId: string, seq: number): string {
  return `${subscriberId}#${seq}`;
}

function isSwitchFile(value: unknown): value is FaultSwitchFile {
  if (typeof value !== 'object' || value === null) return false;
  const { slow, poison } = value as Record<string, unknown>;
  const entries = (list: unknown, withDelay: boolean) =>
    Array.isArray(list) &&
    list.every((entry: unknown) => {
      if (typeof entry !== 'object' || entry === null) return false;
      const { subscriberId, seq, delayMs } = entry as Record<string, unknown>;
      return typeof subscriberId === 'string' && Number.isInteger(seq) && (!withDelay || (typeof delayMs === 'number' && delayMs >= 0));
    });
  return entries(slow, true) && entries(poison, false);
}
