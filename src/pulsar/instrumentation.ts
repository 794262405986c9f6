/**
 * OpenTelemetry auto-instrumentation for the `pulsar-client` module: patches
 * `Client.prototype.createProducer` / `subscribe` / `createReader`, then the
 * producers, consumers (and their listeners) and readers they return. Usable
 * with `registerInstrumentations` and `NodeSDK`.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { TracerProvider } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { Keyscope, validateOptions, type KeyscopeOptions } from '../keyscope.js';
import { PACKAGE_NAME, VERSION } from '../version.js';
import { instrumentedCreateProducer, instrumentedCreateReader, instrumentedSubscribe } from './client.js';
import type { ConsumerConfigLike, ConsumerLike, ProducerConfigLike, ProducerLike, ReaderConfigLike, ReaderLike } from './types.js';

/** Keyscope options (the tracer provider comes from OpenTelemetry's registration) plus `enabled`. */
export interface PulsarInstrumentationConfig extends InstrumentationConfig, Omit<KeyscopeOptions, 'tracerProvider'> {}

const FACTORIES = ['createProducer', 'subscribe', 'createReader'] as const;
type PatchableClient = Record<(typeof FACTORIES)[number], (config: never) => Promise<unknown>>;

/**
 * When `pulsar-client` is in the module cache this long after the
 * instrumentation was enabled and was never patched, it was loaded around the
 * hooks (an ESM application started without the loader hook, or an import
 * that ran first): say so once instead of instrumenting nothing silently.
 */
const UNPATCHED_CHECK_DELAYS_MS = [1_000, 10_000] as const;

export class PulsarInstrumentation extends InstrumentationBase<PulsarInstrumentationConfig> {
  // `declare`: the base constructor calls setConfig() and enable() before subclass fields would be initialised.
  declare private keyscopeInstance: Keyscope | undefined;
  declare private patchedModules: Set<unknown> | undefined;
  declare private unpatchedTimers: NodeJS.Timeout[] | undefined;
  declare private warnedUnpatched: boolean | undefined;

  /** Bad options throw `KeyscopeConfigError` here, where they are written, never later from `require('pulsar-client')`. */
  constructor(config: PulsarInstrumentationConfig = {}) {
    super(PACKAGE_NAME, VERSION, config);
  }

  /**
   * Validates and applies new options (throws `KeyscopeConfigError` for bad
   * ones, leaving the current ones in force). Producers and consumers created
   * after the call use them; those created before keep the options they had.
   */
  override setConfig(config: PulsarInstrumentationConfig = {}): void {
    const { enabled: _enabled, ...options } = config ?? {};
    validateOptions(options);
    super.setConfig(config);
    if (this.keyscopeInstance === undefined) return;
    const previous = this.keyscopeInstance;
    this.keyscopeInstance = undefined;
    for (const moduleExports of this.patchedModules ?? []) this.patch(moduleExports);
    previous.close();
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

  override enable(): void {
    super.enable();
    this.unpatchedTimers ??= [];
    for (const delay of UNPATCHED_CHECK_DELAYS_MS) {
      const timer = setTimeout(() => this.warnIfLoadedUnpatched(), delay);
      timer.unref();
      this.unpatchedTimers.push(timer);
    }
  }

  override disable(): void {
    for (const timer of this.unpatchedTimers ?? []) clearTimeout(timer);
    this.unpatchedTimers = [];
    super.disable();
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

  /**
   * Patches a loaded `pulsar-client` module (its exports, or an ESM namespace
   * whose default is them). Never throws: on any failure the module is
   * returned as it was, and the reason goes to the diag log.
   */
  patch<T>(moduleExports: T): T {
    try {
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
      (this.patchedModules ??= new Set()).add(moduleExports);
    } catch (error) {
      this._diag.error('pulsar-client could not be instrumented; it runs uninstrumented', error);
    }
    return moduleExports;
  }

  unpatch(moduleExports: unknown): void {
    this.patchedModules?.delete(moduleExports);
    const prototype = clientPrototype(moduleExports);
    if (prototype === undefined) return;
    for (const name of FACTORIES) {
      if (isWrapped(prototype[name])) this._unwrap(prototype, name);
    }
  }

  private warnIfLoadedUnpatched(): void {
    if (this.warnedUnpatched || (this.patchedModules?.size ?? 0) > 0 || !this.isEnabled()) return;
    if (!pulsarClientLoaded()) return;
    this.warnedUnpatched = true;
    this._diag.warn(
      'pulsar-client was loaded without being instrumented: nothing it creates is traced. ' +
        'Create PulsarInstrumentation before pulsar-client is imported; an ES module application also needs ' +
        'OpenTelemetry\'s loader hook (node --import ./telemetry.mjs, registering @opentelemetry/instrumentation/hook.mjs).',
    );
  }
}

/** True when the application's `pulsar-client` is in the module cache (ES module imports of it land there too). */
function pulsarClientLoaded(): boolean {
  try {
    const require = createRequire(join(process.cwd(), 'noop.js'));
    const resolved = require.resolve('pulsar-client');
    return require.cache[resolved] !== undefined;
  } catch {
    return false;
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
