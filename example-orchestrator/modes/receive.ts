/** True for the error a receive(timeout) rejects with when nothing arrived (WebSocketClient and pulsar-client alike). */
export function isReceiveTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ReceiveTimeoutError' || /timed? ?out/i.test(error.message));
}
