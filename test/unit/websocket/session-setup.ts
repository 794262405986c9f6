/**
 * Shared setup of the WebSocket unit tests: each test opens a fake broker and
 * a client on it through these helpers, and closeOpenedAfterEach() closes
 * them (clients first) once the test ends, whether it passed or not.
 */
import { afterEach } from 'vitest';
import { WebSocketClient, type WebSocketClientConfig } from '../../../src/websocket/index.js';
import { FakeBroker, type FakeBrokerOptions } from './fake-broker.js';

const openedBrokers: FakeBroker[] = [];
const openedClients: WebSocketClient[] = [];

/** Registers the hook that closes every client and broker the test opened. Call once per test file. */
export function closeOpenedAfterEach(): void {
  afterEach(async () => {
    for (const client of openedClients.splice(0)) await client.close();
    for (const broker of openedBrokers.splice(0)) await broker.close();
  });
}

export async function startBroker(options?: FakeBrokerOptions): Promise<FakeBroker> {
  const broker = await FakeBroker.start(options);
  openedBrokers.push(broker);
  return broker;
}

/** A client on the fake broker that logs nothing; options override the defaults. */
export function connect(broker: FakeBroker, options: Partial<WebSocketClientConfig> = {}): WebSocketClient {
  const client = new WebSocketClient({ serviceUrl: broker.url, log: () => undefined, ...options });
  openedClients.push(client);
  return client;
}
