/**
 * The facade: validates options and builds the tracker, telemetry and
 * wrappers of one instance.
 */
import { trace, type TracerProvider, type Tracer } from '@opentelemetry/api';
import type { UnstampedOrdering } from './context/incoming.js';
import { KeyscopeConfigError } from './errors.js';
import { instrumentClient, type InstrumentClientOptions } from './pulsar/client.js';
import { ConsumerDelivery, instrumentConsumer, runWindow, type InstrumentConsumerOptions } from './pulsar/consumer.js';
import { Pipeline, logInternal, type ConsumerHook, type ProducerHook } from './pulsar/pipeline.js';
import { instrumentProducer, type InstrumentProducerOptions } from './pulsar/producer.js';
import type { ClientLike, ConsumerLike, MessageLike, ProducerLike } from './pulsar/types.js';
import { DEFAULT_KEY_HASH_SECRET, KeyRenderer, type KeyPolicy } from './telemetry/key-policy.js';
import { KeyscopeMetrics, type AnyRegistry } from './telemetry/metrics.js';
import { KeyscopeSpans, type ConsumerSpanRelation } from './telemetry/spans.js';
import { Tracker, type Delivery } from './tracking/tracker.js';
import { SCHEMA_URL } from './semconv.js';
import { PACKAGE_NAME, VERSION } from './version.js';

export interface KeyscopeOptions {
  /** prom-client registry for the keyscope_* metrics. Default: prom-client's global registry. */
  registry?: AnyRegistry;
  /** Tracer provider for spans. Default: the global one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** A message in flight longer than this is stalled. Default: `KEYSCOPE_DEFAULTS.stallThresholdMs`. */
  stallThresholdMs?: number;
  /** Upper bound of keys tracked for ordering and stalls. Default: `KEYSCOPE_DEFAULTS.maxTrackedKeys`. */
  maxTrackedKeys?: number;
  /**
   * Upper bound of messages tracked in flight (received, not yet acked or
   * nacked) across all consumers. Beyond it the oldest is dropped from
   * tracking and counted in keyscope_inflight_evictions_total; acks are never
   * affected. Default: `KEYSCOPE_DEFAULTS.maxInflightMessages`.
   */
  maxInflightMessages?: number;
  /**
   * How many settled messages each subscription (topic and subscription)
   * remembers, so that a message coming again is recognised as a redelivery
   * whatever the broker's redelivery count says (it says 0 after a reconnect,
   * on Exclusive and Failover, and for the siblings of a nacked batch
   * message): the last this many keyed messages with stamps (by their
   * stamps), and the most recent half to all of this many ids of the others
   * (in two generations; the messages of one batch count once). Messages
   * still in flight are always recognised. 0 remembers none. Default:
   * `KEYSCOPE_DEFAULTS.recentSettledIds`.
   */
  recentSettledIds?: number;
  /** How many of the oldest stalled keys are exported with a `key` label (0: none). Default: `KEYSCOPE_DEFAULTS.topStalledKeys`. */
  topStalledKeys?: number;
  /** How keys appear on spans and labels. Default: `KEYSCOPE_DEFAULTS.keyPolicy`. */
  keyPolicy?: KeyPolicy;
  /** Secret of the keyed key hash. Default: a fixed built-in value, so hashes match across processes. */
  keyHashSecret?: string;
  /**
   * 'parent': process spans continue the producer's trace and link to the
   * producer's span. 'link': new trace, linked. Default: `KEYSCOPE_DEFAULTS.consumerSpanRelation`.
   */
  consumerSpanRelation?: ConsumerSpanRelation;
  /**
   * A `receive {topic}` span (CLIENT) for each `receive()` / `batchReceive()`
   * call that returns messages, linked to their producers. Default: `KEYSCOPE_DEFAULTS.receiveSpans`.
   */
  receiveSpans?: boolean;
  /** Record `messaging.message.body.size` (the payload's length in bytes). Default: `KEYSCOPE_DEFAULTS.messageBodySize`. */
  messageBodySize?: boolean;
  /**
   * Order checks for messages without keyscope's stamps whose producer sets a
   * sequence of its own in a property. Default: none (such messages are
   * counted in keyscope_unstamped_messages_total and not checked for order).
   */
  unstampedOrdering?: UnstampedOrdering;
  producerHook?: ProducerHook;
  consumerHook?: ConsumerHook;
  /** How often in-flight, stall and key-table gauges are refreshed. Default: `KEYSCOPE_DEFAULTS.sweepIntervalMs`. */
  sweepIntervalMs?: number;
  /** Milliseconds since the epoch; injectable for tests. Default: a monotonic high-resolution clock. */
  clock?: () => number;
}

/** The defaults of `KeyscopeOptions`, in one place (the README's options table is checked against it). */
export const KEYSCOPE_DEFAULTS = {
  stallThresholdMs: 30_000,
  maxTrackedKeys: 100_000,
  maxInflightMessages: 100_000,
  recentSettledIds: 10_000,
  topStalledKeys: 10,
  keyPolicy: 'hashed' as KeyPolicy,
  consumerSpanRelation: 'parent' as ConsumerSpanRelation,
  receiveSpans: false,
  messageBodySize: false,
  sweepIntervalMs: 1_000,
} as const;
const DEFAULTS = KEYSCOPE_DEFAULTS;

/** The tracer keyscope records with: named and versioned after the package, with the conventions' schema URL. */
export function keyscopeTracer(provider: TracerProvider): Tracer {
  return provider.getTracer(PACKAGE_NAME, VERSION, { schemaUrl: SCHEMA_URL });
}

/**
 * Sub-millisecond and monotonic between sweeps, on the wall-clock scale that
 * broker publish timestamps use: the offset to the wall clock is re-read on
 * every sweep, so NTP adjustments do not accumulate into end-to-end latency.
 */
class WallAlignedClock {
  private offset = Date.now() - performance.now();
  readonly now = (): number => this.offset + performance.now();
  realign(): void {
    this.offset = Date.now() - performance.now();
  }
}

export class Keyscope {
  private readonly pipeline: Pipeline;
  private readonly keys: KeyRenderer;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly defaultClock: WallAlignedClock | undefined;

  constructor(options: KeyscopeOptions = {}) {
    const resolved = validateOptions(options);
    if (resolved.clock === undefined) this.defaultClock = new WallAlignedClock();
    const tracer = keyscopeTracer(resolved.tracerProvider ?? trace.getTracerProvider());
    this.keys = new KeyRenderer(resolved.keyPolicy, resolved.keyHashSecret);
    this.pipeline = new Pipeline({
      tracker: new Tracker({
        maxTrackedKeys: resolved.maxTrackedKeys,
        maxInflightMessages: resolved.maxInflightMessages,
        recentSettledIds: resolved.recentSettledIds,
        stallThresholdMs: resolved.stallThresholdMs,
        topStalledKeys: resolved.topStalledKeys,
      }),
      metrics: new KeyscopeMetrics(resolved.registry),
      spans: new KeyscopeSpans(tracer, this.keys, {
        relation: resolved.consumerSpanRelation,
        bodySize: resolved.messageBodySize,
        receiveSpans: resolved.receiveSpans,
      }),
      clock: resolved.clock ?? (this.defaultClock as WallAlignedClock).now,
      producerHook: resolved.producerHook,
      consumerHook: resolved.consumerHook,
      unstampedOrdering: resolved.unstampedOrdering,
    });
    this.sweepTimer = setInterval(() => this.sweep(), resolved.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /**
   * Everything created through the returned client (producers, consumers
   * incl. listeners, readers) is instrumented. `serviceUrl` (for
   * `server.address` / `server.port`) defaults to the client's own
   * `serviceUrl` property where it has one (the WebSocket client does).
   */
  instrumentClient<C extends ClientLike>(client: C, options: InstrumentClientOptions = {}): C {
    return instrumentClient(this.pipeline, client, options);
  }

  instrumentProducer<P extends ProducerLike>(producer: P, options: InstrumentProducerOptions = {}): P {
    return instrumentProducer(this.pipeline, producer, options);
  }

  instrumentConsumer<C extends ConsumerLike>(consumer: C, options: InstrumentConsumerOptions): C {
    if (options === null || typeof options !== 'object' || typeof options.subscription !== 'string' || options.subscription === '') {
      throw new KeyscopeConfigError(
        'instrumentConsumer(consumer, { subscription }) needs the subscription name: it labels every consumer metric.',
      );
    }
    return instrumentConsumer(this.pipeline, consumer, options);
  }

  /**
   * Runs `fn` inside the message's `process` span and processing window (for
   * `receive()`-style code; listeners get this by themselves). Returns what
   * `fn` returns; for a promise the window ends when it settles. A message not
   * received through an instrumented consumer just runs `fn`.
   */
  process<T>(message: MessageLike, fn: () => T): T {
    let delivery: Delivery | undefined;
    try {
      delivery = this.pipeline.deliveries.get(message);
    } catch (error) {
      logInternal(error);
    }
    return delivery instanceof ConsumerDelivery ? runWindow(this.pipeline, delivery, fn) : fn();
  }

  /** The hashed form of a key as it appears on spans and labels under keyPolicy 'hashed' (to search traces by key). */
  hashKey(key: string): string {
    return this.keys.hash(key);
  }

  /** Refreshes in-flight, stall and key-table metrics now (also runs every sweepIntervalMs). */
  sweep(): void {
    if (this.closed) return;
    try {
      this.defaultClock?.realign();
      const now = this.pipeline.clock();
      for (const consumer of this.pipeline.consumers) consumer.expireAckTimeouts(now);
      const result = this.pipeline.tracker.sweep(now);
      const policy = this.keys.policy;
      this.pipeline.metrics.applySweep(result, (key, rank) => (policy === 'none' ? String(rank) : (this.keys.render(key) ?? String(rank))));
    } catch (error) {
      logInternal(error);
    }
  }

  /** Stops the sweep timer and withdraws this instance's gauges; wrappers then pass calls straight through. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pipeline.active = false;
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    try {
      // End what is still in flight, so no span stays open and no message stays referenced.
      for (const consumer of [...this.pipeline.consumers]) consumer.stopTracking(false);
      this.pipeline.consumers.clear();
      this.pipeline.metrics.withdraw();
    } catch (error) {
      logInternal(error);
    }
  }

  /** @internal Used by PulsarInstrumentation when its tracer provider changes. */
  useTracer(tracer: Tracer): void {
    this.pipeline.spans.tracer = tracer;
  }

  /** @internal */
  get internalPipeline(): Pipeline {
    return this.pipeline;
  }
}

interface ResolvedOptions {
  registry: AnyRegistry | undefined;
  tracerProvider: TracerProvider | undefined;
  stallThresholdMs: number;
  maxTrackedKeys: number;
  maxInflightMessages: number;
  recentSettledIds: number;
  topStalledKeys: number;
  keyPolicy: KeyPolicy;
  keyHashSecret: string;
  consumerSpanRelation: ConsumerSpanRelation;
  receiveSpans: boolean;
  messageBodySize: boolean;
  unstampedOrdering: UnstampedOrdering | undefined;
  producerHook: ProducerHook | undefined;
  consumerHook: ConsumerHook | undefined;
  sweepIntervalMs: number;
  clock: (() => number) | undefined;
}

/** @internal Throws KeyscopeConfigError for options that cannot work; shared with PulsarInstrumentation. */
export function validateOptions(options: KeyscopeOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new KeyscopeConfigError('new Keyscope(options): options must be an object (or omitted for the defaults).');
  }
  const o = options;
  if (
    o.registry !== undefined &&
    (typeof o.registry !== 'object' || typeof o.registry.getSingleMetric !== 'function' || typeof o.registry.registerMetric !== 'function')
  ) {
    throw new KeyscopeConfigError("Option `registry` must be a prom-client Registry (e.g. `new Registry()` or prom-client's `register`).");
  }
  if (o.tracerProvider !== undefined && (typeof o.tracerProvider !== 'object' || typeof o.tracerProvider.getTracer !== 'function')) {
    throw new KeyscopeConfigError(
      'Option `tracerProvider` must be an OpenTelemetry TracerProvider (an object with getTracer()); omit it to use the global one.',
    );
  }
  const positive = (name: string, value: unknown, fallback: number, integer: boolean, allowZero = false): number => {
    if (value === undefined) return fallback;
    const ok =
      typeof value === 'number' && Number.isFinite(value) && (allowZero ? value >= 0 : value > 0) && (!integer || Number.isInteger(value));
    if (!ok) {
      throw new KeyscopeConfigError(
        `Option \`${name}\` must be a ${allowZero ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'} (got ${String(value)}); omit it for the default ${fallback}.`,
      );
    }
    return value as number;
  };
  const oneOf = <T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T => {
    if (value === undefined) return fallback;
    if (!allowed.includes(value as T)) {
      throw new KeyscopeConfigError(`Option \`${name}\` must be one of ${allowed.map((a) => `'${a}'`).join(', ')} (got ${String(value)}).`);
    }
    return value as T;
  };
  const fn = <F>(name: string, value: unknown): F | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'function') throw new KeyscopeConfigError(`Option \`${name}\` must be a function.`);
    return value as F;
  };
  const flag = (name: string, value: unknown, fallback: boolean): boolean => {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean')
      throw new KeyscopeConfigError(
        `Option \`${name}\` must be true or false (got ${String(value)}); omit it for the default ${fallback}.`,
      );
    return value;
  };
  if (o.keyHashSecret !== undefined && (typeof o.keyHashSecret !== 'string' || o.keyHashSecret === '')) {
    throw new KeyscopeConfigError('Option `keyHashSecret` must be a non-empty string; omit it for the built-in default.');
  }
  return {
    registry: o.registry,
    tracerProvider: o.tracerProvider,
    stallThresholdMs: positive('stallThresholdMs', o.stallThresholdMs, DEFAULTS.stallThresholdMs, false),
    maxTrackedKeys: positive('maxTrackedKeys', o.maxTrackedKeys, DEFAULTS.maxTrackedKeys, true),
    maxInflightMessages: positive('maxInflightMessages', o.maxInflightMessages, DEFAULTS.maxInflightMessages, true),
    recentSettledIds: positive('recentSettledIds', o.recentSettledIds, DEFAULTS.recentSettledIds, true, true),
    topStalledKeys: positive('topStalledKeys', o.topStalledKeys, DEFAULTS.topStalledKeys, true, true),
    keyPolicy: oneOf('keyPolicy', o.keyPolicy, ['hashed', 'plain', 'none'] as const, DEFAULTS.keyPolicy),
    keyHashSecret: o.keyHashSecret ?? DEFAULT_KEY_HASH_SECRET,
    consumerSpanRelation: oneOf('consumerSpanRelation', o.consumerSpanRelation, ['parent', 'link'] as const, DEFAULTS.consumerSpanRelation),
    receiveSpans: flag('receiveSpans', o.receiveSpans, DEFAULTS.receiveSpans),
    messageBodySize: flag('messageBodySize', o.messageBodySize, DEFAULTS.messageBodySize),
    unstampedOrdering: validateUnstampedOrdering(o.unstampedOrdering),
    producerHook: fn<ProducerHook>('producerHook', o.producerHook),
    consumerHook: fn<ConsumerHook>('consumerHook', o.consumerHook),
    sweepIntervalMs: positive('sweepIntervalMs', o.sweepIntervalMs, DEFAULTS.sweepIntervalMs, false),
    clock: fn<() => number>('clock', o.clock),
  };
}

function validateUnstampedOrdering(value: unknown): UnstampedOrdering | undefined {
  if (value === undefined) return undefined;
  const usage =
    'Option `unstampedOrdering` must be { sequenceProperty: string, producerProperty?: string }, naming the message properties where your producers write their own sequence number (and name)';
  if (value === null || typeof value !== 'object') throw new KeyscopeConfigError(`${usage}; got ${String(value)}.`);
  const { sequenceProperty, producerProperty } = value as { sequenceProperty?: unknown; producerProperty?: unknown };
  const valid = (name: unknown): name is string => typeof name === 'string' && name !== '';
  if (!valid(sequenceProperty)) throw new KeyscopeConfigError(`${usage}; sequenceProperty is missing or empty.`);
  if (producerProperty !== undefined && !valid(producerProperty))
    throw new KeyscopeConfigError(`${usage}; producerProperty must be a non-empty string.`);
  return producerProperty === undefined ? { sequenceProperty } : { sequenceProperty, producerProperty };
}
