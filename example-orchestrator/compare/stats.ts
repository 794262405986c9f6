/** Small statistics over latency samples and time buckets, for the report. */

/** The q-quantile (0..1) of the values by the nearest-rank method; 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

/** Values grouped into one-second buckets by their time (ms since the run started). */
export class SecondBuckets {
  private readonly buckets: number[][] = [];

  add(atMs: number, value: number): void {
    const second = Math.max(0, Math.floor(atMs / 1000));
    while (this.buckets.length <= second) this.buckets.push([]);
    this.buckets[second]?.push(value);
  }

  get seconds(): number {
    return this.buckets.length;
  }

  counts(seconds = this.seconds): number[] {
    return Array.from({ length: seconds }, (_, i) => this.buckets[i]?.length ?? 0);
  }

  /** The q-quantile per second; null for a second with no sample (a gap in the chart, not a zero). */
  quantiles(q: number, seconds = this.seconds): Array<number | null> {
    return Array.from({ length: seconds }, (_, i) => {
      const bucket = this.buckets[i];
      return bucket === undefined || bucket.length === 0 ? null : round(quantile(bucket, q), 1);
    });
  }
}

export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
