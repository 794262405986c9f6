/**
 * A per-subscriber lock on one Redis: `SET key token NX PX lease` with a
 * random token, and a fencing token from `INCR` taken in the same script,
 * so every acquisition gets a strictly larger fence than the previous one.
 * The state write checks the fence (RedisStore), so a holder that outlived
 * its lease (a GC pause, a stalled event loop) cannot overwrite its
 * successor's state. Release is compare-and-delete: only the token's owner
 * deletes the key. Acquisition waits with jittered exponential backoff, at
 * most maxWaitMs, then fails with LockTimeoutError.
 *
 * A single-instance lock, not Redlock: node-redlock's v5 is still a beta
 * with open quorum bugs, and fencing is what makes a lease safe.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LockSettings } from '../modes/run-info.js';
import { RUN_KEY_TTL_MS, runKeys } from './keys.js';
import { LuaScript } from './lua.js';
import type { RedisConnection } from './redis-connection.js';

const ACQUIRE = new LuaScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local fence = redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return fence
end
return 0
`);

const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

export interface Lease {
  subscriberId: string;
  token: string;
  fence: number;
  /** Time spent acquiring, ms. */
  waitedMs: number;
  /** Attempts that found the lock taken. */
  contended: number;
  acquiredAt: number;
}

export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
  constructor(
    readonly subscriberId: string,
    readonly waitedMs: number,
  ) {
    super(
      `lock of subscriber ${subscriberId} still taken after ${Math.round(waitedMs)} ms; the message is retried (raise lock.maxWaitMs if holders are just slow)`,
    );
  }
}

export class SubscriberLock {
  private readonly keys;

  constructor(
    private readonly redis: RedisConnection,
    prefix: string,
    private readonly settings: LockSettings,
    private readonly random: () => number = Math.random,
  ) {
    this.keys = runKeys(prefix);
  }

  /** `holder` says what the lease is for (e.g. `event:7`); others can read it with holder(). */
  async acquire(subscriberId: string, holder = ''): Promise<Lease> {
    const token = `${holder}|${randomBytes(12).toString('base64url')}`;
    const started = performance.now();
    let contended = 0;
    for (let attempt = 0; ; attempt++) {
      const fence = await ACQUIRE.run<number>(
        this.redis,
        [this.keys.lock(subscriberId), this.keys.fence(subscriberId)],
        [token, String(this.settings.leaseMs), String(RUN_KEY_TTL_MS)],
      );
      const now = performance.now();
      if (fence > 0) return { subscriberId, token, fence, waitedMs: now - started, contended, acquiredAt: now };
      contended += 1;
      if (now - started >= this.settings.maxWaitMs) throw new LockTimeoutError(subscriberId, now - started);
      const ceiling = Math.min(this.settings.backoffMaxMs, this.settings.backoffInitialMs * 2 ** attempt);
      await sleep(Math.max(1, ceiling / 2 + (this.random() * ceiling) / 2));
    }
  }

  /** What the current holder of the subscriber's lock said it holds it for; undefined when the lock is free. */
  async holder(subscriberId: string): Promise<string | undefined> {
    const token = await this.redis.sendCommand<string | null>(['GET', this.keys.lock(subscriberId)]);
    return token === null ? undefined : token.slice(0, token.lastIndexOf('|'));
  }

  /** true when the lease was still ours (false: it expired and maybe someone else holds the lock now). */
  async release(lease: Lease): Promise<boolean> {
    const deleted = await RELEASE.run<number>(this.redis, [this.keys.lock(lease.subscriberId)], [lease.token]);
    return deleted === 1;
  }
}
