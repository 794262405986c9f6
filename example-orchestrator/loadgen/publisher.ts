import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProducerLike, ProducerMessageLike } from 'pulsar-keyscope';
import { encodeEvent } from '../domain/events.js';
import type { EventLogRecord } from '../domain/records.js';
import type { PlannedEvent } from './plan.js';

export interface PublishStats {
  published: number;
  acknowledged: number;
  failed: number;
  /** How far behind its schedule the publisher is now (0 when on time). */
  behindMs: number;
  elapsedMs: number;
}

export interface PublishOptions {
  producer: ProducerLike;
  events: Iterable<PlannedEvent>;
  /** A JSON-lines file (the run's events.jsonl) receiving one EventLogRecord per confirmed event, in publish order. */
  eventLogPath?: string;
  /** Wall clock (ms since the epoch) that the events' atMs count from: the run clock's wallOrigin. Default: now. */
  wallOrigin?: number;
  /** Sends awaiting the broker's acknowledgement at most (backpressure); keep it below the producer's maxPendingMessages. */
  maxInFlight?: number;
  signal?: AbortSignal;
  /** Called for every failed send; the run goes on. */
  onSendError?(event: PlannedEvent, error: Error): void;
}

/**
 * Publishes a planned load on its schedule. Events go out in plan order through
 * one producer, which keeps each subscriber's events in order, also across a
 * broker restart (the producer resends pending messages in order). When the
 * broker is slower than the schedule, at most `maxInFlight` sends wait and the
 * publisher falls behind rather than buffering without bound.
 */
export class LoadPublisher {
  private readonly stats: PublishStats = { published: 0, acknowledged: 0, failed: 0, behindMs: 0, elapsedMs: 0 };
  private startedAt = 0;
  private inFlight = 0;
  private roomWaiter: (() => void) | undefined;

  constructor(private readonly options: PublishOptions) {}

  snapshot(): PublishStats {
    return { ...this.stats, elapsedMs: this.startedAt === 0 ? 0 : performance.now() - this.startedAt };
  }

  async run(): Promise<PublishStats> {
    const maxInFlight = this.options.maxInFlight ?? 500;
    const log = this.options.eventLogPath === undefined ? undefined : createWriteStream(this.options.eventLogPath, { flags: 'w' });
    this.startedAt = performance.now() + ((this.options.wallOrigin ?? Date.now()) - Date.now());
    try {
      for (const event of this.options.events) {
        if (this.options.signal?.aborted) break;
        const waitMs = event.atMs - (performance.now() - this.startedAt);
        if (waitMs > 1) await sleep(waitMs, undefined, { ref: false });
        while (this.inFlight >= maxInFlight) await new Promise<void>((resolve) => (this.roomWaiter = resolve));
        this.stats.behindMs = Math.max(0, performance.now() - this.startedAt - event.atMs);
        this.send(event, log);
        if (log?.writableNeedDrain) await once(log, 'drain');
      }
      while (this.inFlight > 0) await new Promise<void>((resolve) => (this.roomWaiter = resolve));
      await this.options.producer.flush();
    } finally {
      if (log !== undefined) {
        log.end();
        await once(log, 'close');
      }
    }
    return this.snapshot();
  }

  private send(planned: PlannedEvent, log: WriteStream | undefined): void {
    this.inFlight += 1;
    this.stats.published += 1;
    this.options.producer.send(toProducerMessage(planned)).then(
      (messageId) => {
        this.stats.acknowledged += 1;
        // One producer confirms in send order, so the log keeps publish order.
        if (log !== undefined) {
          const record: EventLogRecord = { ...planned.event, publishedAt: Date.now(), messageId: messageId.toString() };
          log.write(`${JSON.stringify(record)}\n`);
        }
        this.settled();
      },
      (error: unknown) => {
        this.stats.failed += 1;
        this.options.onSendError?.(planned, error instanceof Error ? error : new Error(String(error)));
        this.settled();
      },
    );
  }

  private settled(): void {
    this.inFlight -= 1;
    const waiter = this.roomWaiter;
    this.roomWaiter = undefined;
    waiter?.();
  }
}

/** The events topic's message: the event's JSON, keyed by subscriber. */
function toProducerMessage(planned: PlannedEvent): ProducerMessageLike {
  return { data: encodeEvent(planned.event), partitionKey: planned.subscriberId };
}
