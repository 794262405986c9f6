/**
 * How message keys appear on spans and on the top-K stalled-key label.
 * Keys are often user or account ids, so they are hashed by default.
 */
import { createHmac } from 'node:crypto';
import { exactTextBytes } from '../tracking/exact-text.js';

export type KeyPolicy = 'hashed' | 'plain' | 'none';

/** Default secret: makes hashes stable across processes out of the box. Set your own to resist dictionary attacks. */
export const DEFAULT_KEY_HASH_SECRET = 'pulsar-keyscope';
const HASH_HEX_LENGTH = 16;
const MAX_PLAIN_KEY_LENGTH = 256;
/** Hot keys repeat; a small cache avoids one HMAC per message. Cleared when full. */
const HASH_CACHE_SIZE = 4096;
/** Longer keys are hashed without caching, so the cache stays small. */
const MAX_CACHED_KEY_LENGTH = 256;

export class KeyRenderer {
  private readonly cache = new Map<string, string>();

  constructor(
    readonly policy: KeyPolicy,
    private readonly secret: string = DEFAULT_KEY_HASH_SECRET,
  ) {}

  /** The short keyed hash of a key (HMAC-SHA256, first 16 hex digits). Independent of the policy. */
  hash(key: string): string {
    let hashed = this.cache.get(key);
    if (hashed === undefined) {
      hashed = createHmac('sha256', this.secret).update(exactTextBytes(key)).digest('hex').slice(0, HASH_HEX_LENGTH);
      if (key.length <= MAX_CACHED_KEY_LENGTH) {
        if (this.cache.size >= HASH_CACHE_SIZE) this.cache.clear();
        this.cache.set(key, hashed);
      }
    }
    return hashed;
  }

  /** The key as exported under the policy; undefined when keys are not exported. */
  render(key: string): string | undefined {
    switch (this.policy) {
      case 'hashed':
        return this.hash(key);
      case 'plain':
        return key.length > MAX_PLAIN_KEY_LENGTH ? key.slice(0, MAX_PLAIN_KEY_LENGTH) : key;
      case 'none':
        return undefined;
    }
  }
}
