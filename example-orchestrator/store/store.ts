/**
 * Where subscriber state lives. The orchestrator reads a subscriber's state,
 * decides, and writes the new state together with a record of what the write
 * applied (atomically), so that the oracle can tell lost updates and
 * out-of-order application from correct runs.
 *
 * The write is last-writer-wins on purpose: exclusivity per subscriber is the
 * subscription's job (Key_Shared, Failover) or the lock's (its fencing token
 * is checked here); Shared without a lock shows what happens without it.
 */
import type { DeadLetterRecord, StateWriteRecord } from '../domain/records.js';
import type { SubscriberState } from '../domain/state.js';

export interface StoredState {
  /** Incremented by every write; 0 = never written. */
  version: number;
  state: SubscriberState;
}

export interface WriteRequest {
  state: SubscriberState;
  /** The write applies this received event (its seq leaves the received-not-applied set). */
  appliedSeq?: number;
  /** `toVersion` is the version the state gets. */
  record: StateWriteRecord;
  /** shared_redis_lock: the write succeeds only while this is still the subscriber's latest fencing token. */
  fence?: number;
}

export type WriteResult = { ok: true } | { ok: false; reason: 'fenced'; currentFence: string };

export interface StateStore {
  read(subscriberId: string): Promise<StoredState | undefined>;
  write(request: WriteRequest): Promise<WriteResult>;
  recordDeadLetter(record: DeadLetterRecord): Promise<void>;
  /** Sequence numbers of the subscriber's events that were dead-lettered. */
  deadLetteredSeqs(subscriberId: string): Promise<number[]>;
  /**
   * Sequence-enforcing modes: notes an event received by some consumer and
   * not applied yet, so that a timer due after it waits for it. It leaves the
   * set when a write applies it, when it is dead-lettered, or through
   * `forgetReceived` (a duplicate).
   */
  noteReceived(subscriberId: string, seq: number, eventTime: number): Promise<void>;
  forgetReceived(subscriberId: string, seq: number): Promise<void>;
  /** Is an event received and not applied whose event time is before `time`? */
  receivedBefore(subscriberId: string, time: number): Promise<boolean>;
  /** Every state write record, in write order (for the oracle's export). */
  writeRecords(): AsyncIterable<StateWriteRecord[]>;
  deadLetterRecords(): AsyncIterable<DeadLetterRecord[]>;
  close(): Promise<void>;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
}
