/** The state store in memory: for unit tests only (one process, no durability). */
import type { DeadLetterRecord, StateWriteRecord } from '../domain/records.js';
import { cloneState } from '../domain/state.js';
import type { StateStore, StoredState, WriteRequest, WriteResult } from './store.js';

export class MemoryStore implements StateStore {
  private readonly states = new Map<string, StoredState>();
  private readonly fences = new Map<string, number>();
  private readonly received = new Map<string, Map<number, number>>();
  readonly writes: StateWriteRecord[] = [];
  readonly deadLetters: DeadLetterRecord[] = [];

  async read(subscriberId: string): Promise<StoredState | undefined> {
    const stored = this.states.get(subscriberId);
    return stored === undefined ? undefined : { version: stored.version, state: cloneState(stored.state) };
  }

  async write(request: WriteRequest): Promise<WriteResult> {
    const id = request.record.subscriberId;
    if (request.fence !== undefined && this.fences.get(id) !== request.fence) {
      return { ok: false, reason: 'fenced', currentFence: String(this.fences.get(id) ?? '') };
    }
    this.states.set(id, { version: request.record.toVersion, state: cloneState(request.state) });
    if (request.appliedSeq !== undefined) this.received.get(id)?.delete(request.appliedSeq);
    this.writes.push(structuredClone(request.record));
    return { ok: true };
  }

  /** What a lock acquisition does to the fencing counter (for tests of fenced writes). */
  nextFence(subscriberId: string): number {
    const fence = (this.fences.get(subscriberId) ?? 0) + 1;
    this.fences.set(subscriberId, fence);
    return fence;
  }

  async recordDeadLetter(record: DeadLetterRecord): Promise<void> {
    this.deadLetters.push(record);
    if (record.seq !== undefined) this.received.get(record.subscriberId)?.delete(record.seq);
  }

  async noteReceived(subscriberId: string, seq: number, eventTime: number): Promise<void> {
    const received = this.received.get(subscriberId) ?? new Map<number, number>();
    received.set(seq, eventTime);
    this.received.set(subscriberId, received);
  }

  async forgetReceived(subscriberId: string, seq: number): Promise<void> {
    this.received.get(subscriberId)?.delete(seq);
  }

  async receivedBefore(subscriberId: string, time: number): Promise<boolean> {
    return [...(this.received.get(subscriberId)?.values() ?? [])].some((eventTime) => eventTime < time);
  }

  async deadLetteredSeqs(subscriberId: string): Promise<number[]> {
    return this.deadLetters.filter((r) => r.subscriberId === subscriberId && r.seq !== undefined).map((r) => r.seq as number);
  }

  async *writeRecords(): AsyncIterable<StateWriteRecord[]> {
    yield this.writes;
  }

  async *deadLetterRecords(): AsyncIterable<DeadLetterRecord[]> {
    yield this.deadLetters;
  }

  async close(): Promise<void> {}
}
