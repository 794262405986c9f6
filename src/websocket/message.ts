import type { WebSocketMessageId } from './message-id.js';

/** What the codec extracts from a consumer frame; payload stays base64 until asked for. */
export interface ReceivedFrame {
  messageId: WebSocketMessageId;
  payloadBase64: string;
  properties: Record<string, string>;
  key: string | undefined;
  publishTimestamp: number;
  eventTimestamp: number;
  redeliveryCount: number;
}

/**
 * A received message with pulsar-client's `Message` methods.
 *
 * The WebSocket API carries one key per message. It is returned by
 * `getPartitionKey()`; `getOrderingKey()` returns '' because no ordering key
 * travels over WebSocket (a producer of this client sends its orderingKey as
 * the message key, see producer.ts).
 */
export class WebSocketMessage {
  private data: Buffer | undefined;
  private readonly frame: ReceivedFrame;
  private readonly topicName: string;

  constructor(frame: ReceivedFrame, topic: string) {
    this.frame = frame;
    this.topicName = topic;
  }

  /** The partition's topic name (`...-partition-N`) for partitioned topics, like pulsar-client. */
  getTopicName(): string {
    const partition = this.frame.messageId.partition;
    return partition >= 0 ? `${this.topicName}-partition-${partition}` : this.topicName;
  }

  getProperties(): { [key: string]: string } {
    return this.frame.properties;
  }

  getData(): Buffer {
    this.data ??= Buffer.from(this.frame.payloadBase64, 'base64');
    return this.data;
  }

  getMessageId(): WebSocketMessageId {
    return this.frame.messageId;
  }

  getPublishTimestamp(): number {
    return this.frame.publishTimestamp;
  }

  /** 0 when the producer set no event time (pulsar-client convention). */
  getEventTimestamp(): number {
    return this.frame.eventTimestamp;
  }

  getRedeliveryCount(): number {
    return this.frame.redeliveryCount;
  }

  getPartitionKey(): string {
    return this.frame.key ?? '';
  }

  getOrderingKey(): string {
    return '';
  }

  /** Not carried by the WebSocket API. */
  getProducerName(): string {
    return '';
  }

  isReplicated(): boolean {
    return false;
  }

  getReplicatedFrom(): string {
    return '';
  }

  getEncryptionContext(): null {
    return null;
  }
}
