import { describe, expect, it } from 'vitest';
import { windowOfSpan } from '../../../src/audit/index.js';
import { buildTimeline, renderTimeline, timelineJson, toOtlpSpan, type JaegerSpan } from '../../../src/timeline/index.js';

/** A process span as Jaeger's HTTP API returns it (times in microseconds, events as logs). */
function jaegerSpan(spanID: string, consumer: string, seq: number, startMs: number, durationMs: number, redelivery = 0): JaegerSpan {
  return {
    traceID: `trace-${spanID}`,
    spanID,
    operationName: 'process persistent://public/default/t',
    startTime: startMs * 1000,
    duration: durationMs * 1000,
    tags: [
      { key: 'span.kind', type: 'string', value: 'consumer' },
      { key: 'messaging.operation.type', type: 'string', value: 'process' },
      { key: 'messaging.destination.name', type: 'string', value: 'persistent://public/default/t' },
      { key: 'messaging.destination.subscription.name', type: 'string', value: 'sub' },
      { key: 'messaging.pulsar.message.key', type: 'string', value: 'abc' },
      { key: 'keyscope.consumer', type: 'string', value: consumer },
      { key: 'keyscope.producer', type: 'string', value: 'p1' },
      { key: 'keyscope.seq', type: 'int64', value: seq },
      { key: 'messaging.pulsar.redelivery_count', type: 'int64', value: redelivery },
    ],
    logs: [
      {
        timestamp: (startMs + durationMs - 1) * 1000,
        fields: [
          { key: 'event', type: 'string', value: 'settle' },
          { key: 'messaging.operation.name', type: 'string', value: 'ack' },
        ],
      },
    ],
  };
}

function rows(spans: JaegerSpan[]) {
  const entries = spans.map((span) => ({ window: windowOfSpan(toOtlpSpan(span)), service: 'svc' }));
  return buildTimeline(
    entries.filter((e): e is { window: Exclude<typeof e.window, string>; service: string } => typeof e.window === 'object'),
    5,
  );
}

describe('key timeline', () => {
  it('orders deliveries by receive time and marks overlaps across consumers and reorders', () => {
    const t0 = 1_800_000_000_000;
    const built = rows([
      jaegerSpan('c', 'B', 2, t0 + 50, 100), // overlaps #1 at A; seq 2 after seq 3 elsewhere
      jaegerSpan('a', 'A', 1, t0, 20),
      jaegerSpan('b', 'A', 3, t0 + 30, 40),
      jaegerSpan('d', 'A', 4, t0 + 200, 10),
    ]);
    expect(built.map((r) => r.window.seq)).toEqual([1, 3, 2, 4]);
    expect(built.map((r) => r.overlaps)).toEqual([[], [3], [2], []]);
    expect(built.map((r) => r.reorder)).toEqual([false, false, true, false]);
    expect(built[0]?.window.settle).toBe('ack');
    expect(built[0]?.window.settledAt).toBe(t0 + 19);
    const json = timelineJson('user-1', 'abc', built);
    expect(json.exclusivityOverlaps).toBe(1);
    expect(json.reorders).toBe(1);
    const table = renderTimeline(json);
    expect(table).toMatch(/4 deliveries at 2 consumer\(s\), 1 overlap\(s\) across consumers, 1 reorder\(s\)/);
    expect(table).toMatch(/OVERLAP #2 \(19\.0 ms\) REORDER/);
  });

  it('says so when nothing matched', () => {
    expect(renderTimeline(timelineJson('k', 'h', []))).toMatch(/No process spans for key k/);
  });
});
