/**
 * One logical WebSocket connection to a producer or consumer endpoint, kept
 * open across broker restarts.
 *
 * - The first open retries transient failures (refused connection, HTTP 5xx)
 *   until the operation timeout, and fails at once on errors a retry cannot
 *   fix (400/401/403/404) and on 409 (a second Exclusive consumer must hear
 *   about it).
 * - Once open, a lost connection is reopened with exponential backoff and
 *   jitter, bounded by `maxBackoffMs`, until close() is called; every error
 *   is retried then, 409 included (the broker may still hold the previous
 *   session). The backoff starts over only after a connection stayed open
 *   for STABLE_CONNECTION_MS: one that opens and closes at once keeps it growing.
 * - A ping every `keepAliveIntervalMs` detects half-open TCP connections.
 * - Timers are cleared by close(). The reconnect timer alone is not unref'd:
 *   it stands in for the socket, which keeps the process alive while a
 *   producer or consumer is open (as pulsar-client does). Were it unref'd, a
 *   process could exit in the middle of a broker restart with sends pending.
 *   The keep-alive timer is unref'd.
 */
import WebSocket from 'ws';
import { ClosedError, ConnectionError, connectionErrorForStatus, redactUrl } from './errors.js';
import type { Logger } from './logger.js';
import { CLOSE_HANDSHAKE_TIMEOUT_MS, MAX_BROKER_REASON_CHARS, MAX_REFUSAL_BODY_BYTES, STABLE_CONNECTION_MS } from './defaults.js';

export interface ConnectionOptions {
  url: string;
  /** When set, called before every attempt instead of using `url` (a reader resumes where it stopped). */
  resolveUrl?: () => string;
  /** Resolved before every attempt, so a token provider can refresh tokens. */
  headers: () => Promise<Record<string, string>>;
  operationTimeoutMs: number;
  connectionTimeoutMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  keepAliveIntervalMs: number;
  logger: Logger;
  /** What this connection is for, used in log lines: "producer persistent://...". */
  description: string;
  tls: TlsOptions;
}

export interface TlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
}

export interface ConnectionHandlers {
  /** Called for every (re)opened socket, before any queued work is sent. */
  onOpen(reopened: boolean): void;
  onMessage(text: string): void;
  /** Called once per lost connection (not after close()), with the WebSocket close code and reason. */
  onDisconnect(reason: Error, closeCode: number, closeReason: string): void;
}

type State = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

interface OpenedSocket {
  socket: WebSocket;
  /** Frames that arrived before the connection adopted the socket. */
  early: string[];
}

export class Connection {
  private readonly options: ConnectionOptions;
  private readonly handlers: ConnectionHandlers;
  private socket: WebSocket | undefined;
  private state: State = 'idle';
  private reconnectTimer: NodeJS.Timeout | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  /** Reconnect attempts since the connection was last stable (STABLE_CONNECTION_MS). */
  private attempt = 0;
  private openedAt = 0;
  private pongPending = false;
  private wakeSleeper: (() => void) | undefined;

  constructor(options: ConnectionOptions, handlers: ConnectionHandlers) {
    this.options = options;
    this.handlers = handlers;
  }

  isConnected(): boolean {
    return this.state === 'open' && this.socket?.readyState === WebSocket.OPEN;
  }

  isClosed(): boolean {
    return this.state === 'closed';
  }

  /** First open: resolves when the broker accepted the upgrade. */
  async open(): Promise<void> {
    if (this.state !== 'idle') throw new Error('Connection.open() may be called once');
    this.state = 'connecting';
    const deadline = Date.now() + this.options.operationTimeoutMs;
    let lastError: ConnectionError | undefined;
    for (let attempt = 0; ; attempt++) {
      if (this.isClosed()) throw new ClosedError(this.options.description);
      try {
        const opened = await this.attemptOnce();
        if (this.isClosed()) {
          opened.socket.terminate();
          throw new ClosedError(this.options.description);
        }
        this.adopt(opened, false);
        return;
      } catch (error) {
        if (error instanceof ClosedError) throw error;
        lastError = toConnectionError(this.options.url, error);
        // 409 fails the first open at once (a second Exclusive consumer must hear about it);
        // on a reconnect it usually means the broker still holds our previous session.
        if (lastError.isPermanent || lastError.status === 409) {
          this.state = 'closed';
          throw lastError;
        }
        const delay = this.backoffDelay(attempt);
        if (Date.now() + delay >= deadline) break;
        this.options.logger.debug(`${this.options.description}: connect failed (${lastError.message}); retrying in ${delay} ms`);
        await this.sleep(delay);
      }
    }
    this.state = 'closed';
    throw new ConnectionError(
      this.options.url,
      `Could not connect ${this.options.description} within operationTimeoutSeconds=${this.options.operationTimeoutMs / 1000}: ` +
        `${lastError?.message ?? 'no attempt finished'}. Is the broker running with the WebSocket service enabled?`,
      lastError?.status,
      { cause: lastError },
    );
  }

  /** Sends a text frame; false when no socket is open (the caller keeps the work for the next open). */
  send(text: string, onWritten?: (error?: Error) => void): boolean {
    const socket = this.socket;
    if (this.state !== 'open' || socket === undefined || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(text, onWritten);
    return true;
  }

  /** Closes for good: no reconnect, timers cleared. Resolves when the socket is gone (bounded). */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearTimers();
    this.wakeSleeper?.();
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        socket.terminate();
        resolve();
      }, CLOSE_HANDSHAKE_TIMEOUT_MS);
      force.unref();
      socket.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      else socket.close(1000, 'client closed');
    });
  }

  /** Drops the current socket as if the network failed; used to resync after protocol errors. */
  abort(): void {
    this.socket?.terminate();
  }

  private adopt({ socket, early }: OpenedSocket, reopened: boolean): void {
    if (this.state === 'closed') {
      socket.terminate();
      return;
    }
    socket.removeAllListeners();
    this.socket = socket;
    this.state = 'open';
    this.openedAt = Date.now();
    this.pongPending = false;
    socket.on('message', (data: WebSocket.RawData) => {
      if (this.socket !== socket) return;
      this.handlers.onMessage(rawToString(data));
    });
    socket.on('pong', () => {
      this.pongPending = false;
    });
    socket.on('error', (error) => {
      this.options.logger.debug(`${this.options.description}: socket error: ${error.message}`);
    });
    socket.once('close', (code, reason) => this.lost(socket, code, reason.toString()));
    this.startKeepAlive(socket);
    this.handlers.onOpen(reopened);
    for (const text of early) {
      if (this.socket !== socket) break;
      this.handlers.onMessage(text);
    }
    // Closed between the upgrade and now: its 'close' event went by before the handler above.
    if (socket.readyState === WebSocket.CLOSED) this.lost(socket, 1006, 'closed right after opening');
  }

  private lost(socket: WebSocket, code: number, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.stopKeepAlive();
    if (this.state === 'closed') return;
    this.state = 'reconnecting';
    if (Date.now() - this.openedAt >= STABLE_CONNECTION_MS) this.attempt = 0;
    const error = new ConnectionError(
      this.options.url,
      `${this.options.description}: connection lost (code ${code}${reason ? `, ${reason}` : ''})`,
    );
    this.options.logger.warn(`${error.message}; reconnecting`);
    this.handlers.onDisconnect(error, code, reason);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.state !== 'reconnecting') return;
    const delay = this.backoffDelay(this.attempt++);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.reconnect();
    }, delay);
  }

  private async reconnect(): Promise<void> {
    if (this.state !== 'reconnecting') return;
    try {
      const opened = await this.attemptOnce();
      this.options.logger.info(`${this.options.description}: reconnected`);
      this.adopt(opened, true);
    } catch (error) {
      if (this.state !== 'reconnecting') return;
      const connectionError = toConnectionError(this.options.url, error);
      // Permanent errors are logged loudly but still retried: the operator may fix
      // permissions or recreate the namespace while the application keeps running.
      const log = connectionError.isPermanent ? this.options.logger.error : this.options.logger.debug;
      log.call(this.options.logger, `${this.options.description}: reconnect failed: ${connectionError.message}`);
      this.scheduleReconnect();
    }
  }

  private async attemptOnce(): Promise<OpenedSocket> {
    const headers = await this.options.headers();
    const url = this.options.resolveUrl?.() ?? this.options.url;
    return new Promise<OpenedSocket>((resolve, reject) => {
      const socket = new WebSocket(url, {
        headers,
        handshakeTimeout: this.options.connectionTimeoutMs,
        perMessageDeflate: false,
        ...this.options.tls,
      });
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        socket.removeAllListeners();
        socket.on('error', () => undefined);
        socket.terminate();
        reject(error);
      };
      socket.once('open', () => {
        if (settled) return;
        settled = true;
        socket.removeAllListeners();
        // Endpoints such as the reader push right after the upgrade, possibly in the
        // same TCP read; keep those frames until adopt() attaches the real handler.
        const early: string[] = [];
        socket.on('message', (data: WebSocket.RawData) => early.push(rawToString(data)));
        socket.on('error', () => undefined);
        resolve({ socket, early });
      });
      socket.once('unexpected-response', (request, response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_REFUSAL_BODY_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        const finish = (): void => {
          fail(connectionErrorForStatus(url, response.statusCode ?? 0, brokerReason(Buffer.concat(chunks).toString('utf8'))));
          request.destroy();
        };
        response.once('end', finish);
        response.once('error', finish);
        response.once('aborted', finish);
      });
      socket.once('error', (error) => {
        fail(new ConnectionError(url, `WebSocket connection to ${redactUrl(url)} failed: ${error.message}`, undefined, { cause: error }));
      });
    });
  }

  private startKeepAlive(socket: WebSocket): void {
    if (this.options.keepAliveIntervalMs <= 0) return;
    this.keepAliveTimer = setInterval(() => {
      if (this.pongPending) {
        this.options.logger.warn(`${this.options.description}: no pong within ${this.options.keepAliveIntervalMs} ms; dropping connection`);
        socket.terminate();
        return;
      }
      this.pongPending = true;
      socket.ping();
    }, this.options.keepAliveIntervalMs);
    this.keepAliveTimer.unref();
  }

  private stopKeepAlive(): void {
    if (this.keepAliveTimer !== undefined) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
  }

  private clearTimers(): void {
    this.stopKeepAlive();
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private backoffDelay(attempt: number): number {
    return backoffDelay(attempt, this.options.initialBackoffMs, this.options.maxBackoffMs, Math.random());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.wakeSleeper = undefined;
        this.reconnectTimer = undefined;
        resolve();
      };
      this.wakeSleeper = wake;
      // Not unref'd: a caller awaits this open.
      this.reconnectTimer = setTimeout(wake, ms);
    });
  }
}

/**
 * Exponential backoff with jitter: the ceiling doubles per attempt up to
 * `maxMs`, and the delay is drawn from [ceiling/2, ceiling] so that many
 * clients dropped by one broker restart do not reconnect in lockstep.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random * (ceiling / 2));
}

function rawToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function toConnectionError(url: string, error: unknown): ConnectionError {
  if (error instanceof ConnectionError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ConnectionError(url, `WebSocket connection to ${redactUrl(url)} failed: ${message}`, undefined, { cause: error });
}

/** Jetty answers refused upgrades with an HTML page; keep the text the broker wrote. */
function brokerReason(body: string): string {
  const text = (/<pre>([\s\S]*?)<\/pre>/i.exec(body)?.[1] ?? /<title>([\s\S]*?)<\/title>/i.exec(body)?.[1] ?? body)
    .replace(/<[^>]+>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  // The broker nests the Pulsar error as JSON: {"errorMsg":"Exclusive consumer is already connected",...}
  const errorMsg = /"errorMsg"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(text)?.[1];
  return (errorMsg ?? text).replace(/\s+/g, ' ').trim().slice(0, MAX_BROKER_REASON_CHARS);
}
