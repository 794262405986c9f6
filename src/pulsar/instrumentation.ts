/**
 * OpenTelemetry auto-instrumentation for the `pulsar-client` module: patches
 * `Client.prototype.createProducer` / `subscribe` / `createReader`, then the
 * producers, consumers (and their listeners) and readers they return, and
 * notes each client's service URL as it is constructed (`server.address` /
 * `server.port`). Usable with `registerInstrumentations` and `NodeSDK`.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { trace, type TracerProvider } from '@opentelemetry/api';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  isWrapped,
  type InstrumentationConfig,
} from '@opentelemetry/instrumentation';
import { Keyscope, validateOptions, type KeyscopeOptions } from '../keyscope.js';
import { PACKAGE_NAME, VERSION } from '../version.js';
import {
  instrumentedClose,
  instrumentedCreateProducer,
  instrumentedCreateReader,
  instrumentedSubscribe,
  type ServiceUrlOf,
} from './client.js';
import type { ConsumerConfigLike, ConsumerLike, ProducerConfigLike, ProducerLike, ReaderConfigLike, ReaderLike } from './types.js';

/** Keyscope options (the tracer provider comes from OpenTelemetry's registration) plus `enabled`. */
export interface PulsarInstrumentationConfig extends InstrumentationConfig, Omit<KeyscopeOptions, 'tracerProvider'> {}

const FACTORIES = ['createProducer', 'subscribe', 'createReader'] as const;
type PatchableClient = Record<(typeof FACTORIES)[number], (config: never) => Promise<unknown>> & {
  close?: (...args: unknown[]) => unknown;
};
type ClientClass = (new (...args: unknown[]) => object) & { prototype: PatchableClient };
/** The module object that exports `Client`, and that class. */
interface ClientExport {
  holder: Record<string, unknown>;
  Client: ClientClass;
}

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
  declare private tracerProviderInUse: TracerProvider | undefined;
  /** Service URLs of the clients constructed while patched. */
  declare private serviceUrls: WeakMap<object, string> | undefined;
  /** The original `Client` class, while its export is replaced by a recording proxy. */
  declare private originalClient: { holder: Record<string, unknown>; Client: ClientClass; proxy: ClientClass } | undefined;

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
      this.keyscopeInstance = new Keyscope({ ...options, tracerProvider: this.tracerProviderInUse ?? trace.getTracerProvider() });
    }
    return this.keyscopeInstance;
  }

  override setTracerProvider(tracerProvider: TracerProvider): void {
    super.setTracerProvider(tracerProvider);
    this.tracerProviderInUse = tracerProvider;
    // The base class's tracer carries no schema URL; keyscope's own does.
    this.keyscopeInstance?.useTracerProvider(tracerProvider);
  }

  /**
   * Patches a loaded `pulsar-client` module (its exports, or an ESM namespace
   * whose default is them). Never throws: on any failure the module is
   * returned as it was, and the reason goes to the diag log.
   */
  patch<T>(moduleExports: T): T {
    try {
      const found = clientExport(moduleExports);
      if (found === undefined) {
        this._diag.warn('pulsar-client loaded but Client.prototype was not found; nothing instrumented');
        return moduleExports;
      }
      const prototype = found.Client.prototype;
      const pipeline = this.keyscope.internalPipeline;
      this.serviceUrls ??= new WeakMap();
      const serviceUrls = this.serviceUrls;
      const serviceUrlOf: ServiceUrlOf = (client) => (client !== null && typeof client === 'object' ? serviceUrls.get(client) : undefined);
      for (const name of FACTORIES) {
        if (isWrapped(prototype[name])) this._unwrap(prototype, name);
      }
      if (isWrapped(prototype.close)) this._unwrap(prototype, 'close');
      this._wrap(
        prototype,
        'createProducer',
        (original) =>
          instrumentedCreateProducer(
            pipeline,
            original as (config: ProducerConfigLike) => Promise<ProducerLike>,
            serviceUrlOf,
          ) as typeof original,
      );
      this._wrap(
        prototype,
        'subscribe',
        (original) =>
          instrumentedSubscribe(
            pipeline,
            original as (config: ConsumerConfigLike) => Promise<ConsumerLike>,
            serviceUrlOf,
          ) as typeof original,
      );
      this._wrap(
        prototype,
        'createReader',
        (original) => instrumentedCreateReader(pipeline, original as (config: ReaderConfigLike) => Promise<ReaderLike>) as typeof original,
      );
      if (typeof prototype.close === 'function') {
        this._wrap(
          prototype,
          'close',
          (original) => instrumentedClose(pipeline, original as (...args: unknown[]) => unknown) as typeof original,
        );
      }
      this.recordServiceUrls(found, serviceUrls);
      this.patchedModules ??= new Set();
      this.patchedModules.add(moduleExports);
    } catch (error) {
      this._diag.error('pulsar-client could not be instrumented; it runs uninstrumented', error);
    }
    return moduleExports;
  }

  unpatch(moduleExports: unknown): void {
    this.patchedModules?.delete(moduleExports);
    const found = clientExport(moduleExports);
    if (found === undefined) return;
    const prototype = found.Client.prototype;
    for (const name of FACTORIES) {
      if (isWrapped(prototype[name])) this._unwrap(prototype, name);
    }
    if (isWrapped(prototype.close)) this._unwrap(prototype, 'close');
    const original = this.originalClient;
    if (original !== undefined && original.holder === found.holder && found.holder.Client === original.proxy) {
      found.holder.Client = original.Client;
      this.originalClient = undefined;
    }
  }

  /**
   * Replaces the exported `Client` with a proxy that notes each new client's
   * `serviceUrl` (pulsar-client keeps its config inside the native addon).
   * Instances, statics and `instanceof` are the original class's. An export
   * that cannot be replaced (an ES module namespace) is left alone: its
   * clients are still instrumented, without `server.*` attributes.
   */
  private recordServiceUrls(found: ClientExport, serviceUrls: WeakMap<object, string>): void {
    if (this.originalClient?.proxy === found.Client) return;
    const Client = found.Client;
    const proxy: ClientClass = new Proxy(Client, {
      construct(target, args, newTarget) {
        const instance = Reflect.construct(target, args, newTarget === proxy ? target : newTarget) as object;
        try {
          const serviceUrl: unknown = (args[0] as { serviceUrl?: unknown } | null | undefined)?.serviceUrl;
          if (typeof serviceUrl === 'string') serviceUrls.set(instance, serviceUrl);
        } catch {
          // A hostile config: the client is still returned, without server attributes.
        }
        return instance;
      },
    });
    try {
      found.holder.Client = proxy;
    } catch {
      return;
    }
    if (found.holder.Client === proxy) this.originalClient = { holder: found.holder, Client, proxy };
  }

  private warnIfLoadedUnpatched(): void {
    if (this.warnedUnpatched || (this.patchedModules?.size ?? 0) > 0 || !this.isEnabled()) return;
    if (!pulsarClientLoaded()) return;
    this.warnedUnpatched = true;
    this._diag.warn(
      'pulsar-client was loaded without being instrumented: nothing it creates is traced. ' +
        'Create PulsarInstrumentation before pulsar-client is imported; an ES module application also needs ' +
        "OpenTelemetry's loader hook (node --import ./telemetry.mjs, registering @opentelemetry/instrumentation/hook.mjs).",
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

function clientExport(moduleExports: unknown): ClientExport | undefined {
  for (const candidate of [moduleExports, (moduleExports as { default?: unknown } | null | undefined)?.default]) {
    if (candidate === null || (typeof candidate !== 'object' && typeof candidate !== 'function')) continue;
    const holder = candidate as Record<string, unknown>;
    const client = holder.Client as { prototype?: unknown } | undefined;
    const prototype = client?.prototype as Partial<PatchableClient> | undefined;
    if (prototype !== undefined && typeof prototype.createProducer === 'function' && typeof prototype.subscribe === 'function') {
      return { holder, Client: client as ClientClass };
    }
  }
  return undefined;
}
