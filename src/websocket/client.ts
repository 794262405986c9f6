/**
 * WebSocketClient: pulsar-client's Client API over Pulsar's WebSocket API.
 * Each producer, consumer and reader is one WebSocket connection to the broker's
 * `/ws/v2/producer|consumer|reader/...` endpoint.
 */
import { readFileSync } from 'node:fs';
import { Connection } from './connection.js';
import type { ConnectionHandlers, TlsOptions } from './connection.js';
import type { WebSocketClientConfig, WebSocketConsumerConfig, WebSocketProducerConfig, WebSocketReaderConfig } from './config.js';
import { WebSocketConsumer } from './consumer.js';
import { ClosedError, ConnectionError, InvalidConfigurationError, NotSupportedByWebSocketError } from './errors.js';
import { createLogger, LogLevel } from './logger.js';
import type { Logger } from './logger.js';
import { WebSocketMessageId, toWebSocketMessageId } from './message-id.js';
import { WebSocketProducer } from './producer.js';
import { WebSocketReader } from './reader.js';
import { parseTopicName } from './topic.js';
import { MAX_RECEIVER_QUEUE_SIZE, MIN_ACK_TIMEOUT_MS, UNLIMITED_REDELIVERIES, WEBSOCKET_DEFAULTS } from './defaults.js';

/** The broker's ConsumerBuilder rejects smaller non-zero ack timeouts. */
// "Unlimited" redeliveries, pulsar-client's default when deadLetterPolicy has no maxRedeliverCount.

const SUBSCRIPTION_TYPES: Record<string, string> = {
  Exclusive: 'Exclusive',
  Shared: 'Shared',
  Failover: 'Failover',
  KeyShared: 'Key_Shared',
};
const ROUTING_MODES: Record<string, string> = {
  UseSinglePartition: 'SinglePartition',
  RoundRobinDistribution: 'RoundRobinPartition',
};
const HASHING_SCHEMES: Record<string, string> = { JavaStringHash: 'JavaStringHash', Murmur3_32Hash: 'Murmur3_32Hash' };
const COMPRESSION_TYPES: Record<string, string> = { None: 'NONE', Zlib: 'ZLIB', LZ4: 'LZ4', ZSTD: 'ZSTD', SNAPPY: 'SNAPPY' };

export class WebSocketClient {
  private readonly baseUrl: string;
  private readonly httpBaseUrl: string;
  private readonly config: WebSocketClientConfig;
  private readonly logger: Logger;
  private readonly maxTextFrameSize: number;
  private readonly operationTimeoutMs: number;
  private readonly tls: TlsOptions;
  private readonly producers = new Set<WebSocketProducer>();
  private readonly consumers = new Set<WebSocketConsumer>();
  private readonly readers = new Set<WebSocketReader>();
  private closed = false;

  constructor(config: WebSocketClientConfig) {
    if (config === null || typeof config !== 'object') throw new InvalidConfigurationError('WebSocketClient needs a config object');
    if (config.serviceUrlProvider !== undefined) {
      throw new NotSupportedByWebSocketError('serviceUrlProvider (cluster failover)', 'pass a single serviceUrl');
    }
    if (config.authentication !== undefined) {
      throw new NotSupportedByWebSocketError(
        'pulsar-client authentication objects',
        'pass { token } (sent as Authorization: Bearer) in the WebSocketClient config instead',
      );
    }
    this.config = config;
    ({ ws: this.baseUrl, http: this.httpBaseUrl } = normalizeServiceUrl(config.serviceUrl));
    this.logger = createLogger(config.log, config.logLevel ?? LogLevel.WARN);
    this.operationTimeoutMs =
      positiveOr(config.operationTimeoutSeconds, WEBSOCKET_DEFAULTS.operationTimeoutSeconds, 'operationTimeoutSeconds') * 1000;
    this.maxTextFrameSize = positiveOr(
      config.webSocketMaxTextFrameSize,
      WEBSOCKET_DEFAULTS.webSocketMaxTextFrameSize,
      'webSocketMaxTextFrameSize',
    );
    this.tls = {
      ...(config.tlsTrustCertsFilePath ? { ca: readFileSync(config.tlsTrustCertsFilePath) } : {}),
      ...(config.tlsCertificateFilePath ? { cert: readFileSync(config.tlsCertificateFilePath) } : {}),
      ...(config.tlsPrivateKeyFilePath ? { key: readFileSync(config.tlsPrivateKeyFilePath) } : {}),
      ...(config.tlsAllowInsecureConnection ? { rejectUnauthorized: false } : {}),
    };
  }

  /** The service URL this client was created with (instrumentation reads it for `server.address` / `server.port`). */
  get serviceUrl(): string {
    return this.config.serviceUrl;
  }

  async createProducer(config: WebSocketProducerConfig): Promise<WebSocketProducer> {
    this.assertOpen();
    const { topic, params } = producerParams(config);
    const settings = {
      topic: topic.full,
      maxTextFrameSize: this.maxTextFrameSize,
      producerName: config.producerName ?? '',
      sendTimeoutMs: nonNegativeOr(config.sendTimeoutMs, WEBSOCKET_DEFAULTS.sendTimeoutMs, 'sendTimeoutMs'),
      maxPendingMessages: positiveOr(config.maxPendingMessages, WEBSOCKET_DEFAULTS.maxPendingMessages, 'maxPendingMessages'),
      blockIfQueueFull: config.blockIfQueueFull ?? false,
      closeTimeoutMs: this.operationTimeoutMs,
    };
    const producer = new WebSocketProducer(settings, this.logger, (p) => this.producers.delete(p));
    const connection = this.connection(`producer/${topic.path}`, params, `producer ${topic.full}`, {
      onOpen: (reopened) => producer.handleOpen(reopened),
      onMessage: (text) => producer.handleMessage(text),
      onDisconnect: (_reason, closeCode, closeReason) => producer.handleDisconnect(closeCode, closeReason),
    });
    return openTracked(producer, connection, this.producers);
  }

  async subscribe(config: WebSocketConsumerConfig): Promise<WebSocketConsumer> {
    this.assertOpen();
    const { topic, params, receiverQueueSize } = consumerParams(config);
    const subscriptionPath = encodeURIComponent(config.subscription);
    const batchPolicy = config.batchReceivePolicy ?? {};
    const consumer = new WebSocketConsumer(
      {
        topic: topic.full,
        subscription: config.subscription,
        receiverQueueSize,
        listener: config.listener,
        operationTimeoutMs: this.operationTimeoutMs,
        batchReceive: {
          maxNumMessages:
            batchPolicy.maxNumMessages !== undefined && batchPolicy.maxNumMessages > 0 ? batchPolicy.maxNumMessages : receiverQueueSize,
          timeoutMs: batchPolicy.timeoutMs ?? WEBSOCKET_DEFAULTS.batchReceiveTimeoutMs,
        },
      },
      this.logger,
      (c) => this.consumers.delete(c),
    );
    const connection = this.connection(
      `consumer/${topic.path}/${subscriptionPath}`,
      params,
      `consumer ${topic.full} subscription ${config.subscription}`,
      {
        onOpen: () => consumer.handleOpen(),
        onMessage: (text) => consumer.handleMessage(text),
        onDisconnect: (reason) => consumer.handleDisconnect(reason),
      },
    );
    return openTracked(consumer, connection, this.consumers);
  }

  async createReader(config: WebSocketReaderConfig): Promise<WebSocketReader> {
    this.assertOpen();
    if (config === null || typeof config !== 'object') throw new InvalidConfigurationError('createReader needs a config object');
    rejectIfSet(config, {
      subscriptionRolePrefix: 'subscriptionRolePrefix',
      readCompacted: 'readCompacted',
      privateKeyPath: 'end-to-end encryption',
    });
    if (config.startMessageId === undefined) {
      throw new InvalidConfigurationError('createReader needs startMessageId, e.g. MessageId.earliest() or WebSocketMessageId.earliest()');
    }
    const topic = parseTopicName(config.topic);
    const reader = new WebSocketReader(
      { topic: topic.full, listener: config.listener, startPosition: startPositionOf(toWebSocketMessageId(config.startMessageId)) },
      this.logger,
      (r) => this.readers.delete(r),
    );
    const params = new URLSearchParams();
    params.set(
      'receiverQueueSize',
      String(Math.min(positiveOr(config.receiverQueueSize, MAX_RECEIVER_QUEUE_SIZE, 'receiverQueueSize'), MAX_RECEIVER_QUEUE_SIZE)),
    );
    if (config.readerName) params.set('readerName', config.readerName);
    const base = `reader/${topic.path}`;
    const connection = this.connection(
      base,
      params,
      `reader ${topic.full}`,
      {
        onOpen: () => undefined,
        onMessage: (text) => reader.handleMessage(text),
        onDisconnect: () => reader.handleDisconnect(),
      },
      () => {
        params.set('messageId', reader.startPosition());
        return `${this.baseUrl}/ws/v2/${base}?${params.toString()}`;
      },
    );
    return openTracked(reader, connection, this.readers);
  }

  /** Partition topic names via the admin REST API (the topic itself when not partitioned). */
  async getPartitionsForTopic(topicName: string): Promise<string[]> {
    this.assertOpen();
    const topic = parseTopicName(topicName);
    const url = `${this.httpBaseUrl}/admin/v2/${topic.path}/partitions`;
    const response = await fetch(url, {
      headers: await this.headers(),
      signal: AbortSignal.timeout(this.operationTimeoutMs),
    });
    if (!response.ok) {
      throw new ConnectionError(
        url,
        `Partition lookup for ${topic.full} failed with HTTP ${response.status}: ${await response.text()}`,
        response.status,
      );
    }
    const { partitions } = (await response.json()) as { partitions?: number };
    if (!partitions) return [topic.full];
    return Array.from({ length: partitions }, (_, i) => `${topic.full}-partition-${i}`);
  }

  /** Closes every producer (after their pending sends, bounded) and consumer. */
  async close(): Promise<null> {
    if (this.closed) return null;
    this.closed = true;
    await Promise.all([...this.producers].map((p) => p.close()));
    await Promise.all([...this.consumers].map((c) => c.close()));
    await Promise.all([...this.readers].map((r) => r.close()));
    return null;
  }

  private connection(
    endpoint: string,
    params: URLSearchParams,
    description: string,
    handlers: ConnectionHandlers,
    resolveUrl?: () => string,
  ): Connection {
    const query = params.toString();
    const config = this.config;
    return new Connection(
      {
        url: `${this.baseUrl}/ws/v2/${endpoint}${query ? `?${query}` : ''}`,
        ...(resolveUrl ? { resolveUrl } : {}),
        headers: () => this.headers(),
        operationTimeoutMs: this.operationTimeoutMs,
        connectionTimeoutMs: positiveOr(config.connectionTimeoutMs, WEBSOCKET_DEFAULTS.connectionTimeoutMs, 'connectionTimeoutMs'),
        initialBackoffMs: positiveOr(config.initialBackoffMs, WEBSOCKET_DEFAULTS.initialBackoffMs, 'initialBackoffMs'),
        maxBackoffMs: positiveOr(config.maxBackoffMs, WEBSOCKET_DEFAULTS.maxBackoffMs, 'maxBackoffMs'),
        keepAliveIntervalMs: nonNegativeOr(config.keepAliveIntervalMs, WEBSOCKET_DEFAULTS.keepAliveIntervalMs, 'keepAliveIntervalMs'),
        logger: this.logger,
        description,
        tls: this.tls,
      },
      handlers,
    );
  }

  private async headers(): Promise<Record<string, string>> {
    const token = this.config.token;
    if (token === undefined) return {};
    const value = typeof token === 'function' ? await token() : token;
    return value ? { Authorization: `Bearer ${value}` } : {};
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('WebSocketClient');
  }
}

/**
 * Attaches the connection and opens it. The endpoint is tracked while
 * connecting too, so that client.close() also stops a first connect that is
 * retrying; a connect that fails for good leaves nothing tracked.
 */
async function openTracked<E extends { attach(connection: Connection): void }>(
  endpoint: E,
  connection: Connection,
  tracked: Set<E>,
): Promise<E> {
  endpoint.attach(connection);
  tracked.add(endpoint);
  try {
    await connection.open();
  } catch (error) {
    tracked.delete(endpoint);
    throw error;
  }
  return endpoint;
}

function normalizeServiceUrl(serviceUrl: string): { ws: string; http: string } {
  if (typeof serviceUrl !== 'string' || serviceUrl === '') {
    throw new InvalidConfigurationError('serviceUrl is required, e.g. "http://localhost:8080"');
  }
  let url: URL;
  try {
    url = new URL(serviceUrl);
  } catch {
    throw new InvalidConfigurationError(`serviceUrl "${serviceUrl}" is not a URL; expected e.g. "http://localhost:8080"`);
  }
  const schemes: Record<string, [string, string]> = {
    'http:': ['ws:', 'http:'],
    'ws:': ['ws:', 'http:'],
    'https:': ['wss:', 'https:'],
    'wss:': ['wss:', 'https:'],
  };
  const mapped = schemes[url.protocol];
  if (mapped === undefined) {
    throw new InvalidConfigurationError(
      `serviceUrl "${serviceUrl}": the WebSocket API is served on the broker's HTTP port; ` +
        'use http(s)://host:8080 (not the binary pulsar:// URL on port 6650)',
    );
  }
  const rest = `//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  return { ws: `${mapped[0]}${rest}`, http: `${mapped[1]}${rest}` };
}

/** The reader endpoint's `messageId` parameter. */
function startPositionOf(id: WebSocketMessageId): string {
  if (id.equals(WebSocketMessageId.earliest())) return 'earliest';
  if (id.equals(WebSocketMessageId.latest())) return 'latest';
  return id.toBase64();
}

function producerParams(config: WebSocketProducerConfig): { topic: ReturnType<typeof parseTopicName>; params: URLSearchParams } {
  if (config === null || typeof config !== 'object') throw new InvalidConfigurationError('createProducer needs a config object');
  rejectIfSet(config, {
    publicKeyPath: 'end-to-end encryption',
    encryptionKey: 'end-to-end encryption',
    encryptionKeys: 'end-to-end encryption (the WebSocket service supports it only with its own key reader)',
    cryptoKeyReader: 'end-to-end encryption',
    chunkingEnabled: 'chunking',
    messageRouter: 'a custom message router',
    properties: 'producer properties',
  });
  if (config.schema !== undefined && config.schema.schemaType !== 'Bytes' && config.schema.schemaType !== 'None') {
    throw new NotSupportedByWebSocketError(
      `schema ${config.schema.schemaType}`,
      'the WebSocket API sends raw bytes; encode the payload yourself',
    );
  }
  if (config.accessMode !== undefined && config.accessMode !== 'Shared') {
    throw new NotSupportedByWebSocketError(`producer accessMode ${config.accessMode}`);
  }
  // Without batching no batch mixes keys, which is what key-based batching asks for: a pulsar-client config for Key_Shared works as it is.
  if (config.batchingType === 'KeyBasedBatching' && config.batchingEnabled === true) {
    throw new NotSupportedByWebSocketError(
      'KeyBasedBatching with batchingEnabled',
      'leave batching off (the default): no batch then mixes keys',
    );
  }
  if (config.messageRoutingMode === 'CustomPartition') throw new NotSupportedByWebSocketError('messageRoutingMode CustomPartition');
  if (config.hashingScheme === 'BoostHash')
    throw new NotSupportedByWebSocketError('hashingScheme BoostHash', 'use Murmur3_32Hash or JavaStringHash');
  const topic = parseTopicName(config.topic);
  const params = new URLSearchParams();
  if (config.producerName) params.set('producerName', config.producerName);
  if (config.initialSequenceId !== undefined) params.set('initialSequenceId', String(config.initialSequenceId));
  if (config.sendTimeoutMs !== undefined) params.set('sendTimeoutMillis', String(config.sendTimeoutMs));
  params.set('batchingEnabled', String(config.batchingEnabled ?? false));
  if (config.batchingMaxMessages !== undefined) params.set('batchingMaxMessages', String(config.batchingMaxMessages));
  if (config.batchingMaxPublishDelayMs !== undefined) params.set('batchingMaxPublishDelay', String(config.batchingMaxPublishDelayMs));
  if (config.maxPendingMessages !== undefined) params.set('maxPendingMessages', String(config.maxPendingMessages));
  if (config.messageRoutingMode !== undefined) params.set('messageRoutingMode', ROUTING_MODES[config.messageRoutingMode]!);
  if (config.hashingScheme !== undefined) params.set('hashingScheme', HASHING_SCHEMES[config.hashingScheme]!);
  if (config.compressionType !== undefined) {
    const compression = COMPRESSION_TYPES[config.compressionType];
    if (compression === undefined) throw new InvalidConfigurationError(`Unknown compressionType ${config.compressionType}`);
    params.set('compressionType', compression);
  }
  return { topic, params };
}

function consumerParams(config: WebSocketConsumerConfig): {
  topic: ReturnType<typeof parseTopicName>;
  params: URLSearchParams;
  receiverQueueSize: number;
} {
  if (config === null || typeof config !== 'object') throw new InvalidConfigurationError('subscribe needs a config object');
  rejectIfSet(config, {
    topics: 'subscribing to several topics in one consumer',
    topicsPattern: 'topicsPattern subscriptions',
    properties: 'consumer properties',
    readCompacted: 'readCompacted',
    privateKeyPath: 'end-to-end encryption',
    cryptoKeyReader: 'end-to-end encryption',
    regexSubscriptionMode: 'regexSubscriptionMode',
    replicateSubscriptionState: 'replicated subscriptions',
  });
  if (config.topic === undefined) throw new InvalidConfigurationError('subscribe needs a topic');
  if (typeof config.subscription !== 'string' || config.subscription === '') {
    throw new InvalidConfigurationError('subscribe needs a subscription name');
  }
  if (config.schema !== undefined && config.schema.schemaType !== 'Bytes' && config.schema.schemaType !== 'None') {
    throw new NotSupportedByWebSocketError(
      `schema ${config.schema.schemaType}`,
      'the WebSocket API delivers raw bytes; decode the payload yourself',
    );
  }
  const keyShared = config.keySharedPolicy;
  if (keyShared !== undefined) {
    if (keyShared.keyShareMode === 'Sticky' || (keyShared.stickyRanges !== undefined && keyShared.stickyRanges.length > 0)) {
      throw new NotSupportedByWebSocketError('Key_Shared sticky ranges', 'the WebSocket service always uses AUTO_SPLIT mode');
    }
    if (keyShared.allowOutOfOrderDelivery === true) {
      throw new NotSupportedByWebSocketError('Key_Shared allowOutOfOrderDelivery');
    }
  }
  if (config.deadLetterPolicy?.initialSubscriptionName !== undefined) {
    throw new NotSupportedByWebSocketError(
      'deadLetterPolicy.initialSubscriptionName',
      'create the subscription on the dead-letter topic yourself',
    );
  }
  const subscriptionType = SUBSCRIPTION_TYPES[config.subscriptionType ?? 'Exclusive'];
  if (subscriptionType === undefined) {
    throw new InvalidConfigurationError(
      `Unknown subscriptionType ${config.subscriptionType}; use Exclusive, Shared, Failover or KeyShared`,
    );
  }
  const requested = positiveOr(config.receiverQueueSize, MAX_RECEIVER_QUEUE_SIZE, 'receiverQueueSize');
  const receiverQueueSize = Math.min(requested, MAX_RECEIVER_QUEUE_SIZE);
  const ackTimeoutMs = nonNegativeOr(config.ackTimeoutMs, 0, 'ackTimeoutMs');
  if (ackTimeoutMs > 0 && ackTimeoutMs < MIN_ACK_TIMEOUT_MS) {
    throw new InvalidConfigurationError(`ackTimeoutMs must be 0 (off) or at least ${MIN_ACK_TIMEOUT_MS}, got ${ackTimeoutMs}`);
  }
  const topic = parseTopicName(config.topic);
  const params = new URLSearchParams();
  params.set('subscriptionType', subscriptionType);
  params.set('receiverQueueSize', String(receiverQueueSize));
  params.set('pullMode', 'true');
  if (config.subscriptionInitialPosition !== undefined) {
    if (config.subscriptionInitialPosition !== 'Latest' && config.subscriptionInitialPosition !== 'Earliest') {
      throw new InvalidConfigurationError(
        `Unknown subscriptionInitialPosition ${config.subscriptionInitialPosition}; use Latest or Earliest`,
      );
    }
    params.set('subscriptionInitialPosition', config.subscriptionInitialPosition);
  }
  if (ackTimeoutMs > 0) params.set('ackTimeoutMillis', String(ackTimeoutMs));
  if (config.nAckRedeliverTimeoutMs !== undefined) {
    params.set('negativeAckRedeliveryDelay', String(nonNegativeOr(config.nAckRedeliverTimeoutMs, 0, 'nAckRedeliverTimeoutMs')));
  }
  if (config.consumerName) params.set('consumerName', config.consumerName);
  if (config.deadLetterPolicy !== undefined) {
    const { deadLetterTopic, maxRedeliverCount } = config.deadLetterPolicy;
    if (!deadLetterTopic) throw new InvalidConfigurationError('deadLetterPolicy.deadLetterTopic is required');
    params.set('deadLetterTopic', parseTopicName(deadLetterTopic).full);
    params.set('maxRedeliverCount', String(positiveOr(maxRedeliverCount, UNLIMITED_REDELIVERIES, 'deadLetterPolicy.maxRedeliverCount')));
  }
  return { topic, params, receiverQueueSize };
}

function rejectIfSet(config: object, features: Record<string, string>): void {
  for (const [option, feature] of Object.entries(features)) {
    const value = (config as Record<string, unknown>)[option];
    const isSet = Array.isArray(value)
      ? value.length > 0
      : typeof value === 'object' && value !== null
        ? Object.keys(value).length > 0
        : value !== undefined && value !== false && value !== null;
    if (isSet) throw new NotSupportedByWebSocketError(`${feature} (option "${option}")`);
  }
}

function positiveOr(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new InvalidConfigurationError(`${name} must be a positive number, got ${value}`);
  return value;
}

function nonNegativeOr(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new InvalidConfigurationError(`${name} must be zero or positive, got ${value}`);
  return value;
}
