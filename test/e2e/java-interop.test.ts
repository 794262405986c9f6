/**
 * Java and Node side by side on the real broker, collector and Jaeger: a
 * plain Pulsar Java client application (pulsar-client at the broker's
 * version) under the OpenTelemetry Java agent in its messaging opt-in mode,
 * and a keyscope-instrumented Node service (WebSocket client, receive spans
 * on). Both produce keyed messages to one topic and both consume it twice,
 * with a listener (`process` spans) and with receive() (`receive` spans).
 * Then, from Jaeger and the collector's span metrics:
 *   - each direction is one trace: the consumer's `process` span is a child
 *     of the producer's `send` span and links to it, on either side;
 *   - both sides record the same `messaging.message.id` for the same
 *     message (`ledger:entry:partition[:batchIndex]`);
 *   - `receive` spans are CLIENT spans linked to the producer, on either side;
 *   - the span-metrics series of Java and Node spans carry the same labels.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyscope } from '../../src/index.js';
import { WebSocketClient, type WebSocketConsumer, type WebSocketMessage, type WebSocketProducer } from '../../src/websocket/index.js';
import { formatMessageId } from '../../src/telemetry/message-id.js';
import { endpoints, missingServices } from '../../demo/src/endpoints.js';
import { pollUntil, promQuery, searchTraces, type PromSample } from '../../demo/src/queries.js';
import { startTelemetry, type Telemetry } from '../../demo/src/telemetry.js';
import { metricValue } from '../support/harness.js';
import { prepareJava, runJavaPeer, type JavaEvent, type JavaPeerRun } from './helpers/java-peer.js';
import { SPAN_KIND, getOtlpTrace, type OtlpSpan } from './helpers/otlp-trace.js';

const target = endpoints();
const RUN_ID = randomBytes(4).toString('hex');
const NODE_SERVICE = `keyscope-interop-node-${RUN_ID}`;
const JAVA_SERVICE = `keyscope-interop-java-${RUN_ID}`;
const TOPIC = `persistent://public/default/keyscope-interop-${RUN_ID}`;
const SUBSCRIPTIONS = {
  nodeListener: 'node-listener',
  nodeReceive: 'node-receive',
  javaListener: 'java-listener',
  javaReceive: 'java-receive',
};
const FROM_NODE = 3;
const FROM_JAVA = 3;
const ALL = FROM_NODE + FROM_JAVA;
const BROKER_URL = `pulsar://127.0.0.1:${process.env.PULSAR_BROKER_PORT ?? 6650}`;
const PULSAR_WEB_PORT = Number(new URL(target.pulsarUrl).port || 80);
// Span metrics are flushed every 5 s and Prometheus scrapes every 5 s.
const TELEMETRY_DEADLINE_MS = 45_000;

let telemetry: Telemetry | undefined;
let keyscope: Keyscope | undefined;
let client: WebSocketClient | undefined;
let java: JavaPeerRun | undefined;
const consumers: WebSocketConsumer[] = [];
let producer: WebSocketProducer | undefined;
/** Formatted ids of what the Node producer sent, in order. */
const nodeSent: string[] = [];
const nodeListened: WebSocketMessage[] = [];
const nodeReceived: WebSocketMessage[] = [];

function javaEvents<E extends JavaEvent['event']>(event: E): Extract<JavaEvent, { event: E }>[] {
  return (java?.events ?? []).filter((e): e is Extract<JavaEvent, { event: E }> => e.event === event);
}

function traceIdOf(properties: Record<string, string>): string {
  const traceparent = properties.traceparent;
  if (traceparent === undefined) throw new Error(`no traceparent among ${JSON.stringify(properties)}`);
  return traceparent.split('-')[1] ?? '';
}

/** Polls Jaeger until the trace holds a span matching each predicate; returns those spans in order. */
async function spansOfTrace(traceId: string, wanted: Record<string, (span: OtlpSpan) => boolean>): Promise<Record<string, OtlpSpan>> {
  let last: OtlpSpan[] = [];
  const found = await pollUntil(async () => {
    last = await getOtlpTrace(target.jaegerUrl, traceId);
    const picked: Record<string, OtlpSpan> = {};
    for (const [name, matches] of Object.entries(wanted)) {
      const span = last.find(matches);
      if (span === undefined) return undefined;
      picked[name] = span;
    }
    return picked;
  }, TELEMETRY_DEADLINE_MS);
  if (found === undefined) {
    const seen = last.map((span) => `${span.service}: ${span.name} (kind ${span.kind})`).join('; ');
    throw new Error(
      `trace ${traceId} lacks ${Object.keys(wanted).join(', ')} after ${TELEMETRY_DEADLINE_MS} ms; Jaeger has: ${seen || 'nothing'}`,
    );
  }
  return found;
}

/** The receive span one service recorded for the message with this id (its own trace). */
async function receiveSpanOf(service: string, messageId: string): Promise<OtlpSpan> {
  const span = await pollUntil(async () => {
    const traces = await searchTraces(target.jaegerUrl, {
      service,
      operation: `receive ${TOPIC}`,
      tags: { 'messaging.message.id': messageId },
      limit: 5,
    });
    const traceId = traces[0]?.traceID;
    if (traceId === undefined) return undefined;
    return (await getOtlpTrace(target.jaegerUrl, traceId)).find(
      (s) => s.name === `receive ${TOPIC}` && s.attributes['messaging.message.id'] === messageId,
    );
  }, TELEMETRY_DEADLINE_MS);
  if (span === undefined)
    throw new Error(`${service} recorded no receive span for message ${messageId} within ${TELEMETRY_DEADLINE_MS} ms`);
  return span;
}

const byService = (service: string, name: string, kind: number) => (span: OtlpSpan) =>
  span.service === service && span.name === name && span.kind === kind;

async function receiveAllOf(consumer: WebSocketConsumer, into: WebSocketMessage[], count: number, deadline: number): Promise<void> {
  while (into.length < count && Date.now() < deadline) {
    try {
      const message = await consumer.receive(Math.max(1, deadline - Date.now()));
      into.push(message);
      await consumer.acknowledge(message);
    } catch (error) {
      if ((error as Error).name !== 'ReceiveTimeoutError') throw error;
    }
  }
}

beforeAll(async () => {
  const missing = await missingServices(target);
  if (missing.length > 0) {
    throw new Error(`the native stack is not running (${missing.join(', ')} not reachable): run npm run stack:up first`);
  }
  const runtime = await prepareJava(150_000);
  telemetry = await startTelemetry({
    serviceName: NODE_SERVICE,
    otlpEndpoint: target.otlpHttpUrl,
    metricsHost: '127.0.0.1',
    metricsPort: 0,
  });
  keyscope = new Keyscope({ registry: telemetry.registry, receiveSpans: true, unstampedOrdering: { sequenceProperty: 'interop-index' } });
  client = keyscope.instrumentClient(new WebSocketClient({ serviceUrl: target.pulsarUrl }));
  consumers.push(
    await client.subscribe({
      topic: TOPIC,
      subscription: SUBSCRIPTIONS.nodeListener,
      listener: async (message: WebSocketMessage, consumer: WebSocketConsumer) => {
        nodeListened.push(message);
        await consumer.acknowledge(message);
      },
    }),
  );
  const receiver = await client.subscribe({ topic: TOPIC, subscription: SUBSCRIPTIONS.nodeReceive });
  consumers.push(receiver);
  producer = await client.createProducer({ topic: TOPIC });

  java = runJavaPeer({
    runtime,
    serviceName: JAVA_SERVICE,
    otlpEndpoint: target.otlpHttpUrl,
    serviceUrl: BROKER_URL,
    topic: TOPIC,
    listenerSubscription: SUBSCRIPTIONS.javaListener,
    receiveSubscription: SUBSCRIPTIONS.javaReceive,
    toSend: FROM_JAVA,
    toReceive: ALL,
    timeoutSeconds: 60,
  });
  const started = await Promise.race([java.ready.then(() => true), java.exited.then(() => false)]);
  if (!started) throw new Error(`the Java peer exited before subscribing:\n${java.output()}`);
  for (let index = 0; index < FROM_NODE; index++) {
    const id = await producer.send({ data: Buffer.from(`node message ${index}`), partitionKey: `node-key-${index}` });
    nodeSent.push(formatMessageId(id) ?? '');
  }
  const deadline = Date.now() + 60_000;
  await receiveAllOf(receiver, nodeReceived, ALL, deadline);
  const code = await java.exited;
  if (code !== 0) throw new Error(`the Java peer exited with ${String(code)}:\n${java.output()}`);
  await pollUntil(async () => (nodeListened.length >= ALL ? true : undefined), Math.max(1_000, deadline - Date.now()), 100);
  await telemetry.flush();
});

afterAll(async () => {
  java?.kill();
  await Promise.allSettled([...consumers, ...(producer === undefined ? [] : [producer])].map((closable) => closable.close()));
  await client?.close();
  keyscope?.close();
  await telemetry?.shutdown();
});

describe('keyscope next to the OpenTelemetry Java agent', () => {
  it('delivers every message both ways, with one message id format on both sides', () => {
    const javaSent = javaEvents('sent').map((e) => e.messageId);
    expect(javaSent).toHaveLength(FROM_JAVA);
    expect(nodeSent).toHaveLength(FROM_NODE);
    // The Java producer batches, so its ids carry a batch index; the WebSocket producer's do not.
    for (const id of javaSent) expect(id).toMatch(/^\d+:\d+:-1:\d+$/);
    for (const id of nodeSent) expect(id).toMatch(/^\d+:\d+:-1$/);
    const everyId = [...nodeSent, ...javaSent].sort();
    const formatted = (messages: WebSocketMessage[]) => messages.map((m) => formatMessageId(m.getMessageId())).sort();
    expect(formatted(nodeListened)).toEqual(everyId);
    expect(formatted(nodeReceived)).toEqual(everyId);
    for (const via of ['listener', 'receive'] as const) {
      expect(
        javaEvents('received')
          .filter((e) => e.via === via)
          .map((e) => e.messageId)
          .sort(),
      ).toEqual(everyId);
    }
  });

  it('joins a Node send and the Java process span in one trace: parent and link', async () => {
    const messageId = nodeSent[0] ?? '';
    const atJava = javaEvents('received').find((e) => e.via === 'listener' && e.messageId === messageId);
    expect(atJava, `the Java listener did not see ${messageId}`).toBeDefined();
    const traceId = traceIdOf(atJava!.properties);
    const { send, javaProcess, nodeProcess } = await spansOfTrace(traceId, {
      send: byService(NODE_SERVICE, `send ${TOPIC}`, SPAN_KIND.PRODUCER),
      javaProcess: byService(JAVA_SERVICE, `process ${TOPIC}`, SPAN_KIND.CONSUMER),
      nodeProcess: byService(NODE_SERVICE, `process ${TOPIC}`, SPAN_KIND.CONSUMER),
    });
    for (const consumer of [javaProcess!, nodeProcess!]) {
      expect(consumer.parentSpanId).toBe(send!.spanId);
      expect(consumer.links).toContainEqual({ traceId, spanId: send!.spanId });
      expect(consumer.attributes['messaging.message.id']).toBe(messageId);
      expect(consumer.attributes['messaging.operation.type']).toBe('process');
      expect(consumer.attributes['messaging.destination.name']).toBe(TOPIC);
    }
    expect(javaProcess!.attributes['messaging.destination.subscription.name']).toBe(SUBSCRIPTIONS.javaListener);
    expect(nodeProcess!.attributes['messaging.destination.subscription.name']).toBe(SUBSCRIPTIONS.nodeListener);
    expect(send!.attributes).toMatchObject({
      'messaging.system': 'pulsar',
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.destination.name': TOPIC,
      'messaging.message.id': messageId,
      'server.address': '127.0.0.1',
      'server.port': PULSAR_WEB_PORT,
    });
  });

  it('joins a Java send and the Node process span in one trace: parent and link', async () => {
    // The first message of a Java batch: the agent exports a send span for it.
    const messageId = javaEvents('sent').find((e) => e.index === 0)?.messageId ?? '';
    const atNode = nodeListened.find((m) => formatMessageId(m.getMessageId()) === messageId);
    expect(atNode, `the Node listener did not see ${messageId}`).toBeDefined();
    const traceId = traceIdOf(atNode!.getProperties());
    const { send, nodeProcess, javaProcess } = await spansOfTrace(traceId, {
      send: byService(JAVA_SERVICE, `send ${TOPIC}`, SPAN_KIND.PRODUCER),
      nodeProcess: byService(NODE_SERVICE, `process ${TOPIC}`, SPAN_KIND.CONSUMER),
      javaProcess: byService(JAVA_SERVICE, `process ${TOPIC}`, SPAN_KIND.CONSUMER),
    });
    expect(send!.attributes['messaging.message.id']).toBe(messageId);
    expect(send!.attributes['server.address']).toBe('127.0.0.1');
    for (const consumer of [nodeProcess!, javaProcess!]) {
      expect(consumer.parentSpanId).toBe(send!.spanId);
      expect(consumer.links).toContainEqual({ traceId, spanId: send!.spanId });
      expect(consumer.attributes['messaging.message.id']).toBe(messageId);
    }
  });

  it('records receive() as a CLIENT span linked to the producer, on either side', async () => {
    const fromNode = nodeSent[0] ?? '';
    const fromJava = javaEvents('sent').find((e) => e.index === 0)?.messageId ?? '';
    const javaReceive = await receiveSpanOf(JAVA_SERVICE, fromNode);
    const nodeReceive = await receiveSpanOf(NODE_SERVICE, fromJava);
    const javaTrace = traceIdOf(javaEvents('received').find((e) => e.messageId === fromNode)?.properties ?? {});
    const nodeTrace = traceIdOf(nodeReceived.find((m) => formatMessageId(m.getMessageId()) === fromJava)?.getProperties() ?? {});
    const { nodeSend } = await spansOfTrace(javaTrace, { nodeSend: byService(NODE_SERVICE, `send ${TOPIC}`, SPAN_KIND.PRODUCER) });
    const { javaSend } = await spansOfTrace(nodeTrace, { javaSend: byService(JAVA_SERVICE, `send ${TOPIC}`, SPAN_KIND.PRODUCER) });
    for (const [receive, send, subscription] of [
      [javaReceive, nodeSend!, SUBSCRIPTIONS.javaReceive],
      [nodeReceive, javaSend!, SUBSCRIPTIONS.nodeReceive],
    ] as const) {
      expect(receive.kind).toBe(SPAN_KIND.CLIENT);
      // Pulled by application code: its own trace, linked to the producer's.
      expect(receive.traceId).not.toBe(send.traceId);
      expect(receive.links).toContainEqual({ traceId: send.traceId, spanId: send.spanId });
      expect(receive.attributes).toMatchObject({
        'messaging.system': 'pulsar',
        'messaging.operation.name': 'receive',
        'messaging.operation.type': 'receive',
        'messaging.destination.name': TOPIC,
        'messaging.destination.subscription.name': subscription,
        'server.address': '127.0.0.1',
      });
    }
  });

  it('gives Java and Node spans the same span-metrics labels', async () => {
    const query = `traces_span_metrics_calls_total{messaging_destination_name="${TOPIC}"}`;
    // One series per service and span: sends, the listeners' process spans, the receive() loops' receive spans.
    const series = {
      send: { [NODE_SERVICE]: undefined, [JAVA_SERVICE]: undefined },
      process: { [NODE_SERVICE]: SUBSCRIPTIONS.nodeListener, [JAVA_SERVICE]: SUBSCRIPTIONS.javaListener },
      receive: { [NODE_SERVICE]: SUBSCRIPTIONS.nodeReceive, [JAVA_SERVICE]: SUBSCRIPTIONS.javaReceive },
    } as const;
    const pick = (samples: PromSample[], operation: keyof typeof series, service: string) =>
      samples.filter(
        (s) =>
          s.metric.service_name === service &&
          s.metric.messaging_operation_type === operation &&
          s.metric.messaging_destination_subscription_name === series[operation][service as keyof (typeof series)[typeof operation]],
      );
    const total = (samples: PromSample[]) => samples.reduce((sum, s) => sum + s.value, 0);
    // Complete once every message is counted (the agent's send spans are fewer: see the README).
    const samples = await pollUntil(async () => {
      const current = await promQuery(target.prometheusUrl, query);
      const complete =
        total(pick(current, 'send', NODE_SERVICE)) === FROM_NODE &&
        pick(current, 'send', JAVA_SERVICE).length === 1 &&
        [NODE_SERVICE, JAVA_SERVICE].every(
          (service) => total(pick(current, 'process', service)) === ALL && total(pick(current, 'receive', service)) === ALL,
        );
      return complete ? current : undefined;
    }, TELEMETRY_DEADLINE_MS);
    expect(samples, `span metrics for ${TOPIC} incomplete after ${TELEMETRY_DEADLINE_MS} ms`).toBeDefined();
    // Labels naming the emitter (service and its resource, scrape target) or the subscription differ by design; all others agree.
    const own = new Set([
      'service_name',
      'service_namespace',
      'deployment_environment_name',
      'instance',
      'job',
      'messaging_destination_subscription_name',
    ]);
    const shape = (sample: PromSample) => Object.fromEntries(Object.entries(sample.metric).filter(([key]) => !own.has(key)));
    for (const operation of ['send', 'process', 'receive'] as const) {
      const nodeShapes = pick(samples!, operation, NODE_SERVICE).map(shape);
      expect(nodeShapes).toHaveLength(1);
      expect(pick(samples!, operation, JAVA_SERVICE).map(shape)).toEqual(nodeShapes);
      expect(nodeShapes[0]).toMatchObject({
        messaging_system: 'pulsar',
        span_name: `${operation} ${TOPIC}`,
        status_code: 'STATUS_CODE_UNSET',
      });
    }
  });

  it('counts the Java messages as unstamped and checks their own sequence', async () => {
    const labels = (subscription: string) => ({ topic: TOPIC, subscription });
    for (const subscription of [SUBSCRIPTIONS.nodeListener, SUBSCRIPTIONS.nodeReceive]) {
      expect(await metricValue(telemetry!.registry, 'keyscope_unstamped_messages_total', labels(subscription))).toBe(FROM_JAVA);
      expect(await metricValue(telemetry!.registry, 'keyscope_messages_received_total', labels(subscription))).toBe(ALL);
      expect(
        await metricValue(telemetry!.registry, 'keyscope_ordering_violations_total', { ...labels(subscription), kind: 'reorder' }),
      ).toBe(0);
    }
  });
});
