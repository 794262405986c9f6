/**
 * Configuration shapes: pulsar-client's ClientConfig / ProducerConfig /
 * ConsumerConfig (v1.18), so that code written for pulsar-client compiles
 * against this client, plus the few options only this client has.
 *
 * Options fall in three groups:
 * - mapped onto the WebSocket API (most of them);
 * - tuning knobs of the native client with no meaning here (ioThreads,
 *   messageListenerThreads, statsIntervalInSeconds, ...): accepted, no effect;
 * - features the WebSocket API cannot express (encryption, schemas, custom
 *   routers, sticky Key_Shared ranges, ...): rejected with
 *   NotSupportedByWebSocketError, never silently ignored.
 */
import type { LogHandler, LogLevel } from './logger.js';
import type { MessageListener } from './consumer.js';
import type { ReaderListener } from './reader.js';

export interface WebSocketClientConfig {
  /** The broker's (or WebSocket proxy's) HTTP service URL: http(s)://host:8080, or ws(s)://host:8080. */
  serviceUrl: string;
  /** Token sent as `Authorization: Bearer <token>`; a function is called before every (re)connect. */
  token?: string | (() => string) | (() => Promise<string>);
  /** pulsar-client's native authentication objects cannot be read here; use `token`. */
  authentication?: unknown;
  /** Bounds connecting, unsubscribe and close (default 30). */
  operationTimeoutSeconds?: number;
  /** Bounds one WebSocket handshake (default: `WEBSOCKET_DEFAULTS.connectionTimeoutMs`). */
  connectionTimeoutMs?: number;
  tlsTrustCertsFilePath?: string;
  tlsCertificateFilePath?: string;
  tlsPrivateKeyFilePath?: string;
  tlsAllowInsecureConnection?: boolean;
  tlsValidateHostname?: boolean;
  log?: LogHandler;
  /** Minimum level passed to `log` (default WARN). */
  logLevel?: LogLevel;
  // No effect over WebSocket:
  ioThreads?: number;
  messageListenerThreads?: number;
  concurrentLookupRequest?: number;
  statsIntervalInSeconds?: number;
  listenerName?: string;
  serviceUrlProvider?: unknown;
  // Only this client:
  /** First reconnect delay; doubles per failed attempt, with jitter (default: `WEBSOCKET_DEFAULTS.initialBackoffMs`). */
  initialBackoffMs?: number;
  /** Upper bound of the reconnect delay (default: `WEBSOCKET_DEFAULTS.maxBackoffMs`). */
  maxBackoffMs?: number;
  /** WebSocket ping interval that detects dead connections; 0 disables (default: `WEBSOCKET_DEFAULTS.keepAliveIntervalMs`). */
  keepAliveIntervalMs?: number;
  /**
   * The broker's `webSocketMaxTextFrameSize` in bytes, when it is not the
   * default (`WEBSOCKET_DEFAULTS.webSocketMaxTextFrameSize`, 1 MiB): a
   * message whose producer frame would be larger is rejected by send() with
   * MessageTooLargeError instead of being sent (the broker would close the
   * connection).
   */
  webSocketMaxTextFrameSize?: number;
}

export type MessageRoutingMode = 'UseSinglePartition' | 'RoundRobinDistribution' | 'CustomPartition';
export type HashingScheme = 'Murmur3_32Hash' | 'BoostHash' | 'JavaStringHash';
export type CompressionType = 'None' | 'Zlib' | 'LZ4' | 'ZSTD' | 'SNAPPY';

export interface WebSocketProducerConfig {
  topic: string;
  producerName?: string;
  /** Default: `WEBSOCKET_DEFAULTS.sendTimeoutMs`; 0 waits forever. */
  sendTimeoutMs?: number;
  initialSequenceId?: number;
  /** Default: `WEBSOCKET_DEFAULTS.maxPendingMessages`. */
  maxPendingMessages?: number;
  maxPendingMessagesAcrossPartitions?: number;
  /** Default false: a full queue rejects with ProducerQueueFullError. */
  blockIfQueueFull?: boolean;
  messageRoutingMode?: MessageRoutingMode;
  hashingScheme?: HashingScheme;
  compressionType?: CompressionType;
  /**
   * Broker-side batching of the WebSocket service's producer. Default false
   * (pulsar-client defaults to true): mixed-key batches would break Key_Shared
   * and the WebSocket API cannot select key-based batching.
   */
  batchingEnabled?: boolean;
  batchingMaxPublishDelayMs?: number;
  batchingMaxMessages?: number;
  batchingMaxAllowedSizeInBytes?: number;
  properties?: { [key: string]: string };
  publicKeyPath?: string;
  encryptionKey?: string;
  encryptionKeys?: string[];
  cryptoKeyReader?: unknown;
  cryptoFailureAction?: 'FAIL' | 'SEND';
  chunkingEnabled?: boolean;
  schema?: { schemaType: string };
  accessMode?: 'Shared' | 'Exclusive' | 'WaitForExclusive' | 'ExclusiveWithFencing';
  batchingType?: 'DefaultBatching' | 'KeyBasedBatching';
  messageRouter?: unknown;
}

export type SubscriptionType = 'Exclusive' | 'Shared' | 'KeyShared' | 'Failover';
export type InitialPosition = 'Latest' | 'Earliest';

export interface DeadLetterPolicy {
  deadLetterTopic: string;
  /** Redeliveries before a message moves to the dead-letter topic (default: unlimited, like pulsar-client). */
  maxRedeliverCount?: number;
  initialSubscriptionName?: string;
}

export interface WebSocketConsumerConfig {
  topic?: string;
  topics?: string[];
  topicsPattern?: string;
  subscription: string;
  /** Default 'Exclusive'. */
  subscriptionType?: SubscriptionType;
  subscriptionInitialPosition?: InitialPosition;
  /** 0 disables; otherwise at least 1000 (broker rule). */
  ackTimeoutMs?: number;
  /** Delay before a negatively acknowledged message is redelivered (broker default 60000). */
  nAckRedeliverTimeoutMs?: number;
  /** Default and upper bound: `MAX_RECEIVER_QUEUE_SIZE` (the WebSocket service's limit). */
  receiverQueueSize?: number;
  receiverQueueSizeAcrossPartitions?: number;
  consumerName?: string;
  properties?: { [key: string]: string };
  listener?: MessageListener;
  readCompacted?: boolean;
  privateKeyPath?: string;
  cryptoKeyReader?: unknown;
  cryptoFailureAction?: 'FAIL' | 'DISCARD' | 'CONSUME';
  maxPendingChunkedMessage?: number;
  autoAckOldestChunkedMessageOnQueueFull?: number;
  schema?: { schemaType: string };
  batchIndexAckEnabled?: boolean;
  regexSubscriptionMode?: 'PersistentOnly' | 'NonPersistentOnly' | 'AllTopics';
  deadLetterPolicy?: DeadLetterPolicy;
  batchReceivePolicy?: { maxNumMessages?: number; maxNumBytes?: number; timeoutMs?: number };
  keySharedPolicy?: {
    keyShareMode?: 'AutoSplit' | 'Sticky';
    allowOutOfOrderDelivery?: boolean;
    stickyRanges?: { start: number; end: number }[];
  };
  replicateSubscriptionState?: boolean;
}

export interface WebSocketReaderConfig {
  topic: string;
  /** Exclusive, as in pulsar-client: the reader starts after this message. Any MessageId with serialize(). */
  startMessageId: { serialize(): Buffer };
  /** Default and upper bound: `MAX_RECEIVER_QUEUE_SIZE` (the WebSocket service's limit). */
  receiverQueueSize?: number;
  readerName?: string;
  subscriptionRolePrefix?: string;
  readCompacted?: boolean;
  listener?: ReaderListener;
  privateKeyPath?: string;
  cryptoFailureAction?: 'FAIL' | 'DISCARD' | 'CONSUME';
}
