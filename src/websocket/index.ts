export { WebSocketClient } from './client.js';
export { WEBSOCKET_DEFAULTS, MAX_RECEIVER_QUEUE_SIZE } from './defaults.js';
export { WebSocketProducer } from './producer.js';
export { WebSocketConsumer } from './consumer.js';
export type { MessageListener } from './consumer.js';
export { WebSocketReader } from './reader.js';
export type { ReaderListener } from './reader.js';
export { WebSocketMessage } from './message.js';
export { WebSocketMessageId } from './message-id.js';
export { LogLevel } from './logger.js';
export type { LogHandler } from './logger.js';
export type { ProducerMessage } from './codec.js';
export type {
  WebSocketClientConfig,
  WebSocketProducerConfig,
  WebSocketConsumerConfig,
  WebSocketReaderConfig,
  DeadLetterPolicy,
  SubscriptionType,
  InitialPosition,
  CompressionType,
  HashingScheme,
  MessageRoutingMode,
} from './config.js';
export { KeyscopeError } from '../errors.js';
export {
  WebSocketClientError,
  NotSupportedByWebSocketError,
  InvalidConfigurationError,
  ConnectionError,
  SendTimeoutError,
  MessageTooLargeError,
  ProducerQueueFullError,
  ProducerSendError,
  ReceiveTimeoutError,
  ClosedError,
  UnsubscribeError,
} from './errors.js';
