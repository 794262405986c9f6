/**
 * A pulsar-client-compatible Producer over `/ws/v2/producer/...`.
 *
 * Backpressure: at most `maxPendingMessages` sends wait for the broker's ack.
 * Beyond that, `send()` rejects with ProducerQueueFullError, or — with
 * `blockIfQueueFull: true` — waits for room (the wait counts against the send
 * timeout). Same defaults as pulsar-client: 1000 pending, do not block.
 *
 * Disconnects: a send that was written but not acknowledged when the connection
 * dropped stays pending and is written again, in the original order, as soon as
 * the connection is back; sends issued while disconnected are queued the same
 * way. A pending send that is not acknowledged within `sendTimeoutMs` (default
 * 30 s; 0 = wait forever) rejects with SendTimeoutError. Nothing is dropped
 * silently: every send resolves with a MessageId or rejects with a typed error.
 * A resent message may be stored twice when the broker had stored it but its ack
 * was lost (at-least-once).
 *
 * Size: a message whose frame (payload base64-encoded, plus properties and key)
 * is over `webSocketMaxTextFrameSize` rejects at send() with
 * MessageTooLargeError and is never sent. Should the broker still refuse a frame
 * (its limit set lower than the client's), it closes the connection with 1009:
 * that send rejects with the same error, is not resent, and the broker's limit
 * applies to later sends. (The broker may also drop such a connection before
 * its close frame arrives, seen as 1006; the frame is then resent once more,
 * like any other, until the 1009 comes.)
 */
import type { Connection } from './connection.js';
import { decodeOrLog, decodeProducerAck, encodeProducerFrame, withContext } from './codec.js';
import type { ProducerMessage } from './codec.js';
import {
  ClosedError,
  MessageTooLargeError,
  NotSupportedByWebSocketError,
  ProducerQueueFullError,
  ProducerSendError,
  SendTimeoutError,
} from './errors.js';
import type { Logger } from './logger.js';
import type { WebSocketMessageId } from './message-id.js';

/** The close code of a frame over the receiver's limit (RFC 6455 "message too big"). */
const MESSAGE_TOO_BIG_CLOSE_CODE = 1009;
/** `"context":"",` that admit() adds to every frame, without the seq's digits. */
const CONTEXT_FIELD_BYTES = '"context":"",'.length;

export interface ProducerSettings {
  topic: string;
  /** Largest text frame the broker accepts (its webSocketMaxTextFrameSize). */
  maxTextFrameSize: number;
  producerName: string;
  sendTimeoutMs: number;
  maxPendingMessages: number;
  blockIfQueueFull: boolean;
  closeTimeoutMs: number;
}

interface PendingSend {
  seq: number;
  context: string;
  frame: string;
  /** Size of the frame on the wire, in bytes. */
  bytes: number;
  deadline: number;
  resolve: (id: WebSocketMessageId) => void;
  reject: (error: Error) => void;
}

interface BlockedSend {
  seq: number;
  frame: string;
  bytes: number;
  deadline: number;
  resolve: (id: WebSocketMessageId) => void;
  reject: (error: Error) => void;
}

interface FlushWaiter {
  beforeSeq: number;
  resolve: () => void;
}

export class WebSocketProducer {
  private readonly settings: ProducerSettings;
  private readonly logger: Logger;
  private connection!: Connection;
  private readonly pending = new Map<string, PendingSend>();
  private readonly blocked: BlockedSend[] = [];
  private flushWaiters: FlushWaiter[] = [];
  private nextSeq = 0;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private timeoutTimerDeadline = Infinity;
  private closed = false;
  private readonly onClosed: (producer: WebSocketProducer) => void;
  /** The frame limit in force: the configured one, lowered when the broker refuses a frame below it. */
  private maxFrameBytes: number;
  private frameLimitSource = 'webSocketMaxTextFrameSize';

  /** @internal created by WebSocketClient.createProducer */
  constructor(settings: ProducerSettings, logger: Logger, onClosed: (producer: WebSocketProducer) => void) {
    this.settings = settings;
    this.logger = logger;
    this.onClosed = onClosed;
    this.maxFrameBytes = settings.maxTextFrameSize;
  }

  /** @internal */
  attach(connection: Connection): void {
    this.connection = connection;
  }

  /** @internal connection handler: (re)opened socket -> write every pending send in order. */
  handleOpen(reopened: boolean): void {
    if (!reopened) return;
    let resent = 0;
    for (const entry of this.pending.values()) {
      if (!this.connection.send(entry.frame)) break;
      resent++;
    }
    if (resent > 0) this.logger.info(`producer ${this.settings.topic}: resent ${resent} unacknowledged messages after reconnect`);
  }

  /** @internal */
  handleMessage(text: string): void {
    const ack = decodeOrLog(decodeProducerAck, text, this.logger, 'producer', this.settings.topic);
    if (ack === undefined) return;
    if (ack.context === undefined) {
      this.logger.error(`producer ${this.settings.topic}: broker error without context: ${ack.ok ? '' : ack.errorMessage}`);
      return;
    }
    const entry = this.pending.get(ack.context);
    if (entry === undefined) return; // already timed out, or a duplicate ack after a resend
    this.pending.delete(ack.context);
    if (ack.ok) entry.resolve(ack.messageId);
    else entry.reject(new ProducerSendError(this.settings.topic, ack.code, ack.errorMessage));
    this.afterSettle();
  }

  /**
   * @internal pending sends stay queued for the next socket, except the one
   * the broker refused as too large (close code 1009): resent, it would close
   * every new connection too. It is rejected with MessageTooLargeError, and
   * the broker's limit is kept for later sends.
   */
  handleDisconnect(closeCode: number, closeReason: string): void {
    if (closeCode !== MESSAGE_TOO_BIG_CLOSE_CODE) return;
    const refusedSize = Number(/message size \[(\d+)\]/i.exec(closeReason)?.[1] ?? Number.NaN);
    // Jetty words it "Resulting message size [N] is too large for configured max of [M]" or "Text message size [N] exceeds maximum size [M]".
    const brokerLimit = Number(/(?:max of|maximum size) \[(\d+)\]/i.exec(closeReason)?.[1] ?? Number.NaN);
    let refused: PendingSend | undefined;
    for (const entry of this.pending.values()) {
      if (entry.bytes === refusedSize) {
        refused = entry;
        break;
      }
      if (refused === undefined || entry.bytes > refused.bytes) refused = entry;
    }
    if (refused === undefined) return;
    this.maxFrameBytes = Math.min(this.maxFrameBytes, Number.isFinite(brokerLimit) ? brokerLimit : refused.bytes - 1);
    this.frameLimitSource = `the broker closed the connection with code 1009${closeReason ? `: ${closeReason}` : ''}`;
    this.pending.delete(refused.context);
    refused.reject(new MessageTooLargeError(this.settings.topic, refused.bytes, this.maxFrameBytes, this.frameLimitSource));
    this.logger.warn(
      `producer ${this.settings.topic}: the broker refused a ${refused.bytes}-byte frame (limit ${this.maxFrameBytes}); that send failed and is not resent`,
    );
    this.afterSettle();
  }

  send(message: ProducerMessage): Promise<WebSocketMessageId> {
    if (this.closed) return Promise.reject(new ClosedError(`Producer for ${this.settings.topic}`));
    if (message?.sequenceId !== undefined) {
      return Promise.reject(
        new NotSupportedByWebSocketError(
          'ProducerMessage.sequenceId',
          'the broker assigns sequence ids to WebSocket producers; remove sequenceId',
        ),
      );
    }
    let frame: string;
    try {
      frame = encodeProducerFrame(message);
    } catch (error) {
      return Promise.reject(error);
    }
    // The size with the context this send will carry ({"context":"<seq>", ahead of the rest).
    const bytes = Buffer.byteLength(frame) + CONTEXT_FIELD_BYTES + String(this.nextSeq).length;
    if (bytes > this.maxFrameBytes) {
      return Promise.reject(new MessageTooLargeError(this.settings.topic, bytes, this.maxFrameBytes, this.frameLimitSource));
    }
    const seq = this.nextSeq++;
    const deadline = this.settings.sendTimeoutMs > 0 ? Date.now() + this.settings.sendTimeoutMs : Infinity;
    return new Promise<WebSocketMessageId>((resolve, reject) => {
      // Blocked sends keep their place: a later send never overtakes them.
      if (this.pending.size < this.settings.maxPendingMessages && this.blocked.length === 0) {
        this.admit(seq, frame, bytes, deadline, resolve, reject);
      } else if (this.settings.blockIfQueueFull) {
        this.blocked.push({ seq, frame, bytes, deadline, resolve, reject });
        this.armTimeout(deadline);
      } else {
        reject(new ProducerQueueFullError(this.settings.topic, this.settings.maxPendingMessages));
        this.checkFlushWaiters();
      }
    });
  }

  /** Resolves when every send issued before this call is acknowledged or failed. */
  flush(): Promise<null> {
    const beforeSeq = this.nextSeq;
    if (this.oldestOpenSeq() >= beforeSeq) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.flushWaiters.push({ beforeSeq, resolve: () => resolve(null) });
    });
  }

  /**
   * Waits (bounded by the close timeout) for pending sends, then closes the
   * socket. Sends still pending after that reject with ClosedError.
   */
  async close(): Promise<null> {
    if (this.closed) return null;
    this.closed = true;
    if (this.pending.size > 0 || this.blocked.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.flush(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.settings.closeTimeoutMs);
          timer.unref();
        }),
      ]);
      if (timer !== undefined) clearTimeout(timer);
    }
    const closedError = new ClosedError(`Producer for ${this.settings.topic}`);
    for (const entry of this.blocked.splice(0)) entry.reject(closedError);
    for (const entry of this.pending.values()) entry.reject(closedError);
    this.pending.clear();
    this.clearTimeoutTimer();
    for (const waiter of this.flushWaiters.splice(0)) waiter.resolve();
    await this.connection.close();
    this.onClosed(this);
    return null;
  }

  getProducerName(): string {
    return this.settings.producerName;
  }

  getTopic(): string {
    return this.settings.topic;
  }

  isConnected(): boolean {
    return !this.closed && this.connection.isConnected();
  }

  /** Number of sends waiting for an ack or for room in the queue. */
  getPendingCount(): number {
    return this.pending.size + this.blocked.length;
  }

  private admit(
    seq: number,
    frameWithoutContext: string,
    bytes: number,
    deadline: number,
    resolve: (id: WebSocketMessageId) => void,
    reject: (error: Error) => void,
  ): void {
    const context = String(seq);
    const frame = withContext(frameWithoutContext, context);
    this.pending.set(context, { seq, context, frame, bytes, deadline, resolve, reject });
    this.connection.send(frame); // false while disconnected: handleOpen() writes it later
    this.armTimeout(deadline);
  }

  private afterSettle(): void {
    while (this.blocked.length > 0 && this.pending.size < this.settings.maxPendingMessages) {
      const next = this.blocked.shift()!;
      this.admit(next.seq, next.frame, next.bytes, next.deadline, next.resolve, next.reject);
    }
    this.checkFlushWaiters();
  }

  private oldestOpenSeq(): number {
    let oldest = Infinity;
    const firstPending = this.pending.values().next();
    if (!firstPending.done) oldest = firstPending.value.seq;
    const firstBlocked = this.blocked[0];
    if (firstBlocked !== undefined) oldest = Math.min(oldest, firstBlocked.seq);
    return oldest;
  }

  private checkFlushWaiters(): void {
    if (this.flushWaiters.length === 0) return;
    const oldest = this.oldestOpenSeq();
    const still: FlushWaiter[] = [];
    for (const waiter of this.flushWaiters) {
      if (oldest >= waiter.beforeSeq) waiter.resolve();
      else still.push(waiter);
    }
    this.flushWaiters = still;
  }

  // One timer for all sends: deadlines grow with send order, so only the oldest
  // pending or blocked send can be due.
  private armTimeout(deadline: number): void {
    if (deadline === Infinity || this.timeoutTimerDeadline <= deadline) return;
    this.clearTimeoutTimer();
    this.timeoutTimerDeadline = deadline;
    this.timeoutTimer = setTimeout(() => this.expire(), Math.max(0, deadline - Date.now()));
    this.timeoutTimer.unref();
  }

  private clearTimeoutTimer(): void {
    if (this.timeoutTimer !== undefined) clearTimeout(this.timeoutTimer);
    this.timeoutTimer = undefined;
    this.timeoutTimerDeadline = Infinity;
  }

  private expire(): void {
    this.timeoutTimer = undefined;
    this.timeoutTimerDeadline = Infinity;
    const now = Date.now();
    let expired = 0;
    for (const entry of this.pending.values()) {
      if (entry.deadline > now) break;
      this.pending.delete(entry.context);
      entry.reject(new SendTimeoutError(this.settings.topic, this.settings.sendTimeoutMs));
      expired++;
    }
    while (this.blocked.length > 0 && this.blocked[0]!.deadline <= now) {
      this.blocked.shift()!.reject(new SendTimeoutError(this.settings.topic, this.settings.sendTimeoutMs));
      expired++;
    }
    if (expired > 0)
      this.logger.warn(`producer ${this.settings.topic}: ${expired} sends timed out after ${this.settings.sendTimeoutMs} ms`);
    this.afterSettle();
    const nextDeadline = Math.min(this.pending.values().next().value?.deadline ?? Infinity, this.blocked[0]?.deadline ?? Infinity);
    this.armTimeout(nextDeadline);
  }
}
