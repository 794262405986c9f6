/**
 * Typed errors of the WebSocket client. Every message says what happened and
 * what the caller can do about it; `retriable` says whether trying again
 * unchanged can help. They share the package's error root, `KeyscopeError`.
 */
import { KeyscopeError } from '../errors.js';

/** Base class: `instanceof WebSocketClientError` catches everything this client throws. */
export class WebSocketClientError extends KeyscopeError {
  constructor(message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options);
  }

  override get name(): string {
    return 'WebSocketClientError';
  }
}

/** A pulsar-client feature that Pulsar's WebSocket API cannot express. */
export class NotSupportedByWebSocketError extends WebSocketClientError {
  override get name(): string {
    return 'NotSupportedByWebSocketError';
  }

  readonly feature: string;
  constructor(feature: string, hint?: string) {
    super(
      `${feature} is not supported over Pulsar's WebSocket API${hint ? `: ${hint}` : '. Use the native pulsar-client for this feature.'}`,
    );
    this.feature = feature;
  }
}

/** A configuration value that can never work (checked before connecting). */
export class InvalidConfigurationError extends WebSocketClientError {
  override get name(): string {
    return 'InvalidConfigurationError';
  }
}

/**
 * The WebSocket connection could not be opened or was refused by the broker.
 * `status` is the HTTP status of a refused upgrade (401, 403, 404, 409, ...),
 * undefined for network errors.
 */
export class ConnectionError extends WebSocketClientError {
  override get name(): string {
    return 'ConnectionError';
  }

  readonly status: number | undefined;
  readonly url: string;
  constructor(url: string, message: string, status?: number, options?: { cause?: unknown }) {
    super(message, { ...options, retriable: !isPermanentStatus(status) });
    this.url = url;
    this.status = status;
  }

  /** True when retrying the same request cannot succeed without a change by the user. */
  get isPermanent(): boolean {
    return isPermanentStatus(this.status);
  }
}

function isPermanentStatus(status: number | undefined): boolean {
  return status === 400 || status === 401 || status === 403 || status === 404;
}

const STATUS_ADVICE: Record<number, string> = {
  400: 'the broker rejected the request parameters; check the topic name and the options',
  401: 'authentication failed; pass a valid token (Authorization: Bearer) in the client options',
  403: 'the role of this token is not authorized for this topic/subscription; grant produce/consume permission',
  404: 'topic, namespace or WebSocket endpoint not found; check the topic name and that the broker runs with webSocketServiceEnabled=true',
  409: 'conflict: another Exclusive consumer (or producer with the same name) is already connected',
  429: 'too many requests; the broker is throttling lookups, retry later',
  500: 'the broker failed to create the producer/consumer; see the broker log',
  503: 'the topic is unavailable (quota exceeded or topic terminated)',
  504: 'the broker timed out creating the producer/consumer',
};

export function connectionErrorForStatus(url: string, status: number, brokerMessage: string): ConnectionError {
  // The reader endpoint answers a missing tenant or namespace with 500 ("Namespace not found")
  // where producers and consumers get 404: retrying cannot help, so it is a 404.
  const notFound = status === 500 && NOT_FOUND_REASON.test(brokerMessage);
  const effective = notFound ? 404 : status;
  const advice = STATUS_ADVICE[effective] ?? 'unexpected HTTP status on the WebSocket upgrade';
  const detail = brokerMessage ? ` (broker said: ${brokerMessage})` : '';
  const shown = notFound ? '500, taken as 404' : String(status);
  return new ConnectionError(url, `WebSocket upgrade to ${redactUrl(url)} failed with HTTP ${shown}: ${advice}${detail}`, effective);
}

const NOT_FOUND_REASON = /\b(?:not found|does not exist)\b/i;

/** Tokens may travel as a query parameter; never put them in error messages. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&]*/g, '$1***');
}

/** The send was not acknowledged by the broker within `sendTimeoutMs`. The message may or may not be stored. */
export class SendTimeoutError extends WebSocketClientError {
  override get name(): string {
    return 'SendTimeoutError';
  }

  constructor(topic: string, timeoutMs: number) {
    super(
      `Send to ${topic} was not acknowledged within sendTimeoutMs=${timeoutMs}; ` +
        'the broker may be down or slow. The message may or may not have been stored: retry if duplicates are acceptable.',
      { retriable: true },
    );
  }
}

/** `maxPendingMessages` sends are already waiting for acknowledgement and `blockIfQueueFull` is false. */
export class ProducerQueueFullError extends WebSocketClientError {
  override get name(): string {
    return 'ProducerQueueFullError';
  }

  constructor(topic: string, maxPendingMessages: number) {
    super(
      `Producer queue for ${topic} is full (maxPendingMessages=${maxPendingMessages}); ` +
        'await earlier sends, raise maxPendingMessages, or set blockIfQueueFull: true to wait for room.',
      { retriable: true },
    );
  }
}

/**
 * The message does not fit in one WebSocket text frame the broker accepts.
 * `size` is its frame in bytes (the payload base64-encoded, plus properties
 * and key), `limit` the largest frame accepted. Never retriable as it is.
 */
export class MessageTooLargeError extends WebSocketClientError {
  override get name(): string {
    return 'MessageTooLargeError';
  }

  readonly size: number;
  readonly limit: number;
  constructor(topic: string, size: number, limit: number, source: string) {
    super(
      `Message to ${topic} is ${size} bytes as a WebSocket text frame (its payload base64-encoded, about 4/3 of its size, ` +
        `plus properties and key), over the limit of ${limit} bytes (${source}). Send a smaller payload, or raise the broker's ` +
        'webSocketMaxTextFrameSize and set the client option webSocketMaxTextFrameSize to match.',
      { retriable: false },
    );
    this.size = size;
    this.limit = limit;
  }
}

/** The broker answered a send with an error. */
export class ProducerSendError extends WebSocketClientError {
  override get name(): string {
    return 'ProducerSendError';
  }

  readonly code: string;
  constructor(topic: string, code: string, brokerMessage: string) {
    super(`Broker rejected a message sent to ${topic}: ${code}${brokerMessage ? ` - ${brokerMessage}` : ''}`);
    this.code = code;
  }
}

/** `receive(timeout)` found no message within the timeout. */
export class ReceiveTimeoutError extends WebSocketClientError {
  override get name(): string {
    return 'ReceiveTimeoutError';
  }

  constructor(timeoutMs: number) {
    super(`No message received within ${timeoutMs} ms`, { retriable: true });
  }
}

/** The producer, consumer or client was closed. */
export class ClosedError extends WebSocketClientError {
  override get name(): string {
    return 'ClosedError';
  }

  constructor(what: string) {
    super(`${what} is closed; create a new one to continue`);
  }
}

/** The broker refused to remove the subscription (for example: other consumers are still connected). */
export class UnsubscribeError extends WebSocketClientError {
  override get name(): string {
    return 'UnsubscribeError';
  }
}
