import type { MessageLike } from 'pulsar-keyscope';

/** How long one receive() waits, so that a stop is noticed within it. */
const RECEIVE_POLL_MS = 500;

/** True for the error a receive(timeout) rejects with when nothing arrived (WebSocketClient and pulsar-client alike). */
export function isReceiveTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ReceiveTimeoutError' || /timed? ?out/i.test(error.message));
}

interface Receiver {
  receive(timeoutMs: number): Promise<MessageLike>;
}

interface KeyedSink {
  waitForRoom(): Promise<void>;
  submit(key: string, message: MessageLike): Promise<void>;
}

/**
 * Receives while `isRunning()` says so, only when the executor has room, and
 * submits each message under its message key (the key the broker routed by).
 * Resolves once stopped; a failed receive is reported and retried.
 */
export async function pumpByKey(
  consumer: Receiver,
  executor: KeyedSink,
  hooks: { isRunning(): boolean; onReceived(): void; warn(text: string): void },
): Promise<void> {
  while (hooks.isRunning()) {
    await executor.waitForRoom();
    let message: MessageLike;
    try {
      message = await consumer.receive(RECEIVE_POLL_MS);
    } catch (error) {
      if (!isReceiveTimeout(error) && hooks.isRunning()) hooks.warn(`receive failed: ${String(error)}`);
      continue;
    }
    hooks.onReceived();
    await executor.submit(message.getPartitionKey(), message);
  }
}
