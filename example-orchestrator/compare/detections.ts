/**
 * keyscope's per-key detections, written down so that the comparison can
 * score them against the oracle subscriber by subscriber (recall and false
 * positives per kind). keyscope marks a `process` span with
 * `keyscope.violation` when it sees a reorder or two overlapping processing
 * windows of one key in this process; this span processor appends one JSON
 * line per such span. Add it to the NodeSDK's spanProcessors of each
 * orchestrator process (with keyPolicy 'plain', so the key is the subscriber id).
 */
import { appendFileSync } from 'node:fs';
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';

export const DETECTIONS_FILE_ENV = 'ORCH_DETECTIONS_FILE';

export interface DetectionRecord {
  subscriberId: string;
  /** reorder, redelivery_reorder or concurrent. */
  kind: string;
  /** The process that saw it, e.g. orchestrator-1. */
  consumer: string;
  traceId: string;
  /** Wall clock at the end of the span. */
  at: number;
}

const VIOLATION = 'keyscope.violation';
const MESSAGE_KEY = 'messaging.pulsar.message.key';

export class DetectionLog implements SpanProcessor {
  private buffer: string[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly path: string,
    private readonly consumer: string,
    flushIntervalMs = 500,
  ) {
    this.timer = setInterval(() => this.flushBuffer(), flushIntervalMs);
    this.timer.unref();
  }

  /** The log named by ORCH_DETECTIONS_FILE, or undefined when it is unset. */
  static fromEnv(consumer: string, env: NodeJS.ProcessEnv = process.env): DetectionLog | undefined {
    const path = env[DETECTIONS_FILE_ENV];
    return path === undefined || path === '' ? undefined : new DetectionLog(path, consumer);
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    const kind = span.attributes[VIOLATION];
    if (typeof kind !== 'string') return;
    const key = span.attributes[MESSAGE_KEY];
    const record: DetectionRecord = {
      subscriberId: typeof key === 'string' ? key : '',
      kind,
      consumer: this.consumer,
      traceId: span.spanContext().traceId,
      at: Date.now(),
    };
    // Bounded: a flood of violations cannot grow the buffer past what one
    // flush interval of a busy process produces.
    if (this.buffer.length < 100_000) this.buffer.push(JSON.stringify(record));
  }

  async forceFlush(): Promise<void> {
    this.flushBuffer();
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    this.flushBuffer();
  }

  private flushBuffer(): void {
    if (this.buffer.length === 0) return;
    const lines = `${this.buffer.join('\n')}\n`;
    this.buffer = [];
    try {
      // Appends of one process; a kill -9 loses at most one interval.
      appendFileSync(this.path, lines);
    } catch {
      // The detections are evidence for the report, never a reason to stop the consumer.
    }
  }
}
