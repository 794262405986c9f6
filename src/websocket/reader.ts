/**
 * A pulsar-client-compatible Reader over `/ws/v2/reader/...`.
 *
 * The reader endpoint pushes up to `receiverQueueSize` messages and sends more
 * as the client acknowledges (no broker-side ack: a reader has no durable
 * cursor). This reader acknowledges a message when the application takes it.
 *
 * Reconnect: buffered messages are dropped and the reader reopens right after
 * the last message the application took, so it neither skips nor repeats
 * messages across a broker restart.
 *
 * `hasNext()` cannot be answered over WebSocket (it is synchronous in
 * pulsar-client and asks the broker); it throws NotSupportedByWebSocketError.
 * Use `readNext(timeout)` and treat ReceiveTimeoutError as "caught up".
 */
import type { Connection } from './connection.js';
import { decodeConsumerFrame, decodeOrLog, encodeAck } from './codec.js';
import { ClosedError, InvalidConfigurationError, NotSupportedByWebSocketError } from './errors.js';
import { Inbox, listenerThrewMessage } from './inbox.js';
import type { Logger } from './logger.js';
import { WebSocketMessage } from './message.js';
import type { WebSocketMessageId } from './message-id.js';

export type ReaderListener = (message: WebSocketMessage, reader: WebSocketReader) => void | Promise<void>;

export interface ReaderSettings {
  topic: string;
  listener: ReaderListener | undefined;
  /** `earliest`, `latest` or a base64 message id: where the first connection starts. */
  startPosition: string;
}

export class WebSocketReader {
  private readonly settings: ReaderSettings;
  private readonly logger: Logger;
  private readonly inbox: Inbox<WebSocketMessage>;
  private readonly onClosed: (reader: WebSocketReader) => void;
  private connection!: Connection;
  private lastTaken: WebSocketMessageId | undefined;
  private closed = false;

  /** @internal created by WebSocketClient.createReader */
  constructor(settings: ReaderSettings, logger: Logger, onClosed: (reader: WebSocketReader) => void) {
    this.settings = settings;
    this.logger = logger;
    this.onClosed = onClosed;
    const listener = settings.listener;
    this.inbox = new Inbox<WebSocketMessage>({
      listener: listener === undefined ? undefined : (message) => listener(message, this),
      onTaken: (message) => {
        this.lastTaken = message.getMessageId();
        // Frees one slot of the endpoint's push window.
        this.connection.send(encodeAck(message.getMessageId()));
      },
      onListenerError: (message, error) =>
        this.logger.error(listenerThrewMessage(`reader ${settings.topic}`, message.getMessageId(), error)),
    });
  }

  /** @internal */
  attach(connection: Connection): void {
    this.connection = connection;
  }

  /** @internal where the next connection starts: after the last message taken, else the configured start. */
  startPosition(): string {
    return this.lastTaken?.toBase64() ?? this.settings.startPosition;
  }

  /** @internal */
  handleMessage(text: string): void {
    const decoded = decodeOrLog(decodeConsumerFrame, text, this.logger, 'reader', this.settings.topic);
    if (decoded === undefined) return;
    if (decoded.kind === 'message') this.inbox.push(new WebSocketMessage(decoded.frame, this.settings.topic));
  }

  /** @internal the next connection resumes after the last taken message; the buffer would repeat it. */
  handleDisconnect(): void {
    this.inbox.clear();
  }

  readNext(timeout?: number): Promise<WebSocketMessage> {
    if (this.closed) return Promise.reject(new ClosedError(`Reader for ${this.settings.topic}`));
    if (this.settings.listener !== undefined) {
      return Promise.reject(new InvalidConfigurationError('readNext() cannot be used on a reader created with a listener'));
    }
    return this.inbox.receive(timeout);
  }

  hasNext(): boolean {
    throw new NotSupportedByWebSocketError(
      'Reader.hasNext()',
      'the WebSocket API cannot tell whether more messages exist; call readNext(timeout) and treat ReceiveTimeoutError as caught up',
    );
  }

  isConnected(): boolean {
    return !this.closed && this.connection.isConnected();
  }

  seek(_messageId: WebSocketMessageId): Promise<null> {
    return Promise.reject(new NotSupportedByWebSocketError('Reader.seek()', 'close the reader and create a new one at startMessageId'));
  }

  seekTimestamp(_timestamp: number): Promise<null> {
    return Promise.reject(new NotSupportedByWebSocketError('Reader.seekTimestamp()', 'close the reader and create a new one'));
  }

  async close(): Promise<null> {
    if (this.closed) return null;
    this.closed = true;
    this.inbox.close(new ClosedError(`Reader for ${this.settings.topic}`));
    await this.connection.close();
    this.onClosed(this);
    return null;
  }
}
