/**
 * JSON frames of Pulsar's WebSocket API <-> this client's values.
 *
 * Producer frame:  {payload (base64), properties, context, key, replicationClusters,
 *                   eventTime (ISO-8601), deliverAt (epoch ms), deliverAfterMs}
 * Producer ack:    {result: "ok" | "send-error:<code>", messageId, context, errorMsg}
 * Consumer frame:  {messageId, payload, properties, publishTime, eventTime, redeliveryCount, key}
 * Consumer cmds:   {messageId} (ack), {type: "negativeAcknowledge", messageId},
 *                  {type: "permit", permitMessages}, {type: "unsubscribe"}, {type: "isEndOfTopic"}
 */
import { InvalidConfigurationError } from './errors.js';
import { WebSocketMessageId } from './message-id.js';
import type { Logger } from './logger.js';
import type { ReceivedFrame } from './message.js';

/**
 * pulsar-client's ProducerMessage, as this client reads it. Declared here so
 * that the client stands alone; the middleware's `ProducerMessageLike` has the
 * same structure, and a type check keeps the two assignable to each other.
 */
export interface ProducerMessage {
  data: Buffer;
  properties?: { [key: string]: string };
  eventTimestamp?: number;
  sequenceId?: number;
  partitionKey?: string;
  orderingKey?: string;
  replicationClusters?: string[];
  deliverAfter?: number;
  deliverAt?: number;
  disableReplication?: boolean;
}

/**
 * The message key sent over WebSocket. The API carries one key, so an ordering key
 * takes its place: Key_Shared groups by the ordering key when one is set, and that
 * grouping is what a caller setting it asks for. When both are set, the ordering
 * key wins and the partition key is not transmitted.
 */
export function messageKeyOf(message: ProducerMessage): string | undefined {
  if (message.orderingKey !== undefined && message.orderingKey !== '') return message.orderingKey;
  if (message.partitionKey !== undefined && message.partitionKey !== '') return message.partitionKey;
  return undefined;
}

// Pulsar keeps replication local when the only target cluster is "__local__";
// this is what the Java client's disableReplication() writes.
const LOCAL_ONLY_REPLICATION = ['__local__'];

/**
 * The producer frame without its `context`, which is known only when the send
 * is admitted; see withContext().
 */
export function encodeProducerFrame(message: ProducerMessage): string {
  if (message === null || typeof message !== 'object' || !Buffer.isBuffer(message.data)) {
    throw new InvalidConfigurationError('send() needs a message object whose data is a Buffer');
  }
  const frame: Record<string, unknown> = { payload: message.data.toString('base64') };
  if (message.properties !== undefined) frame.properties = stringProperties(message.properties);
  const key = messageKeyOf(message);
  if (key !== undefined) frame.key = key;
  if (message.disableReplication === true) frame.replicationClusters = LOCAL_ONLY_REPLICATION;
  else if (message.replicationClusters !== undefined && message.replicationClusters.length > 0) {
    frame.replicationClusters = message.replicationClusters;
  }
  if (message.eventTimestamp !== undefined && message.eventTimestamp > 0) {
    frame.eventTime = new Date(requireTimestamp('eventTimestamp', message.eventTimestamp)).toISOString();
  }
  if (message.deliverAt !== undefined && message.deliverAt > 0) {
    frame.deliverAt = requireTimestamp('deliverAt', message.deliverAt);
  }
  if (message.deliverAfter !== undefined && message.deliverAfter > 0) {
    frame.deliverAfterMs = Math.ceil(message.deliverAfter);
  }
  return JSON.stringify(frame);
}

/** Adds the correlation id the broker echoes in its ack. `context` must be JSON-safe (digits). */
export function withContext(frame: string, context: string): string {
  return `{"context":"${context}",${frame.slice(1)}`;
}

function stringProperties(properties: { [key: string]: string }): Record<string, string> {
  for (const value of Object.values(properties)) {
    if (typeof value !== 'string') {
      throw new InvalidConfigurationError('Message properties must be strings (pulsar-client rule); convert values with String()');
    }
  }
  return properties;
}

function requireTimestamp(field: string, value: number): number {
  if (!Number.isFinite(value)) throw new InvalidConfigurationError(`${field} must be epoch milliseconds, got ${value}`);
  return Math.trunc(value);
}

export type ProducerAck =
  | { ok: true; context: string; messageId: WebSocketMessageId }
  | { ok: false; context: string | undefined; code: string; errorMessage: string };

export function decodeProducerAck(text: string): ProducerAck {
  const ack = JSON.parse(text) as { result?: string; messageId?: string; context?: string; errorMsg?: string };
  if (ack.result === 'ok' && typeof ack.messageId === 'string' && typeof ack.context === 'string') {
    return { ok: true, context: ack.context, messageId: WebSocketMessageId.fromBase64(ack.messageId) };
  }
  return {
    ok: false,
    context: ack.context,
    code: ack.result ?? 'unknown',
    errorMessage: ack.errorMsg ?? '',
  };
}

interface ConsumerFrameJson {
  messageId?: string;
  payload?: string;
  properties?: Record<string, string>;
  publishTime?: string;
  eventTime?: string;
  redeliveryCount?: number;
  key?: string;
}

export type ConsumerServerFrame =
  | { kind: 'message'; frame: ReceivedFrame }
  | { kind: 'endOfTopic'; endOfTopic: boolean }
  | { kind: 'unknown'; text: string };

export function decodeConsumerFrame(text: string): ConsumerServerFrame {
  const json = JSON.parse(text) as ConsumerFrameJson & { endOfTopic?: boolean };
  if (typeof json.messageId === 'string' && typeof json.payload === 'string') {
    return {
      kind: 'message',
      frame: {
        messageId: WebSocketMessageId.fromBase64(json.messageId),
        payloadBase64: json.payload,
        properties: json.properties ?? {},
        key: json.key ?? undefined,
        publishTimestamp: parseTimestamp(json.publishTime),
        eventTimestamp: parseTimestamp(json.eventTime),
        redeliveryCount: json.redeliveryCount ?? 0,
      },
    };
  }
  if (typeof json.endOfTopic === 'boolean') return { kind: 'endOfTopic', endOfTopic: json.endOfTopic };
  return { kind: 'unknown', text };
}

/** The broker formats times as ISO-8601 with an offset; absent means 0 (pulsar-client convention). */
function parseTimestamp(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  const millis = Date.parse(value);
  return Number.isNaN(millis) ? 0 : millis;
}

export function encodeAck(messageId: WebSocketMessageId): string {
  return `{"messageId":${JSON.stringify(messageId.toBase64())}}`;
}

export function encodeNegativeAck(messageId: WebSocketMessageId): string {
  return `{"type":"negativeAcknowledge","messageId":${JSON.stringify(messageId.toBase64())}}`;
}

export function encodePermit(permits: number): string {
  return `{"type":"permit","permitMessages":${permits}}`;
}

export const UNSUBSCRIBE_FRAME = '{"type":"unsubscribe"}';
export const END_OF_TOPIC_QUERY_FRAME = '{"type":"isEndOfTopic"}';

/**
 * Decodes a frame from the broker. A frame that does not decode is logged
 * (its first 200 characters) and yields undefined, so it never throws into
 * the socket's message handler. Role and topic come apart so that the hot
 * path builds no string.
 */
export function decodeOrLog<T>(decode: (text: string) => T, text: string, logger: Logger, role: string, topic: string): T | undefined {
  try {
    return decode(text);
  } catch {
    logger.error(`${role} ${topic}: undecodable frame from broker: ${text.slice(0, 200)}`);
    return undefined;
  }
}
