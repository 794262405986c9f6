/**
 * An in-memory stand-in shaped like `pulsar-client`: Client, Producer,
 * Consumer (receive, listener that may return a promise, promise-returning
 * acknowledge, synchronous negativeAcknowledge with redelivery), Reader,
 * Message (getOrderingKey, getRedeliveryCount) and MessageId.
 *
 * Dispatch: each subscription has its consumers; a message goes to one of
 * them by subscription type (Exclusive/Failover: the first, Shared: round
 * robin, KeyShared: by a hash of the key). Everything is synchronous or
 * microtask-based, so tests run fast and deterministically.
 *
 * Shared by the unit tests and the in-process benchmark (`npm run bench`),
 * which measure the wrappers against the same transport.
 */

type Properties = { [key: string]: string };

export interface FakeProducerMessage {
  data: Buffer;
  properties?: Properties;
  eventTimestamp?: number;
  sequenceId?: number;
  partitionKey?: string;
  orderingKey?: string;
  deliverAfter?: number;
  deliverAt?: number;
}

let nextLedger = 1;

/**
 * Calls made on delivered messages and their ids, by method name. A test sets
 * `FakeBroker.calls` to count them: on the native client each getter is a
 * call into the addon that builds a fresh value.
 */
export class CallCounts {
  private readonly counts = new Map<string, number>();

  add(method: string): void {
    this.counts.set(method, (this.counts.get(method) ?? 0) + 1);
  }

  /** Every method called so far, with how many times, sorted by name. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.counts.clear();
  }
}

export class FakeMessageId {
  /** Set while a test counts calls (see CallCounts). */
  calls: CallCounts | undefined = undefined;

  constructor(
    readonly ledgerId: number,
    readonly entryId: number,
    readonly partition: number = -1,
  ) {}

  static earliest(): FakeMessageId {
    return new FakeMessageId(-1, -1);
  }

  static latest(): FakeMessageId {
    return new FakeMessageId(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  }

  serialize(): Buffer {
    return Buffer.from(this.toString());
  }

  /** pulsar-client's form: `(ledger,entry,partition,batchIndex)`, batchIndex -1 outside a batch. */
  toString(): string {
    this.calls?.add('MessageId.toString');
    return `(${this.ledgerId},${this.entryId},${this.partition},-1)`;
  }
}

/** What the broker stores; each delivery hands out a fresh FakeMessage like the native client does. */
export interface StoredMessage {
  topic: string;
  /** Anything: hostile tests store non-string values or non-objects here. */
  properties: unknown;
  data: Buffer;
  partitionKey: string;
  orderingKey: string;
  publishTimestamp: number;
  eventTimestamp: number;
  producerName: string;
  messageId: FakeMessageId;
  /** Where calls on its deliveries are counted, when a test asked (FakeBroker.calls). */
  calls?: CallCounts;
}

export class FakeMessage {
  constructor(
    private readonly stored: StoredMessage,
    private readonly redeliveryCount: number,
  ) {}

  getTopicName(): string {
    this.stored.calls?.add('getTopicName');
    return this.stored.topic;
  }
  getProperties(): Properties {
    this.stored.calls?.add('getProperties');
    const properties = this.stored.properties;
    // The native client builds a fresh object per call.
    return (properties !== null && typeof properties === 'object' ? { ...(properties as Properties) } : properties) as Properties;
  }
  getData(): Buffer {
    this.stored.calls?.add('getData');
    return this.stored.data;
  }
  getMessageId(): FakeMessageId {
    this.stored.calls?.add('getMessageId');
    return this.stored.messageId;
  }
  /** The id for the stand-in's own bookkeeping, not counted as a call by the application or keyscope. */
  get storedId(): FakeMessageId {
    // A test's hand-made message may have no stored record, only its own getMessageId.
    return (this.stored as StoredMessage | undefined)?.messageId ?? this.getMessageId();
  }
  getPublishTimestamp(): number {
    this.stored.calls?.add('getPublishTimestamp');
    return this.stored.publishTimestamp;
  }
  getEventTimestamp(): number {
    this.stored.calls?.add('getEventTimestamp');
    return this.stored.eventTimestamp;
  }
  getRedeliveryCount(): number {
    this.stored.calls?.add('getRedeliveryCount');
    return this.redeliveryCount;
  }
  getPartitionKey(): string {
    this.stored.calls?.add('getPartitionKey');
    return this.stored.partitionKey;
  }
  getOrderingKey(): string {
    this.stored.calls?.add('getOrderingKey');
    return this.stored.orderingKey;
  }
  getProducerName(): string {
    this.stored.calls?.add('getProducerName');
    return this.stored.producerName;
  }
  isReplicated(): boolean {
    return false;
  }
  getReplicatedFrom(): string {
    return '';
  }
  getEncryptionContext(): null {
    return null;
  }
}

export type FakeSubscriptionType = 'Exclusive' | 'Shared' | 'KeyShared' | 'Failover';

export interface FakeConsumerConfig {
  topic?: string;
  topics?: string[];
  subscription: string;
  subscriptionType?: FakeSubscriptionType;
  listener?: (message: FakeMessage, consumer: FakeConsumer) => void | Promise<void>;
  nAckRedeliverTimeoutMs?: number;
}

export class FakeBroker {
  private readonly subscriptions = new Map<string, FakeSubscription>();
  private entry = 0;
  private readonly ledger = nextLedger++;
  /** When set, calls on the messages published from now on are counted here. */
  calls: CallCounts | undefined = undefined;
  /** Publish time source; tests may replace it. */
  now: () => number = () => Date.now();

  /** Stores a message and dispatches it to every subscription of its topic. */
  publish(message: Omit<StoredMessage, 'messageId' | 'publishTimestamp'> & { publishTimestamp?: number }): FakeMessageId {
    const messageId = new FakeMessageId(this.ledger, this.entry++);
    const stored: StoredMessage = { ...message, publishTimestamp: message.publishTimestamp ?? this.now(), messageId };
    if (this.calls !== undefined) {
      stored.calls = this.calls;
      messageId.calls = this.calls;
    }
    for (const subscription of this.subscriptions.values()) {
      if (subscription.topics.includes(stored.topic)) subscription.dispatch(stored, 0);
    }
    return messageId;
  }

  subscription(topics: string[], name: string, type: FakeSubscriptionType): FakeSubscription {
    const id = `${topics.join(',')}/${name}`;
    let subscription = this.subscriptions.get(id);
    if (subscription === undefined) {
      subscription = new FakeSubscription(topics, type);
      this.subscriptions.set(id, subscription);
    }
    return subscription;
  }
}

export class FakeSubscription {
  readonly consumers: FakeConsumer[] = [];
  private roundRobin = 0;

  constructor(
    readonly topics: string[],
    readonly type: FakeSubscriptionType,
  ) {}

  dispatch(stored: StoredMessage, redeliveryCount: number): void {
    const consumers = this.consumers.filter((c) => !c.closed);
    if (consumers.length === 0) return;
    let target: FakeConsumer;
    if (this.type === 'Shared') target = consumers[this.roundRobin++ % consumers.length] as FakeConsumer;
    else if (this.type === 'KeyShared')
      target = consumers[hash(stored.orderingKey || stored.partitionKey) % consumers.length] as FakeConsumer;
    else target = consumers[0] as FakeConsumer;
    target.enqueue(new FakeMessage(stored, redeliveryCount));
  }
}

function hash(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return h;
}

export class FakeProducer {
  private closedFlag = false;
  /** When set, the next send rejects with this error. */
  failNextSend: Error | undefined;
  /** Every message object passed to send(), as received. */
  readonly sentMessages: FakeProducerMessage[] = [];

  constructor(
    private readonly broker: FakeBroker,
    private readonly topic: string,
    private readonly name: string,
  ) {}

  send(message: FakeProducerMessage): Promise<FakeMessageId> {
    this.sentMessages.push(message);
    if (this.failNextSend !== undefined) {
      const error = this.failNextSend;
      this.failNextSend = undefined;
      return Promise.reject(error);
    }
    const messageId = this.broker.publish({
      topic: this.topic,
      properties: { ...(message.properties ?? {}) },
      data: message.data,
      partitionKey: message.partitionKey ?? '',
      orderingKey: message.orderingKey ?? '',
      eventTimestamp: message.eventTimestamp ?? 0,
      producerName: this.name,
    });
    return Promise.resolve(messageId);
  }
  flush(): Promise<null> {
    return Promise.resolve(null);
  }
  close(): Promise<null> {
    this.closedFlag = true;
    return Promise.resolve(null);
  }
  getProducerName(): string {
    return this.name;
  }
  getTopic(): string {
    return this.topic;
  }
  isConnected(): boolean {
    return !this.closedFlag;
  }
}

export class FakeConsumer {
  closed = false;
  private readonly queue: FakeMessage[] = [];
  private readonly waiting: Array<(message: FakeMessage) => void> = [];
  private listenerBusy = false;
  readonly acked: FakeMessageId[] = [];
  readonly nacked: FakeMessageId[] = [];

  constructor(
    private readonly subscription: FakeSubscription,
    private readonly listener: FakeConsumerConfig['listener'],
  ) {}

  enqueue(message: FakeMessage): void {
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter(message);
    else this.queue.push(message);
    if (this.listener !== undefined) this.pump();
  }

  /** Like the native client: one listener call at a time; a returned promise is awaited before the next. */
  private pump(): void {
    if (this.listenerBusy || this.listener === undefined) return;
    const message = this.queue.shift();
    if (message === undefined) return;
    this.listenerBusy = true;
    const next = () => {
      this.listenerBusy = false;
      this.pump();
    };
    queueMicrotask(() => {
      let result: unknown;
      try {
        result = this.listener?.(message, this);
      } catch {
        result = undefined;
      }
      if (result instanceof Promise) result.catch(() => undefined).finally(next);
      else next();
    });
  }

  receive(timeout?: number): Promise<FakeMessage> {
    const message = this.queue.shift();
    if (message !== undefined) return Promise.resolve(message);
    return new Promise((resolve, reject) => {
      this.waiting.push(resolve);
      if (timeout !== undefined) {
        setTimeout(() => {
          const index = this.waiting.indexOf(resolve);
          if (index >= 0) {
            this.waiting.splice(index, 1);
            reject(new Error('Failed to receive message: TimeOut'));
          }
        }, timeout).unref();
      }
    });
  }
  batchReceive(): Promise<FakeMessage[]> {
    return Promise.resolve(this.queue.splice(0, this.queue.length));
  }
  acknowledge(message: FakeMessage): Promise<null> {
    this.acked.push(message.storedId);
    return Promise.resolve(null);
  }
  acknowledgeId(messageId: FakeMessageId): Promise<null> {
    this.acked.push(messageId);
    return Promise.resolve(null);
  }
  negativeAcknowledge(message: FakeMessage): void {
    this.nacked.push(message.storedId);
    const { stored, redeliveryCount } = message as unknown as { stored: StoredMessage; redeliveryCount: number };
    const redeliveries = redeliveryCount + 1;
    queueMicrotask(() => this.subscription.dispatch(stored, redeliveries));
  }
  negativeAcknowledgeId(messageId: FakeMessageId): void {
    this.nacked.push(messageId);
  }
  acknowledgeCumulative(message: FakeMessage): Promise<null> {
    this.acked.push(message.storedId);
    return Promise.resolve(null);
  }
  acknowledgeCumulativeId(messageId: FakeMessageId): Promise<null> {
    this.acked.push(messageId);
    return Promise.resolve(null);
  }
  seek(_messageId: FakeMessageId): Promise<null> {
    return Promise.resolve(null);
  }
  seekTimestamp(_timestamp: number): Promise<null> {
    return Promise.resolve(null);
  }
  isConnected(): boolean {
    return !this.closed;
  }
  close(): Promise<null> {
    this.closed = true;
    return Promise.resolve(null);
  }
  unsubscribe(): Promise<null> {
    this.closed = true;
    return Promise.resolve(null);
  }
  /** Messages waiting in this consumer's receive queue. */
  get queued(): number {
    return this.queue.length;
  }
}

export class FakeReader {
  private readonly consumer: FakeConsumer;

  constructor(consumer: FakeConsumer) {
    this.consumer = consumer;
  }
  readNext(timeout?: number): Promise<FakeMessage> {
    return this.consumer.receive(timeout);
  }
  hasNext(): boolean {
    return this.consumer.queued > 0;
  }
  isConnected(): boolean {
    return this.consumer.isConnected();
  }
  seek(_messageId: FakeMessageId): Promise<null> {
    return Promise.resolve(null);
  }
  seekTimestamp(_timestamp: number): Promise<null> {
    return Promise.resolve(null);
  }
  close(): Promise<null> {
    return this.consumer.close();
  }
}

let readerCount = 0;

export class FakeClient {
  constructor(readonly broker: FakeBroker = new FakeBroker()) {}

  createProducer(config: { topic: string; producerName?: string }): Promise<FakeProducer> {
    return Promise.resolve(
      new FakeProducer(this.broker, config.topic, config.producerName ?? `producer-${Math.random().toString(36).slice(2, 8)}`),
    );
  }

  subscribe(config: FakeConsumerConfig): Promise<FakeConsumer> {
    const topics = config.topics ?? (config.topic === undefined ? [] : [config.topic]);
    const subscription = this.broker.subscription(topics, config.subscription, config.subscriptionType ?? 'Exclusive');
    const consumer = new FakeConsumer(subscription, config.listener);
    subscription.consumers.push(consumer);
    return Promise.resolve(consumer);
  }

  createReader(config: { topic: string; listener?: (message: FakeMessage, reader: FakeReader) => void }): Promise<FakeReader> {
    const subscription = this.broker.subscription([config.topic], `reader-${readerCount++}`, 'Exclusive');
    let reader: FakeReader | undefined;
    const listener = config.listener;
    const consumer = new FakeConsumer(
      subscription,
      listener === undefined ? undefined : (message) => listener(message, reader as FakeReader),
    );
    reader = new FakeReader(consumer);
    subscription.consumers.push(consumer);
    return Promise.resolve(reader);
  }

  getPartitionsForTopic(topic: string): Promise<string[]> {
    return Promise.resolve([topic]);
  }

  close(): Promise<null> {
    return Promise.resolve(null);
  }
}
