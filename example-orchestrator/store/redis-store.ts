/**
 * The state store in Redis. One Lua script per write sets the subscriber's
 * state and appends the write record to the run's `writes` stream, so a
 * record exists exactly when its write happened; with a fencing token it
 * first checks that the token is still the subscriber's latest (a holder
 * whose lease expired while it was paused cannot write any more).
 */
import type { DeadLetterRecord, StateWriteRecord } from '../domain/records.js';
import type { SubscriberState } from '../domain/state.js';
import { MAX_STREAM_RECORDS, RUN_KEY_TTL_MS, runKeys } from './keys.js';
import { LuaScript } from './lua.js';
import type { RedisConnection } from './redis-connection.js';
import { StoreError, type StateStore, type StoredState, type WriteRequest, type WriteResult } from './store.js';

const WRITE = new LuaScript(`
if ARGV[3] ~= '' then
  local current = redis.call('GET', KEYS[3])
  if current ~= ARGV[3] then return {0, current or ''} end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'r', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if ARGV[6] ~= '' then redis.call('ZREM', KEYS[4], ARGV[6]) end
return {1, ''}
`);

const DEAD_LETTER = new LuaScript(`
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'r', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if ARGV[2] ~= '' then
  redis.call('SADD', KEYS[2], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[2])
end
return 1
`);

const EXPORT_BATCH = 1_000;

export class RedisStore implements StateStore {
  private readonly keys;

  constructor(
    private readonly redis: RedisConnection,
    prefix: string,
  ) {
    this.keys = runKeys(prefix);
  }

  async read(subscriberId: string): Promise<StoredState | undefined> {
    const raw = await this.redis.sendCommand<string | null>(['GET', this.keys.state(subscriberId)]);
    if (raw === null) return undefined;
    try {
      return JSON.parse(raw) as StoredState;
    } catch (error) {
      throw new StoreError(`state of ${subscriberId} in Redis is not JSON (${String(error)}); delete key ${this.keys.state(subscriberId)}`);
    }
  }

  async write(request: WriteRequest): Promise<WriteResult> {
    const id = request.record.subscriberId;
    const stored: { version: number; state: SubscriberState } = { version: request.record.toVersion, state: request.state };
    const [ok, current] = await WRITE.run<[number, string]>(
      this.redis,
      [this.keys.state(id), this.keys.writes, this.keys.fence(id), this.keys.received(id)],
      [
        JSON.stringify(stored),
        JSON.stringify(request.record),
        request.fence === undefined ? '' : String(request.fence),
        String(RUN_KEY_TTL_MS),
        String(MAX_STREAM_RECORDS),
        request.appliedSeq === undefined ? '' : String(request.appliedSeq),
      ],
    );
    return ok === 1 ? { ok: true } : { ok: false, reason: 'fenced', currentFence: current };
  }

  async recordDeadLetter(record: DeadLetterRecord): Promise<void> {
    await DEAD_LETTER.run<number>(
      this.redis,
      [this.keys.deadLetters, this.keys.deadLetteredSeqs(record.subscriberId), this.keys.received(record.subscriberId)],
      [
        JSON.stringify(record),
        record.seq === undefined || record.subscriberId === '' ? '' : String(record.seq),
        String(RUN_KEY_TTL_MS),
        String(MAX_STREAM_RECORDS),
      ],
    );
  }

  async deadLetteredSeqs(subscriberId: string): Promise<number[]> {
    const members = await this.redis.sendCommand<string[]>(['SMEMBERS', this.keys.deadLetteredSeqs(subscriberId)]);
    return members.map(Number);
  }

  async noteReceived(subscriberId: string, seq: number, eventTime: number): Promise<void> {
    const key = this.keys.received(subscriberId);
    await this.redis.sendCommand(['ZADD', key, String(eventTime), String(seq)]);
    await this.redis.sendCommand(['PEXPIRE', key, String(RUN_KEY_TTL_MS)]);
  }

  async forgetReceived(subscriberId: string, seq: number): Promise<void> {
    await this.redis.sendCommand(['ZREM', this.keys.received(subscriberId), String(seq)]);
  }

  async receivedBefore(subscriberId: string, time: number): Promise<boolean> {
    const found = await this.redis.sendCommand<string[]>([
      'ZRANGE',
      this.keys.received(subscriberId),
      '-inf',
      `(${time}`,
      'BYSCORE',
      'LIMIT',
      '0',
      '1',
    ]);
    return found.length > 0;
  }

  writeRecords(): AsyncIterable<StateWriteRecord[]> {
    return this.stream<StateWriteRecord>(this.keys.writes);
  }

  deadLetterRecords(): AsyncIterable<DeadLetterRecord[]> {
    return this.stream<DeadLetterRecord>(this.keys.deadLetters);
  }

  async close(): Promise<void> {
    await this.redis.close();
  }

  private async *stream<T>(key: string): AsyncIterable<T[]> {
    let start = '-';
    for (;;) {
      const entries = await this.redis.sendCommand<[string, string[]][]>(['XRANGE', key, start, '+', 'COUNT', String(EXPORT_BATCH)]);
      if (entries.length === 0) return;
      yield entries.map(([, fields]) => JSON.parse(fields[1] ?? 'null') as T);
      start = `(${entries[entries.length - 1]![0]}`;
      if (entries.length < EXPORT_BATCH) return;
    }
  }
}
