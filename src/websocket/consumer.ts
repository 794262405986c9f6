/**
 * A pulsar-client-compatible Consumer over `/ws/v2/consumer/...`.
 *
 * Flow control uses the API's pull mode: the consumer grants the broker
 * `permit`s for at most `receiverQueueSize` messages (capped at 1000 by the
 * WebSocket service) that are in transit or buffered here, and grants more as
 * the application takes messages. Acknowledgements do not gate delivery, as in
 * pulsar-client.
 *
 * Listener: messages are handed to `listener(message, consumer)` one at a time,
 * in arrival order; a returned promise is awaited before the next message.
 * Errors thrown by the listener are logged, never rethrown.
 *
 * Reconnect: when the connection drops, messages buffered here but not yet
 * handed to the application are discarded — they are unacknowledged, so the
 * broker redelivers them (to this consumer after it reconnects, or to another
 * one), which keeps per-key order like pulsar-client's receiver-queue reset.
 * Messages already handed out may be delivered again: delivery is at-least-once
 * across reconnects. Acks and nacks issued while disconnected are buffered
 * (bounded) and sent after the reconnect.
 *
 * Acks are fire-and-forget in the WebSocket API (no broker reply), so
 * acknowledge() resolves once the ack is handed to the socket or buffered.
 */
import { ClosedError, ConnectionError, InvalidConfigurationError, NotSupportedByWebSocketError, UnsubscribeError } from './errors.js';
import type { Connection } from './connection.js';
import {
  decodeConsumerFrame,
  decodeOrLog,
  encodeAck,
  encodeNegativeAck,
  encodePermit,
  END_OF_TOPIC_QUERY_FRAME,
  UNSUBSCRIBE_FRAME,
} from './codec.js';
import { Inbox, listenerThrewMessage } from './inbox.js';
import type { Logger } from './logger.js';
import { WebSocketMessage } from './message.js';
import { toWebSocketMessageId } from './message-id.js';
import type { WebSocketMessageId } from './message-id.js';

export type MessageListener = (message: WebSocketMessage, consumer: WebSocketConsumer) => void | Promise<void>;

export interface ConsumerSettings {
  topic: string;
  subscription: string;
  receiverQueueSize: number;
  listener: MessageListener | undefined;
  operationTimeoutMs: number;
  batchReceive: { maxNumMessages: number; timeoutMs: number };
}

/** Acks/nacks written while disconnected, sent after the reconnect; beyond this the broker's redelivery covers them. */
const MAX_BUFFERED_COMMANDS = 10_000;

interface UnsubscribeRequest {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class WebSocketConsumer {
  private readonly settings: ConsumerSettings;
  private readonly logger: Logger;
  private connection!: Connection;
  private readonly onClosed: (consumer: WebSocketConsumer) => void;
  private readonly inbox: Inbox<WebSocketMessage>;
  private outstandingPermits = 0;
  private takenSinceLastPermit = 0;
  private bufferedCommands: string[] = [];
  private droppedCommands = 0;
  private closed = false;
  private unsubscribeRequest: UnsubscribeRequest | undefined;
  private readonly connectionLostListeners = new Set<(reason: Error) => void>();

  /** @internal created by WebSocketClient.subscribe */
  constructor(settings: ConsumerSettings, logger: Logger, onClosed: (consumer: WebSocketConsumer) => void) {
    this.settings = settings;
    this.logger = logger;
    this.onClosed = onClosed;
    const listener = settings.listener;
    this.inbox = new Inbox<WebSocketMessage>({
      listener: listener === undefined ? undefined : (message) => listener(message, this),
      onTaken: () => this.noteTaken(),
      onListenerError: (message, error) =>
        this.logger.error(
          `${listenerThrewMessage(`consumer ${this.settings.topic}`, message.getMessageId(), error)}. ` +
            'The message stays unacknowledged unless the listener acked it.',
        ),
    });
  }

  /** @internal */
  attach(connection: Connection): void {
    this.connection = connection;
  }

  /** @internal new socket: send buffered acks, then grant a full receiver queue of permits. */
  handleOpen(): void {
    if (this.bufferedCommands.length > 0) {
      const commands = this.bufferedCommands;
      this.bufferedCommands = [];
      for (const command of commands) this.connection.send(command);
    }
    if (this.droppedCommands > 0) {
      this.logger.warn(
        `consumer ${this.settings.topic}/${this.settings.subscription}: ${this.droppedCommands} acks/nacks issued while disconnected ` +
          'exceeded the buffer; the broker redelivers those messages',
      );
      this.droppedCommands = 0;
    }
    this.outstandingPermits = 0;
    this.takenSinceLastPermit = 0;
    this.grantPermits(this.settings.receiverQueueSize - this.inbox.size);
  }

  /** @internal */
  handleMessage(text: string): void {
    const decoded = decodeOrLog(decodeConsumerFrame, text, this.logger, 'consumer', this.settings.topic);
    if (decoded === undefined) return;
    if (decoded.kind === 'message') {
      this.outstandingPermits = Math.max(0, this.outstandingPermits - 1);
      this.inbox.push(new WebSocketMessage(decoded.frame, this.settings.topic));
    } else if (decoded.kind === 'endOfTopic') {
      const request = this.unsubscribeRequest;
      this.unsubscribeRequest = undefined;
      request?.resolve();
    } else {
      this.logger.debug(`consumer ${this.settings.topic}: ignored frame ${text.slice(0, 200)}`);
    }
  }

  /** @internal unhanded messages will be redelivered by the broker; drop them to keep per-key order. */
  handleDisconnect(reason: Error): void {
    const discarded = this.inbox.clear();
    this.outstandingPermits = 0;
    if (discarded > 0) {
      this.logger.info(
        `consumer ${this.settings.topic}: discarded ${discarded} buffered messages on disconnect; the broker redelivers them`,
      );
    }
    const request = this.unsubscribeRequest;
    this.unsubscribeRequest = undefined;
    request?.reject(
      new UnsubscribeError(
        `Unsubscribe from ${this.settings.subscription} failed: the broker closed the session (${reason.message}). ` +
          'Other consumers may still be connected to the subscription.',
        { cause: reason },
      ),
    );
    for (const listener of [...this.connectionLostListeners]) {
      try {
        listener(reason);
      } catch (error) {
        this.logger.error(
          `consumer ${this.settings.topic}: a connection-lost listener threw: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  }

  /**
   * Calls `listener` each time the connection to the broker drops (not on
   * close()). Everything handed out and not yet acknowledged then comes again
   * after the reconnect, with redelivery count 0, or goes to another consumer.
   * Returns a function that stops the calls.
   */
  onConnectionLost(listener: (reason: Error) => void): () => void {
    this.connectionLostListeners.add(listener);
    return () => {
      this.connectionLostListeners.delete(listener);
    };
  }

  receive(timeout?: number): Promise<WebSocketMessage> {
    if (this.closed) return Promise.reject(new ClosedError(`Consumer for ${this.settings.topic}`));
    if (this.settings.listener !== undefined) {
      return Promise.reject(new InvalidConfigurationError('receive() cannot be used on a consumer created with a listener'));
    }
    return this.inbox.receive(timeout);
  }

  /**
   * Waits up to `batchReceivePolicy.timeoutMs` (default 100) for
   * `maxNumMessages` messages and returns what arrived (possibly none).
   */
  async batchReceive(): Promise<WebSocketMessage[]> {
    if (this.closed) throw new ClosedError(`Consumer for ${this.settings.topic}`);
    if (this.settings.listener !== undefined) {
      throw new InvalidConfigurationError('batchReceive() cannot be used on a consumer created with a listener');
    }
    const { maxNumMessages, timeoutMs } = this.settings.batchReceive;
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.size < maxNumMessages && Date.now() < deadline && !this.closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(5, deadline - Date.now()));
        timer.unref();
      });
    }
    const batch: WebSocketMessage[] = [];
    while (batch.length < maxNumMessages) {
      const message = this.inbox.take();
      if (message === undefined) break;
      batch.push(message);
    }
    return batch;
  }

  acknowledge(message: WebSocketMessage): Promise<null> {
    return this.acknowledgeId(message.getMessageId());
  }

  acknowledgeId(messageId: { serialize(): Buffer }): Promise<null> {
    if (this.closed) return Promise.reject(new ClosedError(`Consumer for ${this.settings.topic}`));
    try {
      this.command(encodeAck(toWebSocketMessageId(messageId)));
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve(null);
  }

  /** Synchronous like pulsar-client; redelivery follows after `nAckRedeliverTimeoutMs`. */
  negativeAcknowledge(message: WebSocketMessage): void {
    this.negativeAcknowledgeId(message.getMessageId());
  }

  negativeAcknowledgeId(messageId: { serialize(): Buffer }): void {
    if (this.closed) {
      this.logger.debug(`consumer ${this.settings.topic}: nack after close ignored; the broker redelivers unacked messages`);
      return;
    }
    this.command(encodeNegativeAck(toWebSocketMessageId(messageId)));
  }

  acknowledgeCumulative(_message: WebSocketMessage): Promise<null> {
    return Promise.reject(cumulativeAckNotSupported());
  }

  acknowledgeCumulativeId(_messageId: WebSocketMessageId): Promise<null> {
    return Promise.reject(cumulativeAckNotSupported());
  }

  seek(_messageId: WebSocketMessageId): Promise<null> {
    return Promise.reject(seekNotSupported('seek()'));
  }

  seekTimestamp(_timestamp: number): Promise<null> {
    return Promise.reject(seekNotSupported('seekTimestamp()'));
  }

  isConnected(): boolean {
    return !this.closed && this.connection.isConnected();
  }

  /**
   * Removes the subscription. The broker refuses while other consumers are
   * connected to it; then this rejects with UnsubscribeError and the consumer
   * keeps consuming (it reconnects).
   */
  async unsubscribe(): Promise<null> {
    if (this.closed) throw new ClosedError(`Consumer for ${this.settings.topic}`);
    if (this.unsubscribeRequest !== undefined) throw new UnsubscribeError('unsubscribe() is already in progress');
    if (!this.connection.isConnected()) {
      throw new ConnectionError(
        '',
        `Cannot unsubscribe ${this.settings.subscription} while disconnected; retry when isConnected() is true`,
      );
    }
    // The API does not answer "unsubscribe"; the broker handles frames of a session
    // in order, so the answer to the next query proves the unsubscribe went through,
    // and a failed unsubscribe closes the session first.
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.unsubscribeRequest = undefined;
        reject(new UnsubscribeError(`No answer to unsubscribe within ${this.settings.operationTimeoutMs} ms`));
      }, this.settings.operationTimeoutMs);
      timer.unref();
      this.unsubscribeRequest = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
    this.connection.send(UNSUBSCRIBE_FRAME);
    this.connection.send(END_OF_TOPIC_QUERY_FRAME);
    await done;
    await this.close();
    return null;
  }

  /** Closes the consumer; its unacknowledged messages are redelivered by the broker. */
  async close(): Promise<null> {
    if (this.closed) return null;
    this.closed = true;
    this.connectionLostListeners.clear();
    this.inbox.close(new ClosedError(`Consumer for ${this.settings.topic}`));
    await this.connection.close();
    this.onClosed(this);
    return null;
  }

  private command(frame: string): void {
    if (this.connection.send(frame)) return;
    if (this.bufferedCommands.length < MAX_BUFFERED_COMMANDS) this.bufferedCommands.push(frame);
    else this.droppedCommands++;
  }

  // Re-grant permits in batches of half the queue, like pulsar-client's flow commands.
  private noteTaken(): void {
    this.takenSinceLastPermit++;
    const threshold = Math.max(1, Math.floor(this.settings.receiverQueueSize / 2));
    if (this.takenSinceLastPermit >= threshold) {
      const room = this.settings.receiverQueueSize - this.inbox.size - this.outstandingPermits;
      this.takenSinceLastPermit = 0;
      this.grantPermits(room);
    }
  }

  private grantPermits(count: number): void {
    if (count <= 0 || this.closed) return;
    if (this.connection.send(encodePermit(count))) this.outstandingPermits += count;
  }
}

function cumulativeAckNotSupported(): NotSupportedByWebSocketError {
  return new NotSupportedByWebSocketError('Cumulative acknowledgement', 'acknowledge each message with acknowledge()/acknowledgeId()');
}

function seekNotSupported(method: string): NotSupportedByWebSocketError {
  return new NotSupportedByWebSocketError(
    `Consumer.${method}`,
    'reset the subscription with the admin REST API (POST .../subscription/{name}/resetcursor) instead',
  );
}
