/**
 * The WebSocket client's defaults and limits, in one place. The option docs
 * in config.ts and the README refer to these names.
 */

/** Defaults of the client, producer and consumer options. */
export const WEBSOCKET_DEFAULTS = {
  /** Bound of one open (all its reconnect attempts) and of close/unsubscribe answers. */
  operationTimeoutSeconds: 30,
  /** Bound of one WebSocket handshake. */
  connectionTimeoutMs: 10_000,
  /** First reconnect delay; doubles per failed attempt, with jitter. */
  initialBackoffMs: 100,
  /** Upper bound of the reconnect delay. */
  maxBackoffMs: 5_000,
  /** WebSocket ping interval that detects dead connections (0 disables). */
  keepAliveIntervalMs: 30_000,
  /** A send not acknowledged within this rejects with SendTimeoutError (0 waits forever). */
  sendTimeoutMs: 30_000,
  /** Unacknowledged sends a producer holds before send() rejects (or waits, with blockIfQueueFull). */
  maxPendingMessages: 1_000,
  /** batchReceive() waits at most this long for more messages. */
  batchReceiveTimeoutMs: 100,
  /**
   * Largest text frame the broker accepts, in bytes: its
   * `webSocketMaxTextFrameSize` (1 MiB by default). A producer frame carries
   * the payload base64-encoded (4/3 of its size) plus properties and key.
   */
  webSocketMaxTextFrameSize: 1_048_576,
} as const;

/** The WebSocket service caps the receiver queue at 1000. */
export const MAX_RECEIVER_QUEUE_SIZE = 1_000;
/** The broker's rule for a non-zero ack timeout. */
export const MIN_ACK_TIMEOUT_MS = 1_000;
/** The broker's "no limit" for dead-letter redeliveries. */
export const UNLIMITED_REDELIVERIES = 2_147_483_647;
/**
 * A connection that stayed open this long resets the reconnect backoff; one
 * that closes sooner (a broker that accepts and then drops it) keeps the
 * backoff growing, so a connection that cannot stay up is not reopened in a
 * tight loop.
 */
export const STABLE_CONNECTION_MS = 10_000;
/** How long close() waits for the broker's closing handshake before dropping the socket. */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = 1_000;
/** How much of a refused upgrade's response body is kept for the error message. */
export const MAX_REFUSAL_BODY_BYTES = 4_096;
/** Longest broker reason quoted in an error message. */
export const MAX_BROKER_REASON_CHARS = 500;
