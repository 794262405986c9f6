/**
 * Type-level check: the WebSocket client's objects go through the wrappers
 * and come back with their own types.
 */
import type { Keyscope } from '../../src/index.js';
import {
  type WebSocketClient,
  WebSocketMessageId,
  type WebSocketConsumer,
  type WebSocketProducer,
  type WebSocketReader,
} from '../../src/websocket/index.js';

export async function websocketClientThroughWrappers(keyscope: Keyscope, client: WebSocketClient): Promise<void> {
  const instrumented: WebSocketClient = keyscope.instrumentClient(client);
  const producer: WebSocketProducer = keyscope.instrumentProducer(await client.createProducer({ topic: 't' }));
  const consumer: WebSocketConsumer = keyscope.instrumentConsumer(await client.subscribe({ topic: 't', subscription: 's' }), {
    subscription: 's',
  });
  const message = await consumer.receive();
  await keyscope.process(message, () => consumer.acknowledge(message));
  await producer.send({ data: Buffer.from('x') });
  const reader: WebSocketReader = await instrumented.createReader({ topic: 't', startMessageId: WebSocketMessageId.earliest() });
  await reader.readNext();
  void instrumented;
}
