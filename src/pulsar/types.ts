/**
 * Structural types mirroring the parts of `pulsar-client` (1.x `index.d.ts`)
 * that the wrappers touch. The library targets the client's API by shape, not
 * by import: the native addon cannot be installed everywhere, and the
 * WebSocket client shipped with this package has the same shape.
 *
 * `scripts/check/pulsar-client-types.sh` type-checks these against the real
 * package so a drift fails CI.
 */

export type PropertyMap = { [key: string]: string };

export interface MessageIdLike {
  toString(): string;
}

export interface ProducerMessageLike {
  data: Buffer;
  properties?: PropertyMap;
  eventTimestamp?: number;
  sequenceId?: number;
  partitionKey?: string;
  orderingKey?: string;
  replicationClusters?: string[];
  deliverAfter?: number;
  deliverAt?: number;
  disableReplication?: boolean;
}

export interface MessageLike {
  getTopicName(): string;
  getProperties(): PropertyMap;
  getData(): Buffer;
  getMessageId(): MessageIdLike;
  getPublishTimestamp(): number;
  getPartitionKey(): string;
  /** Newer clients only (1.9+): feature-detected at runtime. */
  getOrderingKey?(): string;
  /** Newer clients only: feature-detected at runtime. */
  getRedeliveryCount?(): number;
  /** Feature-detected: the WebSocket API does not carry it (its client returns ''). */
  getProducerName?(): string;
}

export interface ProducerLike {
  send(message: ProducerMessageLike): Promise<MessageIdLike>;
  flush(): Promise<null>;
  close(): Promise<null>;
  getProducerName(): string;
  getTopic(): string;
  isConnected(): boolean;
}

export type SubscriptionTypeName = 'Exclusive' | 'Shared' | 'KeyShared' | 'Failover';

export interface ConsumerLike {
  receive(timeout?: number): Promise<MessageLike>;
  batchReceive?(): Promise<MessageLike[]>;
  acknowledge(message: MessageLike): Promise<null>;
  acknowledgeId(messageId: MessageIdLike): Promise<null>;
  negativeAcknowledge(message: MessageLike): void;
  negativeAcknowledgeId(messageId: MessageIdLike): void;
  acknowledgeCumulative(message: MessageLike): Promise<null>;
  acknowledgeCumulativeId?(messageId: MessageIdLike): Promise<null>;
  isConnected(): boolean;
  close(): Promise<null>;
  unsubscribe(): Promise<null>;
  /**
   * Not in pulsar-client (feature-detected): calls `listener` whenever the
   * consumer's connection to the broker drops, and returns a function that
   * stops the calls. The WebSocket client has it.
   */
  onConnectionLost?(listener: (reason: Error) => void): () => void;
}

export interface ReaderLike {
  readNext(timeout?: number): Promise<MessageLike>;
  hasNext(): boolean;
  isConnected(): boolean;
  close(): Promise<null>;
}

export interface ProducerConfigLike {
  topic: string;
}

export interface ConsumerConfigLike {
  topic?: string;
  topics?: string[];
  topicsPattern?: string;
  subscription: string;
  subscriptionType?: SubscriptionTypeName;
  ackTimeoutMs?: number;
  nAckRedeliverTimeoutMs?: number;
  // The listener's consumer parameter is the client's own consumer type; a
  // method-style signature keeps real `ConsumerConfig` values assignable.
  listener?(message: never, consumer: never): void;
}

export interface ReaderConfigLike {
  topic: string;
  listener?(message: never, reader: never): void;
}

export interface ClientLike {
  createProducer(config: ProducerConfigLike): Promise<ProducerLike>;
  subscribe(config: ConsumerConfigLike): Promise<ConsumerLike>;
  createReader(config: ReaderConfigLike): Promise<ReaderLike>;
  close?(): Promise<null>;
}
