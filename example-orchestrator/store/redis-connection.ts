/** One node-redis connection with the settings every process of a run uses. */
import { createClient } from '@redis/client';

export interface RedisConnection {
  sendCommand<T>(args: readonly string[]): Promise<T>;
  close(): Promise<void>;
}

/** Attempts of the first connection before giving up (about 3 s in all). */
const FIRST_CONNECT_ATTEMPTS = 6;

export async function connectRedis(url: string, name: string, onError: (error: Error) => void = () => {}): Promise<RedisConnection> {
  let connected = false;
  const client = createClient({
    url,
    name,
    socket: {
      connectTimeout: 5_000,
      // Once connected, keep trying through a Redis restart (commands wait in the offline
      // queue meanwhile); a first connection that keeps failing is an error for the caller.
      reconnectStrategy: (retries: number, cause: Error) =>
        !connected && retries >= FIRST_CONNECT_ATTEMPTS ? cause : Math.min(50 * 2 ** retries, 2_000),
    },
  });
  client.on('ready', () => {
    connected = true;
  });
  // Without a listener, node-redis would throw connection errors at the process.
  client.on('error', (error: Error) => onError(error));
  try {
    await client.connect();
  } catch (error) {
    client.destroy();
    throw new Error(
      `cannot connect to Redis at ${url} (${error instanceof Error ? error.message : String(error)}): start it with npm run stack:up, or set REDIS_PORT`,
    );
  }
  return {
    sendCommand: <T>(args: readonly string[]) => client.sendCommand<T>(args),
    async close() {
      if (client.isOpen) await client.close();
    },
  };
}
