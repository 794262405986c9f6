/** The Redis keys of one run: all start with the run's prefix, so runs never mix. */
export function runKeys(prefix: string) {
  return {
    state: (subscriberId: string) => `${prefix}sub:${subscriberId}`,
    lock: (subscriberId: string) => `${prefix}lock:${subscriberId}`,
    fence: (subscriberId: string) => `${prefix}fence:${subscriberId}`,
    deadLetteredSeqs: (subscriberId: string) => `${prefix}dlseq:${subscriberId}`,
    received: (subscriberId: string) => `${prefix}received:${subscriberId}`,
    writes: `${prefix}writes`,
    deadLetters: `${prefix}dead-letters`,
  };
}

export function redisPrefixOf(runId: string): string {
  return `orch:${runId}:`;
}

/** A run's keys expire a day after their last write: inspection time, then gone. */
export const RUN_KEY_TTL_MS = 24 * 60 * 60 * 1000;
/** Upper bound on the records streams (approximate trimming beyond it). */
export const MAX_STREAM_RECORDS = 5_000_000;
