/** Reads what a mode's run left in its folder (JSON-lines files). */
import { join } from 'node:path';
import { RUN_FILES, type DeliveryRecord, type EventLogRecord, type StateWriteRecord } from '../domain/records.js';
import { readJsonl } from '../oracle/load.js';
import type { DetectionRecord } from './detections.js';

export const DETECTIONS_FILE = 'detections.jsonl';
export const FAULT_SWITCH_FILE = 'faults.json';

export interface RunFiles {
  events: EventLogRecord[];
  writes: StateWriteRecord[];
  deliveries: DeliveryRecord[];
  detections: DetectionRecord[];
}

export function readRunFiles(runDir: string): RunFiles {
  return {
    events: readJsonl<EventLogRecord>(join(runDir, RUN_FILES.events)),
    writes: readJsonl<StateWriteRecord>(join(runDir, RUN_FILES.writes)),
    deliveries: readJsonl<DeliveryRecord>(join(runDir, RUN_FILES.deliveries)),
    detections: readJsonl<DetectionRecord>(join(runDir, DETECTIONS_FILE)),
  };
}
