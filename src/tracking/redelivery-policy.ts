/**
 * When a consumer's messages are expected back from the client or broker
 * although the redelivery count may say 0: a nack brings its message back
 * after the nack delay, and a passed ack timeout brings back the message that
 * timed out (Shared, Key_Shared) or everything unacknowledged (Exclusive,
 * Failover). Pure: the caller passes the time and does the recording.
 */

/** pulsar-client's default delay before a negatively acknowledged message is redelivered. */
const DEFAULT_NACK_REDELIVERY_DELAY_MS = 60_000;

/** A consumer's in-flight delivery as this policy sees it: linked in receive order. */
export interface AckTimeoutLink<D> {
  readonly receivedAt: number;
  /** Its ack timeout passed: the client redelivers it (recorded once). */
  redeliveryExpected: boolean;
  previousOfConsumer: D | undefined;
  nextOfConsumer: D | undefined;
}

export interface RedeliverySettings {
  subscriptionType?: string | undefined;
  /** The consumer's `ackTimeoutMs`; 0 or absent: no ack timeout. */
  ackTimeoutMs?: unknown;
  /** The consumer's `nAckRedeliverTimeoutMs`; absent: pulsar-client's default. */
  nAckRedeliverTimeoutMs?: unknown;
}

export class RedeliveryPolicy {
  /** When a nacked message is due back. */
  readonly nackDelayMs: number;
  readonly ackTimeoutMs: number | undefined;
  /**
   * Exclusive and Failover consumers answer an ack timeout by redelivering
   * everything unacknowledged, not only the messages that timed out.
   */
  readonly redeliversAllOnAckTimeout: boolean;

  constructor(settings: RedeliverySettings) {
    this.nackDelayMs = nonNegative(settings.nAckRedeliverTimeoutMs) ?? DEFAULT_NACK_REDELIVERY_DELAY_MS;
    const ackTimeoutMs = nonNegative(settings.ackTimeoutMs);
    this.ackTimeoutMs = ackTimeoutMs === 0 ? undefined : ackTimeoutMs;
    this.redeliversAllOnAckTimeout = settings.subscriptionType !== 'Shared' && settings.subscriptionType !== 'KeyShared';
  }

  /**
   * Marks the deliveries whose ack timeout passed as expected back (once
   * each) and hands each to `expect`. The marked ones are a prefix of the
   * receive-order list, so the walk covers only the unmarked rest.
   */
  expireAckTimeouts<D extends AckTimeoutLink<D>>(newest: D | undefined, now: number, expect: (delivery: D) => void): void {
    const timeout = this.ackTimeoutMs;
    if (timeout === undefined) return;
    let firstUnmarked: D | undefined;
    for (let d = newest; d !== undefined && !d.redeliveryExpected; d = d.previousOfConsumer) firstUnmarked = d;
    const cutoff = now - timeout;
    if (firstUnmarked === undefined || firstUnmarked.receivedAt > cutoff) return;
    const all = this.redeliversAllOnAckTimeout;
    for (let d: D | undefined = firstUnmarked; d !== undefined && (all || d.receivedAt <= cutoff); d = d.nextOfConsumer) {
      d.redeliveryExpected = true;
      expect(d);
    }
  }
}

function nonNegative(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
