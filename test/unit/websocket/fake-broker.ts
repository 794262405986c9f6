/**
 * A small in-process stand-in for the broker's WebSocket service: enough of the
 * producer and consumer protocol to test the client's own logic (flow control,
 * resend, timeouts, error mapping) without a broker. The real protocol is
 * covered by test/e2e against a real Pulsar.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';

export interface FakeSession {
  socket: WebSocket;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  received: Record<string, unknown>[];
  /** Frames refused as too large (maxTextFrameSize). */
  refused?: number;
}

export interface FakeBrokerOptions {
  /** Return an HTTP status to refuse the upgrade, or undefined to accept. */
  refuse?: (request: IncomingMessage) => { status: number; body?: string } | undefined;
  /** Producer: answer each frame automatically (default true). */
  autoAck?: boolean;
  /** Runs as soon as a session is accepted (e.g. to push frames right after the upgrade). */
  onAccept?: (session: FakeSession, broker: FakeBroker) => void;
  /** Like the broker's webSocketMaxTextFrameSize: a larger frame closes the session with 1009 and the broker's reason. */
  maxTextFrameSize?: number;
}

export class FakeBroker {
  readonly sessions: FakeSession[] = [];
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly options: FakeBrokerOptions;
  private nextEntry = 0;
  private readonly sockets = new Set<Duplex>();
  port = 0;

  constructor(options: FakeBrokerOptions = {}) {
    this.options = options;
    this.server = createServer((_req, res) => {
      res.writeHead(404).end();
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('upgrade', (request, socket, head) => {
      const refusal = this.options.refuse?.(request);
      if (refusal) {
        const body = refusal.body ?? '';
        socket.end(
          `HTTP/1.1 ${refusal.status} Refused\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request));
    });
  }

  static async start(options: FakeBrokerOptions = {}): Promise<FakeBroker> {
    const broker = new FakeBroker(options);
    await broker.listen(0);
    return broker;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Simulates a broker stop: drops every connection and stops listening. */
  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Restarts on the same port. */
  async restart(): Promise<void> {
    await this.listen(this.port);
  }

  latest(kind: 'producer' | 'consumer' | 'reader'): FakeSession {
    const session = [...this.sessions].reverse().find((s) => s.path.includes(`/ws/v2/${kind}/`));
    if (!session) throw new Error(`no ${kind} session`);
    return session;
  }

  /** Sends a consumer frame like the broker does. */
  deliver(
    session: FakeSession,
    message: { payload: string; key?: string; redeliveryCount?: number; properties?: Record<string, string> },
  ): string {
    const messageId = messageIdBase64(this.nextEntry++);
    session.socket.send(
      JSON.stringify({
        messageId,
        payload: Buffer.from(message.payload).toString('base64'),
        properties: message.properties ?? {},
        publishTime: new Date().toISOString(),
        redeliveryCount: message.redeliveryCount ?? 0,
        ...(message.key !== undefined ? { key: message.key } : {}),
      }),
    );
    return messageId;
  }

  ackProducer(session: FakeSession, context: string): void {
    session.socket.send(JSON.stringify({ result: 'ok', messageId: messageIdBase64(this.nextEntry++), context }));
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    for (const socket of this.sockets) socket.destroy();
    this.wss.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(ws: WebSocket, request: IncomingMessage): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const session: FakeSession = { socket: ws, path: url.pathname, query: url.searchParams, headers: request.headers, received: [] };
    this.sessions.push(session);
    this.options.onAccept?.(session, this);
    ws.on('message', (data) => {
      const size = Buffer.byteLength(String(data));
      const max = this.options.maxTextFrameSize;
      if (max !== undefined && size > max) {
        session.refused = (session.refused ?? 0) + 1;
        ws.close(1009, `Resulting message size [${size}] is too large for configured max of [${max}]`);
        return;
      }
      const frame = JSON.parse(String(data)) as Record<string, unknown>;
      session.received.push(frame);
      if (session.path.includes('/ws/v2/producer/') && this.options.autoAck !== false) {
        this.ackProducer(session, String(frame.context));
      }
      if (frame.type === 'isEndOfTopic') ws.send(JSON.stringify({ endOfTopic: false }));
    });
  }
}

/** MessageIdData{ledgerId=7, entryId=entry} as the broker encodes it. */
export function messageIdBase64(entry: number): string {
  const bytes = [0x08, 7, 0x10];
  let value = entry;
  while (value >= 0x80) {
    bytes.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return Buffer.from(bytes).toString('base64');
}

export async function waitUntil(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
