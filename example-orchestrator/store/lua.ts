/** A Lua script run with EVALSHA, loaded with EVAL when the server does not know it yet (after a restart). */
import { createHash } from 'node:crypto';
import type { RedisConnection } from './redis-connection.js';

export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run<T>(redis: RedisConnection, keys: readonly string[], args: readonly string[]): Promise<T> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await redis.sendCommand<T>(['EVALSHA', this.sha, ...tail]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.sendCommand<T>(['EVAL', this.source, ...tail]);
    }
  }
}
