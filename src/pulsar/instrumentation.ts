/**
 * OpenTelemetry auto-instrumentation for the `pulsar-client` module: patches
 * `Client.prototype.createProducer` / `subscribe` / `createReader`, then the
 * producers, consumers (and their listeners) and readers they return. Usable
 * with `registerInstrumentations` and `NodeSDK`.
 */
import type { TracerProvider } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { Keyscope, type KeyscopeOptions } from '../keyscope.js';
import { PACKAGE_NAME, VERSION } from '../version.js';
import { instrumentedCreateProducer, instrumentedCreateReader, instrumentedSubscribe } from './client.js';
import type { ConsumerConfigLike, ConsumerLike, ProducerConfigLike, ProducerLike, ReaderConfigLike, ReaderLike } from './types.js';

/** Keyscope options (the tracer provider comes from OpenTelemetry's registration) plus `enabled`. */
export interface PulsarInstrumentationConfig extends InstrumentationConfig, Omit<KeyscopeOptions, 'tracerProvider'> {}

const FACTORIES = ['createProducer', 'subscribe', 'createReader'] as const;
type PatchableClient = Record<(typeof FACTORIES)[number], (config: never) => Promise<unknown>>;

export class PulsarInstrumentation extends InstrumentationBase<PulsarInstrumentationConfig> {
  // `declare`: the base constructor may call enable() before subclass fields would be initialised.
  declare private keyscopeInstance: Keyscope | undefined;

  constructor(config: PulsarInstrumentationConfig = {}) {
    super(PACKAGE_NAME, VERSION, config);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'pulsar-client',
        ['>=1.0.0 <2'],
        (moduleExports: unknown) => this.patch(moduleExports),
        (moduleExports: unknown) => this.unpatch(moduleExports),
      ),
    ];
  }

  /** The Keyscope instance behind this instrumentation (created on first patch). */
  get keyscope(): Keyscope {
    if (this.keyscopeInstance === undefined) {
      const { enabled: _enabled, ...options } = this.getConfig();
      this.keyscopeInstance = new Keyscope({ ...options, tracerProvider: { getTracer: () => this.tracer } });
    }
    return this.keyscopeInstance;
  }

  override setTracerProvider(tracerProvider: TracerProvider): void {
    super.setTracerProvider(tracerProvider);
    this.keyscopeInstance?.useTracer(this.tracer);
  }

  /** Patches a loaded `pulsar-client` module (its exports, or an ESM namespace whose default is them). */
  patch<T>(moduleExports: T): T {
    const prototype = clientPrototype(moduleExports);
    if (prototype === undefined) {
      this._diag.warn('pulsar-client loaded but Client.prototype was not found; nothing instrumented');
      return moduleExports;
    }
    const pipeline = this.keyscope.internalPipeline;
    for (const name of FACTORIES) {
      if (isWrapped(prototype[name])) this._unwrap(prototype, name);
    }
    this._wrap(prototype, 'createProducer', (original) =>
      instrumentedCreateProducer(pipeline, original as (config: ProducerConfigLike) => Promise<ProducerLike>) as typeof original,
    );
    this._wrap(prototype, 'subscribe', (original) =>
      instrumentedSubscribe(pipeline, original as (config: ConsumerConfigLike) => Promise<ConsumerLike>) as typeof original,
    );
    this._wrap(prototype, 'createReader', (original) =>
      instrumentedCreateReader(pipeline, original as (config: ReaderConfigLike) => Promise<ReaderLike>) as typeof original,
    );
    return moduleExports;
  }

  unpatch(moduleExports: unknown): void {
    const prototype = clientPrototype(moduleExports);
    if (prototype === undefined) return;
    for (const name of FACTORIES) {
      if (isWrapped(prototype[name])) this._unwrap(prototype, name);
    }
  }
}

function clientPrototype(moduleExports: unknown): PatchableClient | undefined {
  for (const candidate of [moduleExports, (moduleExports as { default?: unknown } | null | undefined)?.default]) {
    const client = (candidate as { Client?: { prototype?: unknown } } | null | undefined)?.Client;
    const prototype = client?.prototype as Partial<PatchableClient> | undefined;
    if (prototype !== undefined && typeof prototype.createProducer === 'function' && typeof prototype.subscribe === 'function') {
      return prototype as PatchableClient;
    }
  }
  return undefined;
}
