/**
 * Publishes subscriber events onto a run's events topic (key = subscriber id)
 * and logs each confirmed one in the run's events.jsonl, the event log the
 * oracle replays. Load generators use this, so the log always matches what
 * the broker stored.
 */
import { join } from 'node:path';
import type { ClientLike, ProducerLike } from 'pulsar-keyscope';
import { encodeEvent, type SubscriberEvent } from '../domain/events.js';
import { RUN_FILES, type EventLogRecord } from '../domain/records.js';
import type { RunInfo } from '../modes/run-info.js';
import { JsonlWriter } from './jsonl.js';

export interface EventPublisher {
  /** Resolves once the broker stored the event and it is in the event log. */
  publish(event: SubscriberEvent): Promise<void>;
  /**
   * Publishes a payload that is not a valid event (bad JSON, unknown type, no
   * subscriber id...), for bad-input tests; it is not logged as an event.
   */
  publishRaw(key: string, payload: Buffer): Promise<void>;
  close(): Promise<void>;
}

export async function openEventPublisher(client: ClientLike, run: RunInfo): Promise<EventPublisher> {
  const config = {
    topic: run.topics.events,
    // pulsar-client's defaults would batch across keys (which spreads one key
    // over several Key_Shared consumers) and fail fast when the queue is full.
    batchingEnabled: false,
    blockIfQueueFull: true,
    sendTimeoutMs: 30_000,
  };
  const producer: ProducerLike = await client.createProducer(config);
  const log = new JsonlWriter<EventLogRecord>(join(run.runDir, RUN_FILES.events));
  return {
    async publish(event) {
      const id = await producer.send({ data: encodeEvent(event), partitionKey: event.subscriberId });
      log.write({ ...event, publishedAt: Date.now(), messageId: id.toString() });
    },
    async publishRaw(key, payload) {
      await producer.send({ data: payload, ...(key === '' ? {} : { partitionKey: key }) });
    },
    async close() {
      await producer.flush().catch(() => null);
      await producer.close();
      await log.close();
    },
  };
}
