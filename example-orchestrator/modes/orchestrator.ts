/**
 * One orchestrator consumer: receives subscriber events, runs them through
 * the keyed executor (one subscriber at a time, subscribers in parallel), and
 * for each: [lock] -> read state -> decide -> publish sends and timers ->
 * write state (+ its record) -> [unlock] -> ack.
 *
 * Sends are published before the state write: a crash in between makes the
 * broker redeliver the event, which is decided again on the same state and
 * so gives the same decision ids (the provider takes them as retries). The
 * other order would lose the sends of a crash.
 *
 * The code path is the same in every mode; the mode's traits only add the
 * lock and the sequence check (see modes.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumerLike, MessageLike, ProducerLike } from 'pulsar-keyscope';
import { wallTimeOf } from '../domain/clock.js';
import { encodeCommand, type SendCommand } from '../domain/commands.js';
import { decide, triggerOf, type Input } from '../domain/decide.js';
import { encodeEvent, parseEvent, type MalformedReason, type SubscriberEvent, type TimerFiredEvent } from '../domain/events.js';
import type { AppliedInput, DeadLetterRecord, StateWriteRecord } from '../domain/records.js';
import { exponentialBackoff, KeyedExecutor, type SettledInfo } from '../executor/keyed-executor.js';
import type { Lease } from '../store/lock.js';
import type { StateStore } from '../store/store.js';
import type { OrchestratorMetrics } from '../telemetry/metrics.js';
import type { ProcessStats } from './handle.js';
import type { ModeTraits } from './modes.js';
import { isReceiveTimeout } from './receive.js';
import type { RunInfo } from './run-info.js';

export interface LockLike {
  acquire(subscriberId: string, holder?: string): Promise<Lease>;
  release(lease: Lease): Promise<boolean>;
  holder(subscriberId: string): Promise<string | undefined>;
}

export interface OrchestratorDeps {
  run: RunInfo;
  name: string;
  traits: ModeTraits;
  consumer: ConsumerLike;
  outbound: ProducerLike;
  timers: ProducerLike;
  deadLetter: ProducerLike;
  store: StateStore;
  lock?: LockLike;
  metrics: OrchestratorMetrics;
  /**
   * Called at the start of every attempt at a subscriber event, inside the
   * retry path: fault injection (a slow or poison subscriber) plugs in here.
   */
  beforeHandle?: (subscriberId: string, seq: number) => Promise<void>;
  /** keyscope's processing window around each attempt (Keyscope.process); default: run directly. */
  processWindow?: <T>(message: MessageLike, fn: () => T) => T;
  log(message: string): void;
  random?: () => number;
}

type Item = { message: MessageLike } & (
  | { ok: true; input: Input }
  | { ok: false; reason: MalformedReason; detail: string; subscriberId: string }
);

/** The predecessor of this event is not applied yet (sequence-enforcing modes): hand it back for a redelivery. */
export class OutOfSequenceError extends Error {
  override readonly name = 'OutOfSequenceError';
}

/** A newer lock holder exists: this decision must not be written. */
export class FencedWriteError extends Error {
  override readonly name = 'FencedWriteError';
}

export const DEAD_LETTER_REASON_PROPERTY = 'orchestrator-dead-letter-reason';
/** How long an event waits in place for its predecessor before the executor retries it. */
const SEQUENCE_WAIT_MS = 1_000;

/** What an input waits for in the sequence-enforcing modes. */
type Blocker =
  /** Nothing: it may go. */
  | undefined
  /** Its predecessor holds the subscriber's lock right now: it is being applied, wait. */
  | { wait: true; what: string }
  /** Anything else (queued behind it here, elsewhere, or not dispatched yet): give it back to the broker. */
  | { wait: false; what: string };

export class Orchestrator {
  private readonly executor: KeyedExecutor<Item>;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly counters: Record<string, number> = {};
  private received = 0;
  private acked = 0;
  private retries = 0;
  private deadLettered = 0;
  /** Sequence-enforcing modes: subscriber events taken by this process's executor, by subscriber, seq -> event time. */
  private readonly local = new Map<string, Map<number, number>>();

  constructor(private readonly deps: OrchestratorDeps) {
    const settings = deps.run.executor;
    const role = { mode: deps.run.mode, role: 'orchestrator' };
    this.executor = new KeyedExecutor<Item>({
      maxInFlight: settings.maxInFlight,
      maxKeyDepth: settings.maxKeyDepth,
      maxAttempts: settings.maxAttempts,
      deadlineMs: settings.deadlineMs,
      retryDelayMs: exponentialBackoff(settings.retryInitialMs, settings.retryMaxMs, deps.random),
      handle: (item, info) => {
        const run = () => this.handle(item, info.attempt);
        return deps.processWindow ? deps.processWindow(item.message, run) : run();
      },
      onDone: (item, info) => this.settle(item, info),
      onDeadLetter: (item, error, info) => this.deadLetterFailed(item, error, info),
      onAbandon: (item, error) => {
        this.releaseLocally(item);
        if (error instanceof OutOfSequenceError) this.count('handed_back');
        else deps.log(`giving message ${item.message.getMessageId().toString()} back to the broker: ${describe(error)}`);
        deps.consumer.negativeAcknowledge(item.message);
      },
      handBack: (error) => error instanceof OutOfSequenceError,
      onRetry: () => {
        this.retries += 1;
        deps.metrics.executorRetries.inc(role);
      },
      onStalled: (_item, info) => {
        deps.metrics.executorStalled.inc(role);
        deps.log(`message of ${info.key} running for ${Math.round(info.runningMs)} ms (deadline ${settings.deadlineMs} ms): stalled`);
      },
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.receiveLoop();
  }

  /** Stops receiving, lets what was taken finish (bounded by the caller), then returns. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.executor.close();
  }

  stats(): ProcessStats {
    const role = { mode: this.deps.run.mode, role: 'orchestrator' };
    this.deps.metrics.executorInFlight.set(role, this.executor.inFlight);
    this.deps.metrics.executorActiveKeys.set(role, this.executor.activeKeys);
    return {
      received: this.received,
      acked: this.acked,
      retries: this.retries,
      deadLettered: this.deadLettered,
      inFlight: this.executor.inFlight,
      counters: { ...this.counters },
    };
  }

  private count(name: string, by = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + by;
  }

  private async receiveLoop(): Promise<void> {
    const { consumer, log } = this.deps;
    while (this.running) {
      await this.executor.waitForRoom();
      let message: MessageLike;
      try {
        message = await consumer.receive(500);
      } catch (error) {
        if (isReceiveTimeout(error)) continue;
        if (!this.running) return;
        log(`receive failed (retrying): ${describe(error)}`);
        await sleep(250);
        continue;
      }
      this.received += 1;
      const item = toItem(message);
      if (this.deps.traits.enforceSequence && item.ok && item.input.kind === 'event') {
        this.holdLocally(item.input.event);
        await this.noteReceived(item.input.event);
      }
      // Keyed by the message key: the key the broker routed by.
      const key = message.getPartitionKey() || (item.ok ? item.input.event.subscriberId : item.subscriberId);
      await this.executor.submit(key, item);
    }
  }

  private async handle(item: Item, attempt: number): Promise<void> {
    if (!item.ok) {
      await this.deadLetter(item.message, { subscriberId: item.subscriberId, reason: item.reason, detail: item.detail, attempts: attempt });
      return;
    }
    const { run, traits, store, lock, metrics, name } = this.deps;
    const input = item.input;
    const subscriberId = input.event.subscriberId;
    const mode = { mode: run.mode };
    if (input.kind === 'event' && this.deps.beforeHandle !== undefined) await this.deps.beforeHandle(subscriberId, input.event.seq);
    if (traits.enforceSequence) await this.awaitTurn(input);
    let lease: Lease | undefined;
    if (lock !== undefined) {
      try {
        lease = await lock.acquire(subscriberId, triggerOf(input));
      } catch (error) {
        metrics.lockFailures.inc({ ...mode, reason: 'timeout' });
        throw error;
      }
      metrics.lockWait.observe(mode, lease.waitedMs / 1000);
      if (lease.contended > 0) metrics.lockContention.inc(mode, lease.contended);
    }
    try {
      const stored = await store.read(subscriberId);
      const version = stored?.version ?? 0;
      const lastSeq = stored?.state.lastSeq ?? 0;
      // Checked again under the lock: the wait above held no lock, so the state may have moved since.
      if (traits.enforceSequence) {
        const blocker = await this.blocker(input, lastSeq);
        if (blocker !== undefined) throw new OutOfSequenceError(`${triggerOf(input)} of ${subscriberId} waits for ${blocker.what}`);
      }
      const decided = decide(stored?.state, input, run.policy, { stateVersion: version });
      const eventType = input.event.type;
      if (!decided.changed) {
        if (traits.enforceSequence && input.kind === 'event') await store.forgetReceived(subscriberId, input.event.seq);
        metrics.events.inc({ ...mode, type: eventType, result: decided.skipped ?? 'unchanged' });
        this.count(decided.skipped ?? 'unchanged');
        return;
      }
      const publishTime = item.message.getPublishTimestamp();
      const commands: SendCommand[] = decided.sends.map((send) => ({
        ...send,
        decidedBy: name,
        ...(publishTime > 0 ? { triggerPublishedAt: publishTime } : {}),
        ...(lease !== undefined ? { fence: lease.fence } : {}),
      }));
      await Promise.all([
        ...commands.map((command) => this.deps.outbound.send({ data: encodeCommand(command), partitionKey: subscriberId })),
        ...decided.timers.map((timer) => {
          const fired: TimerFiredEvent = { v: 1, type: 'timer_fired', subscriberId, timerId: timer.id, dueTime: timer.dueTime };
          return this.deps.timers.send({
            data: encodeEvent(fired),
            partitionKey: subscriberId,
            deliverAt: wallTimeOf(run.clock, timer.dueTime) + run.timerGraceMs,
          });
        }),
      ]);
      const applied: AppliedInput =
        input.kind === 'event'
          ? { kind: 'event', seq: input.event.seq, type: input.event.type, eventTime: input.event.eventTime }
          : { kind: 'timer', timerId: input.event.timerId, dueTime: input.event.dueTime };
      const record: StateWriteRecord = {
        subscriberId,
        consumer: name,
        fromVersion: version,
        toVersion: version + 1,
        applied,
        lastSeqBefore: lastSeq,
        lastSeqAfter: decided.state.lastSeq,
        decisions: commands.map((command) => command.decisionId),
        firedTimers: decided.firedTimers,
        ...(lease !== undefined ? { fence: lease.fence } : {}),
        writtenAt: Date.now(),
      };
      const written = await store.write({
        state: decided.state,
        record,
        ...(lease !== undefined ? { fence: lease.fence } : {}),
        ...(input.kind === 'event' ? { appliedSeq: input.event.seq } : {}),
      });
      if (!written.ok) {
        metrics.fencingRejections.inc(mode);
        this.count('fenced');
        throw new FencedWriteError(`write of ${subscriberId} refused: fence ${lease?.fence} is stale (now ${written.currentFence})`);
      }
      metrics.events.inc({ ...mode, type: eventType, result: 'applied' });
      this.count('applied');
      this.count('sends', commands.length);
      for (const outcome of decided.outcomes) {
        metrics.decision(outcome.outcome);
        this.count(`outcome_${outcome.outcome}`);
      }
      for (const command of commands) metrics.send(command.channel);
      if (decided.timers.length > 0) metrics.timersScheduled.inc(mode, decided.timers.length);
    } finally {
      if (lease !== undefined && lock !== undefined) {
        metrics.lockHold.observe(mode, (performance.now() - lease.acquiredAt) / 1000);
        const released = await lock.release(lease).catch(() => false);
        if (!released) metrics.lockFailures.inc({ ...mode, reason: 'lease_expired' });
      }
    }
  }

  /**
   * Sequence-enforcing modes: an event waits for every earlier event of its
   * subscriber to be applied (or dead-lettered); a timer waits for every
   * event received with an earlier event time. Shared hands a subscriber's
   * messages to any consumer in any order, so this is what restores the
   * order the lock alone does not give. An event waits in place only while
   * its predecessor holds the lock (it is being applied, a matter of
   * milliseconds), at most SEQUENCE_WAIT_MS; otherwise it goes back to the
   * broker (nack) and comes again later. Waiting for a predecessor that is
   * queued somewhere (behind this very event, or behind a waiting event in
   * another consumer) could wait in a circle; giving back never does: the
   * lowest event still to apply always finds its way.
   */
  private async awaitTurn(input: Input): Promise<void> {
    const subscriberId = input.event.subscriberId;
    const started = performance.now();
    let counted = false;
    for (let poll = 0; ; poll++) {
      const lastSeq = input.kind === 'event' ? ((await this.deps.store.read(subscriberId))?.state.lastSeq ?? 0) : 0;
      const blocker = await this.blocker(input, lastSeq);
      if (blocker === undefined) return;
      if (!counted) {
        this.deps.metrics.outOfSequence.inc({ mode: this.deps.run.mode });
        this.count('out_of_sequence');
        counted = true;
      }
      if (!blocker.wait || performance.now() - started >= SEQUENCE_WAIT_MS) {
        throw new OutOfSequenceError(`${triggerOf(input)} of ${subscriberId} waits for ${blocker.what}`);
      }
      await sleep(Math.min(10, 1 + poll));
    }
  }

  /** What this input still waits for; undefined when it may go. */
  private async blocker(input: Input, lastSeq: number): Promise<Blocker> {
    const { store, lock } = this.deps;
    const subscriberId = input.event.subscriberId;
    const local = this.local.get(subscriberId);
    if (input.kind === 'timer') {
      const due = input.event.dueTime;
      if ([...(local?.values() ?? [])].some((eventTime) => eventTime < due)) return { wait: false, what: 'an earlier event queued here' };
      return (await store.receivedBefore(subscriberId, due)) ? { wait: false, what: 'an earlier event received elsewhere' } : undefined;
    }
    const seq = input.event.seq;
    if (seq <= lastSeq + 1) return undefined;
    const skipped = new Set(await store.deadLetteredSeqs(subscriberId));
    for (let missing = lastSeq + 1; missing < seq; missing++) {
      if (skipped.has(missing)) continue;
      const applying = (await lock?.holder(subscriberId)) === `event:${missing}`;
      return { wait: applying, what: `event ${missing}${applying ? ' (being applied)' : ''}` };
    }
    return undefined;
  }

  private holdLocally(event: SubscriberEvent): void {
    let held = this.local.get(event.subscriberId);
    if (held === undefined) {
      held = new Map();
      this.local.set(event.subscriberId, held);
    }
    held.set(event.seq, event.eventTime);
  }

  private releaseLocally(item: Item): void {
    if (!item.ok || item.input.kind !== 'event') return;
    const held = this.local.get(item.input.event.subscriberId);
    held?.delete(item.input.event.seq);
    if (held?.size === 0) this.local.delete(item.input.event.subscriberId);
  }

  private async noteReceived(event: SubscriberEvent): Promise<void> {
    try {
      await this.deps.store.noteReceived(event.subscriberId, event.seq, event.eventTime);
    } catch (error) {
      // Only timers' patience depends on it; the event itself is handled either way.
      this.deps.log(`could not note event ${event.seq} of ${event.subscriberId} as received: ${describe(error)}`);
    }
  }

  private async settle(item: Item, info: SettledInfo): Promise<void> {
    this.releaseLocally(item);
    this.deps.metrics.executorHandle.observe({ mode: this.deps.run.mode, role: 'orchestrator' }, info.totalMs / 1000);
    await this.deps.consumer.acknowledge(item.message);
    this.acked += 1;
    // Subscriber events settled (timer_fired and malformed messages apart): progress against the event log.
    if (item.ok && item.input.kind === 'event') {
      this.count('subscriber_events');
      this.count('subscriber_event_run_ms', info.runMs);
    }
  }

  private async deadLetterFailed(item: Item, error: unknown, info: SettledInfo): Promise<void> {
    const subscriberId = item.ok ? item.input.event.subscriberId : item.subscriberId;
    const seq = item.ok && item.input.kind === 'event' ? item.input.event.seq : undefined;
    this.deps.log(`dead-lettering a message of ${subscriberId} after ${info.attempts} attempts: ${describe(error)}`);
    await this.deadLetter(item.message, {
      subscriberId,
      reason: 'handler_failed',
      detail: describe(error),
      attempts: info.attempts,
      ...(seq !== undefined ? { seq } : {}),
    });
    await this.settle(item, info);
  }

  /** Publishes the original message to the dead-letter topic and records why. */
  private async deadLetter(
    message: MessageLike,
    what: { subscriberId: string; reason: DeadLetterRecord['reason']; detail: string; attempts: number; seq?: number },
  ): Promise<void> {
    const { deadLetter, store, metrics, run, name } = this.deps;
    await deadLetter.send({
      data: message.getData(),
      ...(message.getPartitionKey() ? { partitionKey: message.getPartitionKey() } : {}),
      properties: {
        ...message.getProperties(),
        [DEAD_LETTER_REASON_PROPERTY]: what.reason,
        'orchestrator-dead-letter-detail': what.detail.slice(0, 500),
        'orchestrator-original-message-id': message.getMessageId().toString(),
      },
    });
    await store.recordDeadLetter({
      subscriberId: what.subscriberId,
      ...(what.seq !== undefined ? { seq: what.seq } : {}),
      reason: what.reason,
      detail: what.detail.slice(0, 500),
      consumer: name,
      messageId: message.getMessageId().toString(),
      attempts: what.attempts,
      at: Date.now(),
    });
    metrics.deadLetters.inc({ mode: run.mode, role: 'orchestrator', reason: what.reason });
    this.deadLettered += 1;
    this.count(`dead_letter_${what.reason}`);
  }
}

function toItem(message: MessageLike): Item {
  const parsed = parseEvent(message.getData());
  // A payload that does not parse names no subscriber we can trust; the message key is the best guess.
  if (!parsed.ok) return { message, ok: false, reason: parsed.reason, detail: parsed.detail, subscriberId: message.getPartitionKey() };
  const event = parsed.event;
  const key = message.getPartitionKey();
  if (key !== '' && key !== event.subscriberId) {
    return {
      message,
      ok: false,
      reason: 'bad_field',
      detail: `message key "${key}" is not the subscriberId "${event.subscriberId}"`,
      subscriberId: event.subscriberId,
    };
  }
  return { message, ok: true, input: event.type === 'timer_fired' ? { kind: 'timer', event } : { kind: 'event', event } };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
