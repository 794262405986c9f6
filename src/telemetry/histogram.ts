/**
 * A prom-client-compatible histogram whose hot path is a bucket search and
 * three additions. prom-client's own `observe` hashes its label object on
 * every call; here each label set is resolved once to a series object that
 * the caller keeps. The registry reads it through `get()` like any other
 * metric, so the exposition (and exemplars on OpenMetrics registries) is the
 * same as prom-client's Histogram.
 */

interface Exemplar {
  labelSet: Record<string, string>;
  value: number;
  timestamp: number;
}

export class HistogramSeries {
  /** Per-bucket counts (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  /**
   * The latest exemplar per bucket, kept as plain values (label value, observed
   * value, time in seconds) so that an observation allocates nothing; exemplar
   * objects are built when the registry collects.
   */
  private readonly exemplarLabel: string | undefined;
  private readonly exemplarValues: Array<string | undefined> | undefined;
  private readonly exemplarObserved: Float64Array | undefined;
  private readonly exemplarSeconds: Float64Array | undefined;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
    exemplarLabel: string | undefined,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
    this.exemplarLabel = exemplarLabel;
    if (exemplarLabel !== undefined) {
      this.exemplarValues = new Array<string | undefined>(bounds.length + 1);
      this.exemplarObserved = new Float64Array(bounds.length + 1);
      this.exemplarSeconds = new Float64Array(bounds.length + 1);
    }
  }

  /**
   * Records `value`; with exemplars enabled and `exemplarValue` given, it
   * becomes the bucket's exemplar, stamped `atMs` (milliseconds since the
   * epoch; the caller usually has the time at hand already).
   */
  observe(value: number, exemplarValue?: string, atMs?: number): void {
    if (!(value >= 0) && !(value < 0)) return; // NaN never reaches the exposition
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > (bounds[bucket] as number)) bucket++;
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.sum += value;
    this.count++;
    if (this.exemplarValues !== undefined && exemplarValue !== undefined) {
      this.exemplarValues[bucket] = exemplarValue;
      (this.exemplarObserved as Float64Array)[bucket] = value;
      (this.exemplarSeconds as Float64Array)[bucket] = (atMs ?? Date.now()) / 1000;
    }
  }

  exemplar(bucket: number): Exemplar | undefined {
    const labelValue = this.exemplarValues?.[bucket];
    if (labelValue === undefined || this.exemplarLabel === undefined) return undefined;
    return {
      labelSet: { [this.exemplarLabel]: labelValue },
      value: (this.exemplarObserved as Float64Array)[bucket] as number,
      timestamp: (this.exemplarSeconds as Float64Array)[bucket] as number,
    };
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
    this.exemplarValues?.fill(undefined);
  }
}

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
  exemplar?: Exemplar;
}

export class KeyscopeHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
    readonly enableExemplars: boolean,
    /** Label name of the exemplars (used when enableExemplars is on). */
    readonly exemplarLabel: string,
  ) {}

  /** The series for one label set, created on first use and kept by the caller. */
  child(labels: Readonly<Record<string, string>>): HistogramSeries {
    const id = this.labelNames.map((name) => labels[name] ?? '').join('\u0000');
    let series = this.series.get(id);
    if (series === undefined) {
      series = new HistogramSeries({ ...labels }, this.buckets, this.enableExemplars ? this.exemplarLabel : undefined);
      this.series.set(id, series);
    }
    return series;
  }

  /** Called by the registry on every scrape. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; values: Sample[]; aggregator: 'sum' }> {
    const values: Sample[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += series.counts[i] as number;
        const sample: Sample = {
          value: cumulative,
          labels: { ...series.labels, le: i < this.buckets.length ? (this.buckets[i] as number) : '+Inf' },
          metricName: bucketName,
        };
        const exemplar = series.exemplar(i);
        if (exemplar !== undefined) sample.exemplar = exemplar;
        values.push(sample);
      }
      values.push({ value: series.sum, labels: { ...series.labels }, metricName: `${this.name}_sum` });
      values.push({ value: series.count, labels: { ...series.labels }, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }

  /** `registry.resetMetrics()`: zero every series in place (callers keep their series objects). */
  reset(): void {
    for (const series of this.series.values()) series.reset();
  }
}
