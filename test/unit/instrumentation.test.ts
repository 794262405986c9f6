import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isWrapped, registerInstrumentations } from '@opentelemetry/instrumentation';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { Registry, type RegistryContentType } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { KeyscopeConfigError, PulsarInstrumentation, SEQ_PROPERTY } from '../../src/index.js';
import { FakeBroker, FakeClient, type FakeConsumer, type FakeMessage } from '../../testing/fake-pulsar.js';
import { settle } from '../support/harness.js';
import { testTracing } from '../support/otel.js';

/** A module shaped like pulsar-client's exports whose Client delegates to the in-memory stand-in. */
function fakeModule() {
  const broker = new FakeBroker();
  class Client {
    private readonly inner = new FakeClient(broker);
    createProducer(config: Parameters<FakeClient['createProducer']>[0]) {
      return this.inner.createProducer(config);
    }
    subscribe(config: Parameters<FakeClient['subscribe']>[0]) {
      return this.inner.subscribe(config);
    }
    createReader(config: Parameters<FakeClient['createReader']>[0]) {
      return this.inner.createReader(config);
    }
  }
  return { Client };
}

/** A folder with node_modules/pulsar-client: a tiny CommonJS module shaped like the real one. */
function fakePulsarPackage(): string {
  const root = mkdtempSync(join(tmpdir(), 'keyscope-instrumentation-'));
  const packageDir = join(root, 'node_modules', 'pulsar-client');
  mkdirSync(packageDir, { recursive: true });
  writeFileSync(join(packageDir, 'package.json'), JSON.stringify({ name: 'pulsar-client', version: '1.18.0', main: 'index.js' }));
  writeFileSync(
    join(packageDir, 'index.js'),
    `class Producer { getTopic() { return this.topic; } send(message) { this.sent = message; return Promise.resolve({ toString: () => '1:0:-1' }); } }
class Client {
  createProducer(config) { const p = new Producer(); p.topic = config.topic; return Promise.resolve(p); }
  subscribe() { return Promise.reject(new Error('not in this test')); }
  createReader() { return Promise.reject(new Error('not in this test')); }
}
module.exports = { Client, Producer };`,
  );
  return root;
}

type FakePulsarModule = {
  Client: new () => { createProducer(c: { topic: string }): Promise<{ send(m: object): Promise<unknown> }> };
};

describe('PulsarInstrumentation', () => {
  it('patches Client.prototype factories and the instances they return, and unpatches', async () => {
    const tracing = testTracing();
    const registry = new Registry<RegistryContentType>();
    const instrumentation = new PulsarInstrumentation({ registry, enabled: false });
    instrumentation.setTracerProvider(tracing.provider);
    const module = fakeModule();
    const originalSubscribe = module.Client.prototype.subscribe;

    instrumentation.patch(module);
    expect(isWrapped(module.Client.prototype.createProducer)).toBe(true);
    expect(isWrapped(module.Client.prototype.subscribe)).toBe(true);
    expect(isWrapped(module.Client.prototype.createReader)).toBe(true);

    const client = new module.Client();
    const received: string[] = [];
    await client.subscribe({
      topic: 't',
      subscription: 's',
      listener: async (msg: FakeMessage, consumer: FakeConsumer) => {
        received.push(msg.getProperties()[SEQ_PROPERTY] ?? 'unstamped');
        await consumer.acknowledge(msg);
      },
    });
    const producer = await client.createProducer({ topic: 't' });
    await producer.send({ data: Buffer.from('x'), partitionKey: 'k' });
    const reader = await client.createReader({ topic: 't' });
    await producer.send({ data: Buffer.from('y'), partitionKey: 'k' });
    await reader.readNext();
    await settle();
    expect(received).toEqual(['1', '2']);
    const [send] = tracing.byName('send t');
    const processSpans = tracing.byName('process t');
    expect(processSpans).toHaveLength(3); // two listener deliveries and one read
    expect(processSpans[0]?.spanContext().traceId).toBe(send?.spanContext().traceId);
    expect(registry.getSingleMetric('keyscope_messages_acked_total')).toBeDefined();
    expect(await registry.getSingleMetricAsString('keyscope_messages_acked_total')).toContain('subscription="s"} 2');

    instrumentation.unpatch(module);
    expect(isWrapped(module.Client.prototype.subscribe)).toBe(false);
    expect(module.Client.prototype.subscribe).toBe(originalSubscribe);
    instrumentation.keyscope.close();
  });

  it('patches pulsar-client when it is required after registerInstrumentations', async () => {
    const root = fakePulsarPackage();
    try {
      const tracing = testTracing();
      const instrumentation = new PulsarInstrumentation({ registry: new Registry<RegistryContentType>() });
      const unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: tracing.provider });
      try {
        const requireFromRoot = createRequire(join(root, 'index.js'));
        const pulsar = requireFromRoot('pulsar-client') as FakePulsarModule & { Producer: unknown };
        expect(isWrapped(pulsar.Client.prototype.createProducer)).toBe(true);
        const producer = await new pulsar.Client().createProducer({ topic: 'auto' });
        expect(producer).toBeInstanceOf(pulsar.Producer as never);
        await producer.send({ data: Buffer.from('x') });
        // The instance method is reached through the wrapper: the raw producer got a stamped copy.
        const raw = producer as unknown as { sent?: { properties?: Record<string, string> } };
        expect(raw.sent?.properties?.[SEQ_PROPERTY]).toBe('1');
        expect(tracing.byName('send auto')).toHaveLength(1);
        // Unregistering unpatches the loaded module: new producers are the raw ones.
        unregister();
        expect(isWrapped(pulsar.Client.prototype.createProducer)).toBe(false);
        const plain = await new pulsar.Client().createProducer({ topic: 'auto' });
        await plain.send({ data: Buffer.from('y') });
        expect((plain as unknown as { sent?: { properties?: Record<string, string> } }).sent?.properties).toBeUndefined();
        expect(tracing.byName('send auto')).toHaveLength(1);
      } finally {
        unregister();
        instrumentation.keyscope.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('works with NodeSDK', async () => {
    const root = fakePulsarPackage();
    const exporter = new InMemorySpanExporter();
    const instrumentation = new PulsarInstrumentation({ registry: new Registry<RegistryContentType>() });
    const sdk = new NodeSDK({
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
      metricReaders: [],
      logRecordProcessors: [],
      resourceDetectors: [],
      instrumentations: [instrumentation],
    });
    sdk.start();
    try {
      const pulsar = createRequire(join(root, 'index.js'))('pulsar-client') as FakePulsarModule;
      const producer = await new pulsar.Client().createProducer({ topic: 'sdk' });
      await producer.send({ data: Buffer.from('x') });
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['send sdk']);
    } finally {
      await sdk.shutdown();
      instrumentation.keyscope.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  describe('the failure rule at start-up', () => {
    it('rejects a bad option in the constructor, where it is written', () => {
      expect(() => new PulsarInstrumentation({ stallThresholdMs: -1, enabled: false })).toThrow(KeyscopeConfigError);
      expect(() => new PulsarInstrumentation({ keyPolicy: 'secret' as never, enabled: false })).toThrow(/keyPolicy/);
    });

    it('validates setConfig, keeps the old options on a bad one, and applies a good one to producers created after it', async () => {
      const tracing = testTracing();
      const instrumentation = new PulsarInstrumentation({
        registry: new Registry<RegistryContentType>(),
        enabled: false,
        keyPolicy: 'plain',
      });
      instrumentation.setTracerProvider(tracing.provider);
      const module = fakeModule();
      instrumentation.patch(module);
      try {
        expect(() => instrumentation.setConfig({ maxTrackedKeys: 0 })).toThrow(KeyscopeConfigError);
        expect(instrumentation.getConfig().keyPolicy).toBe('plain');
        const before = await new module.Client().createProducer({ topic: 'cfg' });
        await before.send({ data: Buffer.from('a'), partitionKey: 'k-1' });
        instrumentation.setConfig({ registry: new Registry<RegistryContentType>(), keyPolicy: 'none' });
        const after = await new module.Client().createProducer({ topic: 'cfg' });
        await after.send({ data: Buffer.from('b'), partitionKey: 'k-1' });
        const keys = tracing.byName('send cfg').map((span) => span.attributes['messaging.pulsar.message.key']);
        expect(keys).toEqual(['k-1', undefined]);
      } finally {
        instrumentation.unpatch(module);
        instrumentation.keyscope.close();
      }
    });

    it('never throws from patch(), even for a module it cannot wrap', () => {
      const instrumentation = new PulsarInstrumentation({ registry: new Registry<RegistryContentType>(), enabled: false });
      const hostile = { Client: { prototype: Object.freeze({ createProducer() {}, subscribe() {}, createReader() {} }) } };
      expect(() => instrumentation.patch(hostile)).not.toThrow();
      expect(() => instrumentation.patch(null)).not.toThrow();
      instrumentation.keyscope.close();
    });

    it('warns once when pulsar-client was loaded around the hooks', async () => {
      vi.useFakeTimers();
      const root = fakePulsarPackage();
      const cwd = process.cwd();
      const warnings: string[] = [];
      const logger: DiagLogger = {
        error() {},
        warn: (...args: unknown[]) => warnings.push(args.join(' ')),
        info() {},
        debug() {},
        verbose() {},
      };
      diag.setLogger(logger, DiagLogLevel.WARN);
      try {
        process.chdir(root);
        // Loaded first, then the instrumentation: the require hook never sees it.
        createRequire(join(root, 'index.js'))('pulsar-client');
        const instrumentation = new PulsarInstrumentation({ registry: new Registry<RegistryContentType>() });
        vi.advanceTimersByTime(11_000);
        expect(warnings.filter((w) => w.includes('loaded without being instrumented'))).toHaveLength(1);
        instrumentation.disable();
        instrumentation.keyscope.close();
      } finally {
        process.chdir(cwd);
        diag.disable();
        vi.useRealTimers();
        rmSync(root, { recursive: true, force: true });
      }
    });
  });
});
