/**
 * Stand-in declarations for `pulsar-client` so the repository type-checks
 * without the native package installed. TypeScript only uses an ambient
 * module when the real one cannot be resolved; scripts/check/pulsar-client-types.sh
 * compiles test/compat/real-pulsar-client.ts against the real package's
 * index.d.ts instead, where these are not part of the program.
 */
declare module 'pulsar-client' {
  import type * as keyscope from '../../src/pulsar/types.js';
  export type Client = keyscope.ClientLike;
  export type Producer = keyscope.ProducerLike;
  export type Consumer = keyscope.ConsumerLike;
  export type Reader = keyscope.ReaderLike;
  export type Message = keyscope.MessageLike;
  export type MessageId = keyscope.MessageIdLike;
  export type ProducerMessage = keyscope.ProducerMessageLike;
  export type SubscriptionType = keyscope.SubscriptionTypeName;
  export interface ConsumerConfig {
    topic?: string;
    subscription: string;
    subscriptionType?: SubscriptionType;
    listener?: (message: Message, consumer: Consumer) => void;
  }
}
