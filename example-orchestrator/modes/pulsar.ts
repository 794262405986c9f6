/**
 * The Pulsar side of every process: a pulsar-client-shaped client
 * (ClientLike) instrumented by keyscope. Here it is the WebSocket client
 * shipped with keyscope; with the native addon, pass
 * `new Pulsar.Client({ serviceUrl: 'pulsar://...' })` instead: nothing else
 * changes.
 */
import { Keyscope, WebSocketClient, type ClientLike } from 'pulsar-keyscope';
import type { Registry, RegistryContentType } from 'prom-client';

export interface PulsarSide {
  client: ClientLike;
  keyscope: Keyscope;
  close(): Promise<void>;
}

export function openPulsar(options: { serviceUrl: string; registry: Registry<RegistryContentType>; stallThresholdMs: number }): PulsarSide {
  const keyscope = new Keyscope({ registry: options.registry, stallThresholdMs: options.stallThresholdMs });
  const raw = new WebSocketClient({ serviceUrl: options.serviceUrl });
  const client = keyscope.instrumentClient(raw);
  return {
    client,
    keyscope,
    async close() {
      await raw.close();
      keyscope.close();
    },
  };
}
