/** Builds a Keyscope over the in-memory stand-in with a private registry, tracing and a manual clock. */
import { Registry, type RegistryContentType } from 'prom-client';
import { Keyscope, PRODUCER_PROPERTY, SEQ_PROPERTY, type KeyscopeOptions } from '../../src/index.js';
import { FakeBroker, FakeClient } from '../../testing/fake-pulsar.js';
import { testTracing, type TestTracing } from './otel.js';

export class ManualClock {
  constructor(public nowMs = 1_700_000_000_000) {}
  now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

export interface Harness {
  keyscope: Keyscope;
  registry: Registry<RegistryContentType>;
  tracing: TestTracing;
  broker: FakeBroker;
  rawClient: FakeClient;
  client: FakeClient;
  clock: ManualClock;
}

export function harness(options: KeyscopeOptions & { sampled?: boolean; openMetrics?: boolean } = {}): Harness {
  const { sampled, openMetrics, ...keyscopeOptions } = options;
  const tracing = testTracing(sampled ?? true);
  const registry = new Registry<RegistryContentType>();
  if (openMetrics === true) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const clock = new ManualClock();
  const broker = new FakeBroker();
  broker.now = clock.now;
  const keyscope = new Keyscope({ registry, tracerProvider: tracing.provider, clock: clock.now, ...keyscopeOptions });
  const rawClient = new FakeClient(broker);
  return { keyscope, registry, tracing, broker, rawClient, client: keyscope.instrumentClient(rawClient), clock };
}

/** Value of the series with exactly these labels, or undefined when it does not exist. */
export async function metricValue(
  registry: Registry<RegistryContentType>,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`metric ${name} is not registered`);
  const data = await metric.get();
  const wanted = Object.entries(labels);
  const found = data.values.find((sample) => {
    const sampleName = (sample as { metricName?: string }).metricName;
    const sampleLabels = sample.labels as Record<string, unknown>;
    return (
      (sampleName === undefined || sampleName === name) &&
      Object.keys(sampleLabels).length === wanted.length &&
      wanted.every(([key, value]) => String(sampleLabels[key]) === value)
    );
  });
  return found?.value;
}

/** Count of a histogram series (its `_count` sample). */
export async function histogramCount(
  registry: Registry<RegistryContentType>,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`metric ${name} is not registered`);
  const data = await metric.get();
  const wanted = Object.entries(labels);
  const found = data.values.find(
    (v) =>
      (v as { metricName?: string }).metricName === `${name}_count` &&
      wanted.every(([k, value]) => String((v.labels as Record<string, unknown>)[k]) === value),
  );
  return found?.value;
}

/** Lets queued microtasks and listener chains run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Ordering violations of one kind on the series with these labels; 0 while the series does not exist. */
export async function orderingViolations(current: Harness, labels: Record<string, string>, kind: string): Promise<number> {
  return (await metricValue(current.registry, 'keyscope_ordering_violations_total', { ...labels, kind })) ?? 0;
}

/**
 * Publishes a message on topic 't' straight into the broker, as a producer
 * with the given stamps would have.
 */
export function publishStamped(current: Harness, key: string, producer: string, seq: number): void {
  current.broker.publish({
    topic: 't',
    properties: { [PRODUCER_PROPERTY]: producer, [SEQ_PROPERTY]: String(seq) },
    data: Buffer.from(`${key}-${seq}`),
    partitionKey: key,
    orderingKey: '',
    eventTimestamp: 0,
    producerName: producer,
  });
}
