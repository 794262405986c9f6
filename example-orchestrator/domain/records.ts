/**
 * What a run leaves behind for the correctness oracle: the shapes of its
 * records and the file names in the run's folder (one JSON object per line).
 *
 * | file                | written by                                  | record            |
 * |---------------------|---------------------------------------------|-------------------|
 * | `run.json`          | startMode, once                             | RunInfo (run/)    |
 * | `events.jsonl`      | whoever publishes events (EventPublisher)   | EventLogRecord    |
 * | `writes.jsonl`      | exported from Redis at the end (collect())  | StateWriteRecord  |
 * | `dead-letters.jsonl`| exported from Redis at the end (collect())  | DeadLetterRecord  |
 * | `deliveries.jsonl`  | the provider, as it accepts each decision   | DeliveryRecord    |
 * | `logs/<name>.log`   | each process's stdout and stderr            | text              |
 */
import type { SendCommand } from './commands.js';
import type { Channel, MalformedReason, SubscriberEvent } from './events.js';

export const RUN_FILES = {
  run: 'run.json',
  events: 'events.jsonl',
  writes: 'writes.jsonl',
  deadLetters: 'dead-letters.jsonl',
  deliveries: 'deliveries.jsonl',
  logs: 'logs',
} as const;

/** One published event, logged once the broker confirmed it. */
export type EventLogRecord = SubscriberEvent & {
  /** Wall clock when the send was confirmed. */
  publishedAt: number;
  messageId: string;
};

/** What one state write applied. */
export type AppliedInput =
  | { kind: 'event'; seq: number; type: SubscriberEvent['type']; eventTime: number }
  | { kind: 'timer'; timerId: string; dueTime: number };

/**
 * Recorded atomically with each state write (same Redis script), so that the
 * oracle sees exactly what each write applied and on top of which version:
 * two writes from one `fromVersion` mean one overwrote the other (a lost
 * update); `lastSeqBefore`/`lastSeqAfter` show gaps and events applied out of
 * order.
 */
export interface StateWriteRecord {
  subscriberId: string;
  /** The orchestrator process, e.g. `orchestrator-2`. */
  consumer: string;
  /** Version of the state the decision read (0 = no state yet). */
  fromVersion: number;
  toVersion: number;
  applied: AppliedInput;
  lastSeqBefore: number;
  lastSeqAfter: number;
  /** Decision ids of the sends this write's decision produced. */
  decisions: string[];
  /** Timers fired by this write (in-band or by timer_fired). */
  firedTimers: string[];
  /** shared_redis_lock: the fencing token that passed the check. */
  fence?: number;
  /** Wall clock at the write. */
  writtenAt: number;
}

/** A message the orchestrator gave up on: it went to the dead-letter topic and was acked. */
export interface DeadLetterRecord {
  /** Empty when the payload named none. */
  subscriberId: string;
  /** Present when the event parsed. */
  seq?: number;
  reason: MalformedReason | 'handler_failed';
  detail: string;
  consumer: string;
  messageId: string;
  attempts: number;
  at: number;
}

/** One distinct decision the provider accepted (a repeat of a decision id is a retry, not recorded again): the command as sent, plus what the provider saw. */
export interface DeliveryRecord extends Omit<SendCommand, 'v'> {
  /** Wall clock when the provider accepted it. */
  acceptedAt: number;
  /** Simulated clock at acceptance (lateness of a timed send = acceptedSim - dueTime). */
  acceptedSim: number;
  /** Requests for this decision id the provider answered before accepting it (429 / 5xx). */
  rejectedAttempts: number;
}
