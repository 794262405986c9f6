/**
 * Passes real `pulsar-client` values through the wrappers and back. Compiled
 * by scripts/check/pulsar-client-types.sh against the real package's
 * index.d.ts: any drift between our structural types and the client's API
 * fails there. (In the repository's own typecheck, `pulsar-client` resolves
 * to test/compat/pulsar-client-fallback.d.ts.)
 */
import type {
  Client,
  Consumer,
  ConsumerConfig,
  Message,
  MessageId,
  Producer,
  ProducerMessage,
  Reader,
  SubscriptionType,
} from 'pulsar-client';
import type { Keyscope } from '../../src/index.js';

export async function realClientThroughWrappers(keyscope: Keyscope, realClient: Client, realReader: Reader): Promise<void> {
  // The instrumented client keeps the client's own type.
  const client: Client = keyscope.instrumentClient(realClient);
  // pulsar-client's Client does not expose its service URL: it can be passed for server.address / server.port.
  const withServer: Client = keyscope.instrumentClient(realClient, { serviceUrl: 'pulsar://localhost:6650' });

  const producer: Producer = keyscope.instrumentProducer(await client.createProducer({ topic: 'orders' }), { topic: 'orders' });
  const message: ProducerMessage = { data: Buffer.from('x'), partitionKey: 'k', orderingKey: 'k', properties: { a: 'b' } };
  const sentId: MessageId = await producer.send(message);
  const flushed: null = await producer.flush();

  const subscriptionType: SubscriptionType = 'KeyShared';
  const listenerConfig: ConsumerConfig = {
    topic: 'orders',
    subscription: 'billing',
    subscriptionType,
    listener: (received: Message, owner: Consumer) => {
      void keyscope.process(received, () => owner.acknowledge(received));
    },
  };
  const listening: Consumer = await client.subscribe(listenerConfig);

  const consumer: Consumer = keyscope.instrumentConsumer(await realClient.subscribe({ topic: 'orders', subscription: 'audit' }), {
    subscription: 'audit',
    subscriptionType,
    serviceUrl: 'pulsar://localhost:6650',
  });
  const received: Message = await consumer.receive(1000);
  const batch: Message[] = await consumer.batchReceive();
  const acked: null = await keyscope.process(received, () => consumer.acknowledge(received));
  consumer.negativeAcknowledge(received);
  consumer.negativeAcknowledgeId(received.getMessageId());
  await consumer.acknowledgeId(received.getMessageId());
  await consumer.acknowledgeCumulative(received);
  await consumer.acknowledgeCumulativeId(received.getMessageId());
  const orderingKey: string = received.getOrderingKey();
  const redeliveries: number = received.getRedeliveryCount();

  const reader: Reader = await client.createReader({ topic: 'orders', startMessageId: sentId });
  const read: Message = await reader.readNext();

  void [withServer, flushed, listening, batch, acked, orderingKey, redeliveries, read, realReader];
  await consumer.close();
  await producer.close();
}
