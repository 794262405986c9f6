/**
 * Instrumented versions of the client factories (`createProducer`,
 * `subscribe`, `createReader`): the instances they return are wrapped, and a
 * `listener` in the config is wrapped before the client sees it; `close`
 * releases what the client's consumers held in flight. Shared by
 * `Keyscope.instrumentClient` and `PulsarInstrumentation`.
 */
import { ConsumerInstrumentation } from './consumer.js';
import { markInstrumented } from './instrumented.js';
import { logInternal, type Pipeline } from './pipeline.js';
import { instrumentProducer } from './producer.js';
import { readerInstrumentation } from './reader.js';
import { overlay } from './overlay.js';
import type {
  ClientLike,
  ConsumerConfigLike,
  ConsumerLike,
  MessageLike,
  ProducerConfigLike,
  ProducerLike,
  ReaderConfigLike,
  ReaderLike,
} from './types.js';

type Factory<Config, Instance> = (this: unknown, config: Config) => Promise<Instance>;
type Listener<Owner> = (message: MessageLike, owner: Owner) => unknown;
/** The service URL of the client a factory is called on (`this`), when known. */
export type ServiceUrlOf = (client: unknown) => string | undefined;

export interface InstrumentClientOptions {
  /** The client's service URL, for `server.address` / `server.port`. Default: the client's `serviceUrl` property, if any. */
  serviceUrl?: string;
}

const unknownServiceUrl: ServiceUrlOf = () => undefined;

export function instrumentedCreateProducer(
  pipeline: Pipeline,
  original: Factory<ProducerConfigLike, ProducerLike>,
  serviceUrlOf: ServiceUrlOf = unknownServiceUrl,
): Factory<ProducerConfigLike, ProducerLike> {
  return markInstrumented(function createProducer(this: unknown, config: ProducerConfigLike) {
    return original.call(this, config).then((producer) => {
      if (!pipeline.active) return producer;
      try {
        const topic = config !== null && typeof config === 'object' && typeof config.topic === 'string' ? config.topic : undefined;
        const serviceUrl = serviceUrlOf(this);
        return instrumentProducer(pipeline, producer, {
          ...(topic === undefined || isFullyQualified(producerTopic(producer)) ? {} : { topic }),
          ...(serviceUrl === undefined ? {} : { serviceUrl }),
        });
      } catch (error) {
        // The application still gets its producer, uninstrumented.
        logInternal(error);
        return producer;
      }
    });
  });
}

/** `this` is the client: its consumers are released when it closes (see instrumentedClose). */
export function instrumentedSubscribe(
  pipeline: Pipeline,
  original: Factory<ConsumerConfigLike, ConsumerLike>,
  serviceUrlOf: ServiceUrlOf = unknownServiceUrl,
): Factory<ConsumerConfigLike, ConsumerLike> {
  return markInstrumented(function subscribe(this: unknown, config: ConsumerConfigLike) {
    if (!pipeline.active || config === null || typeof config !== 'object') return original.call(this, config);
    let instrumentation: ConsumerInstrumentation;
    let effective: ConsumerConfigLike = config;
    try {
      const serviceUrl = serviceUrlOf(this);
      instrumentation = new ConsumerInstrumentation(pipeline, {
        ...(serviceUrl === undefined ? {} : { serviceUrl }),
        subscription: String(config.subscription),
        ...(config.subscriptionType === undefined ? {} : { subscriptionType: config.subscriptionType }),
        ...(typeof config.topic === 'string' ? { topic: config.topic } : {}),
        ...(typeof config.ackTimeoutMs === 'number' ? { ackTimeoutMs: config.ackTimeoutMs } : {}),
        ...(typeof config.nAckRedeliverTimeoutMs === 'number' ? { nAckRedeliverTimeoutMs: config.nAckRedeliverTimeoutMs } : {}),
      });
      if (typeof config.listener === 'function') {
        // A copy: the caller's config object keeps its own listener.
        effective = {
          ...config,
          listener: instrumentation.wrapListener(config.listener as unknown as Listener<ConsumerLike>) as ConsumerConfigLike['listener'],
        };
      }
    } catch (error) {
      logInternal(error);
      return original.call(this, config);
    }
    return original.call(this, effective).then((consumer) => {
      try {
        const wrapped = instrumentation.wrap(consumer);
        if (this !== null && typeof this === 'object') instrumentation.belongsTo(pipeline.consumersOfClient(this));
        return wrapped;
      } catch (error) {
        logInternal(error);
        return consumer;
      }
    });
  });
}

export function instrumentedCreateReader(
  pipeline: Pipeline,
  original: Factory<ReaderConfigLike, ReaderLike>,
): Factory<ReaderConfigLike, ReaderLike> {
  return markInstrumented(function createReader(this: unknown, config: ReaderConfigLike) {
    if (!pipeline.active || config === null || typeof config !== 'object') return original.call(this, config);
    const instrumentation = readerInstrumentation(pipeline);
    const effective: ReaderConfigLike =
      typeof config.listener === 'function'
        ? {
            ...config,
            listener: instrumentation.wrapListener(config.listener as unknown as Listener<ReaderLike>) as ReaderConfigLike['listener'],
          }
        : config;
    return original.call(this, effective).then((reader) => instrumentation.wrap(reader));
  });
}

/**
 * `close` of a client (`this`): the consumers subscribed through it stop
 * being tracked when it is called (their messages go back to the broker),
 * so nothing they held stays in flight as a stall. The call itself reaches
 * the client unchanged.
 */
export function instrumentedClose(
  pipeline: Pipeline,
  original: (this: unknown, ...args: unknown[]) => unknown,
): (this: unknown, ...args: unknown[]) => unknown {
  return markInstrumented(function close(this: unknown, ...args: unknown[]) {
    if (this !== null && typeof this === 'object') pipeline.releaseClient(this);
    return original.apply(this, args);
  });
}

export function instrumentClient<C extends ClientLike>(pipeline: Pipeline, client: C, options: InstrumentClientOptions = {}): C {
  // A client wrapped before, or one whose factories PulsarInstrumentation patched.
  if (pipeline.alreadyInstrumented('client', client) || pipeline.alreadyInstrumented('client', client.subscribe)) return client;
  const known = pipeline.wrappers.get(client);
  if (known !== undefined) return known as C;
  const raw: ClientLike = client;
  const serviceUrl = options.serviceUrl ?? ownServiceUrl(client);
  const serviceUrlOf: ServiceUrlOf = () => serviceUrl;
  const overrides: Record<string, unknown> = {
    createProducer: instrumentedCreateProducer(pipeline, (config) => raw.createProducer(config), serviceUrlOf),
    subscribe: instrumentedSubscribe(pipeline, (config) => raw.subscribe(config), serviceUrlOf),
    createReader: instrumentedCreateReader(pipeline, (config) => raw.createReader(config)),
  };
  const rawClose: unknown = raw.close;
  if (typeof rawClose === 'function')
    overrides.close = instrumentedClose(pipeline, (...args) => (rawClose as (...a: unknown[]) => unknown).apply(raw, args));
  const wrapped = overlay(client, overrides);
  pipeline.wrappers.set(client, wrapped);
  return wrapped;
}

/** A client's own `serviceUrl` property (the WebSocket client has one; pulsar-client's Client does not). */
function ownServiceUrl(client: object): string | undefined {
  try {
    const value: unknown = (client as { serviceUrl?: unknown }).serviceUrl;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The client's own name of the producer's topic: pulsar-client and the
 * WebSocket client report it fully qualified (`persistent://tenant/ns/topic`),
 * as consumers see it, even when the producer was created with a short name.
 */
function producerTopic(producer: ProducerLike): string | undefined {
  try {
    const topic: unknown = producer.getTopic();
    return typeof topic === 'string' ? topic : undefined;
  } catch {
    return undefined;
  }
}

function isFullyQualified(topic: string | undefined): boolean {
  return topic?.includes('://') === true;
}
