/**
 * The Pulsar side of every process: a pulsar-client-shaped client
 * (ClientLike) instrumented by keyscope. Here it is the WebSocket client
 * shipped with keyscope; with the native addon, pass
 * `new Pulsar.Client({ serviceUrl: 'pulsar://...' })` instead: nothing else
 * changes.
 */
import { Keyscope, type ClientLike } from 'pulsar-keyscope';
import { WebSocketClient } from 'pulsar-keyscope/websocket';
import type { Registry, RegistryContentType } from 'prom-client';

export interface PulsarSide {
  client: ClientLike;
  keyscope: Keyscope;
  close(): Promise<void>;
}

export function openPulsar(options: { serviceUrl: string; registry: Registry<RegistryContentType>; stallThresholdMs: number }): PulsarSide {
  // Subscriber ids here are synthetic, so spans carry them in plain text: a
  // split-brain key can be looked up in Jaeger by its id. Keep the default
  // ('hashed') for real customer ids.
  const keyscope = new Keyscope({ registry: options.registry, stallThresholdMs: options.stallThresholdMs, keyPolicy: 'plain' });
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
