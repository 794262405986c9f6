/**
 * The cross-consumer auditor's rules over processing windows, bounded in
 * time (a sliding window), in keys, in windows per key and in violating keys
 * remembered. No I/O, no timers, no telemetry: the current time comes from an
 * injected clock, and the service around it (OTLP in, /metrics out) lives in
 * service.ts.
 *
 * A key's windows are compared with every window of that key still inside the
 * sliding window, whatever order the spans arrive in (each consumer's process
 * exports its spans in its own batches), so every overlapping pair and every
 * out-of-order message is counted exactly once.
 */
import { KeyscopeConfigError } from '../errors.js';
import { DROP_REASONS, breaksExclusivity, overlapMs, reorderedOf, type DropReason, type ProcessWindow } from './window.js';

export type AuditViolationKind = 'exclusivity' | 'reorder';

export interface AuditViolation {
  readonly kind: AuditViolationKind;
  readonly topic: string;
  readonly subscription: string;
  readonly key: string;
  /** The window that arrived and the stored one it conflicts with. For `reorder`, `window` is the late, lower seq. */
  readonly window: ProcessWindow;
  readonly other: ProcessWindow;
  /** For `exclusivity`: how long the two windows overlapped. */
  readonly overlapMs: number;
}

export interface AuditorOptions {
  /** Windows settled longer ago than this are forgotten, and spans older than this are dropped as `late`. Default 120000. */
  windowMs?: number;
  /** Keys (per subscription) kept at once; the least recently active is forgotten first. Default 100000. */
  maxKeys?: number;
  /** Windows kept per key; the oldest is forgotten first. Default 64. */
  maxWindowsPerKey?: number;
  /** Overlaps up to this long are put down to clock skew between hosts. Default 20. */
  skewToleranceMs?: number;
  /** Subscriptions audited at once (each is a metric series per kind); spans of further ones are dropped. Default 1000. */
  maxSubscriptions?: number;
  /** Violating keys whose counts are kept for the top K. Default 1000. */
  maxViolatingKeys?: number;
  /** Most recent violations kept for `recentViolations()`. Default 100. */
  recentViolationsKept?: number;
  /** Epoch milliseconds. Default Date.now. */
  clock?: () => number;
  /** Called for each violation found; a throwing listener is ignored. */
  onViolation?: (violation: AuditViolation) => void;
}

export interface ResolvedAuditorOptions {
  readonly windowMs: number;
  readonly maxKeys: number;
  readonly maxWindowsPerKey: number;
  readonly skewToleranceMs: number;
  readonly maxSubscriptions: number;
  readonly maxViolatingKeys: number;
  readonly recentViolationsKept: number;
}

export const AUDITOR_DEFAULTS: ResolvedAuditorOptions = {
  windowMs: 120_000,
  maxKeys: 100_000,
  maxWindowsPerKey: 64,
  skewToleranceMs: 20,
  maxSubscriptions: 1000,
  maxViolatingKeys: 1000,
  recentViolationsKept: 100,
};

/** What had to be forgotten early to stay within the bounds. */
export type OverflowKind = 'keys' | 'windows' | 'violating_keys';

export interface SubscriptionCounts {
  exclusivity: number;
  reorder: number;
}

export interface ViolatingKey {
  readonly topic: string;
  readonly subscription: string;
  readonly key: string;
  violations: number;
}

class AuditedKey {
  readonly windows: ProcessWindow[] = [];
  /** Windows already counted as out of order (each is counted once). */
  reordered: Set<ProcessWindow> | undefined = undefined;
  touchedAt = 0;

  constructor(
    readonly topic: string,
    readonly subscription: string,
    readonly key: string,
  ) {}

  get id(): string {
    return `${this.topic}\n${this.subscription}\n${this.key}`;
  }
}

export class Auditor {
  readonly options: ResolvedAuditorOptions;
  /** Spans handed to `ingest`, audited or not. */
  spans = 0;
  /** Windows audited. */
  audited = 0;
  /** Spans that are not `process` spans (sends, other operations): not a fault, not audited. */
  ignored = 0;
  readonly dropped: Record<DropReason, number>;
  readonly overflow: Record<OverflowKind, number> = { keys: 0, windows: 0, violating_keys: 0 };
  /** Seconds between the newest span of the latest batch ending and its audit; undefined before the first batch. */
  lagSeconds: number | undefined = undefined;

  private readonly clock: () => number;
  private readonly onViolation: ((violation: AuditViolation) => void) | undefined;
  /** Insertion order is recency order: a key is re-inserted when touched. */
  private readonly keys = new Map<string, AuditedKey>();
  private readonly subscriptions = new Map<string, SubscriptionCounts>();
  private readonly violating = new Map<string, ViolatingKey>();
  private readonly recent: AuditViolation[] = [];

  constructor(options: AuditorOptions = {}) {
    this.options = resolveAuditorOptions(options);
    this.clock = options.clock ?? Date.now;
    this.onViolation = options.onViolation;
    this.dropped = Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as Record<DropReason, number>;
  }

  /** Keys currently remembered. */
  get keyCount(): number {
    return this.keys.size;
  }

  /** Counts a span that could not become a window. */
  drop(reason: DropReason): void {
    this.spans++;
    this.dropped[reason]++;
  }

  /** Counts a span that is not a `process` span. */
  ignore(): void {
    this.spans++;
    this.ignored++;
  }

  /** Records the delay of a batch whose newest span ended at `newestEndMs`. */
  observeBatch(newestEndMs: number): void {
    if (newestEndMs > 0) this.lagSeconds = Math.max(0, this.clock() - newestEndMs) / 1000;
  }

  /** Audits one window against the key's other windows; returns the violations it revealed. */
  ingest(window: ProcessWindow): number {
    this.spans++;
    const now = this.clock();
    const horizon = now - this.options.windowMs;
    if (window.settledAt < horizon) {
      this.dropped.late++;
      return 0;
    }
    const counts = this.subscriptionCounts(window.subscription);
    if (counts === undefined) {
      this.dropped.subscription_cap++;
      return 0;
    }
    const state = this.touch(window, now);
    const windows = state.windows;
    for (let i = 0; i < windows.length; i++) {
      if ((windows[i] as ProcessWindow).spanId === window.spanId) {
        this.dropped.duplicate++;
        return 0;
      }
    }
    this.audited++;
    let found = 0;
    const tolerance = this.options.skewToleranceMs;
    for (let i = 0; i < windows.length; i++) {
      const other = windows[i] as ProcessWindow;
      if (other.settledAt < horizon) continue;
      if (breaksExclusivity(window, other, tolerance)) {
        counts.exclusivity++;
        found++;
        this.report(state, {
          kind: 'exclusivity',
          topic: state.topic,
          subscription: state.subscription,
          key: state.key,
          window,
          other,
          overlapMs: overlapMs(window, other),
        });
      }
      const late = reorderedOf(window, other);
      if (late !== undefined && !(state.reordered?.has(late) ?? false)) {
        state.reordered ??= new Set();
        state.reordered.add(late);
        counts.reorder++;
        found++;
        this.report(state, {
          kind: 'reorder',
          topic: state.topic,
          subscription: state.subscription,
          key: state.key,
          window: late,
          other: late === window ? other : window,
          overlapMs: 0,
        });
      }
    }
    windows.push(window);
    if (windows.length > this.options.maxWindowsPerKey) {
      const forgotten = windows.shift() as ProcessWindow;
      state.reordered?.delete(forgotten);
      this.overflow.windows++;
    }
    return found;
  }

  /**
   * Forgets windows and keys that left the sliding window. Keys are kept in
   * recency order, so the walk stops at the first key touched recently.
   */
  sweep(): void {
    const now = this.clock();
    const horizon = now - this.options.windowMs;
    for (const [id, state] of this.keys) {
      if (state.touchedAt >= horizon) break;
      this.keys.delete(id);
    }
    for (const state of this.keys.values()) {
      const windows = state.windows;
      let expired = 0;
      while (expired < windows.length && (windows[expired] as ProcessWindow).settledAt < horizon) expired++;
      if (expired > 0) {
        for (const gone of windows.splice(0, expired)) state.reordered?.delete(gone);
      }
    }
  }

  /** Violation counts per subscription name (topics with the same subscription name add up). */
  violationsBySubscription(): ReadonlyMap<string, Readonly<SubscriptionCounts>> {
    return this.subscriptions;
  }

  /** Total violations of one kind, over all subscriptions. */
  violations(kind: AuditViolationKind, subscription?: string): number {
    if (subscription !== undefined) return this.subscriptions.get(subscription)?.[kind] ?? 0;
    let total = 0;
    for (const counts of this.subscriptions.values()) total += counts[kind];
    return total;
  }

  /** The `k` keys with the most violations, most first. */
  topViolatingKeys(k: number): ViolatingKey[] {
    return [...this.violating.values()].sort((a, b) => b.violations - a.violations).slice(0, k);
  }

  /** The most recent violations, oldest first. */
  recentViolations(): readonly AuditViolation[] {
    return this.recent;
  }

  private subscriptionCounts(subscription: string): SubscriptionCounts | undefined {
    let counts = this.subscriptions.get(subscription);
    if (counts === undefined) {
      if (this.subscriptions.size >= this.options.maxSubscriptions) return undefined;
      counts = { exclusivity: 0, reorder: 0 };
      this.subscriptions.set(subscription, counts);
    }
    return counts;
  }

  /** Keys are audited per topic and subscription: each is its own dispatcher (partitions of a topic share the key's partition). */
  private touch(window: ProcessWindow, now: number): AuditedKey {
    const id = `${window.topic}\n${window.subscription}\n${window.key}`;
    let state = this.keys.get(id);
    if (state === undefined) {
      if (this.keys.size >= this.options.maxKeys) {
        const oldest = this.keys.keys().next();
        if (oldest.done !== true) {
          this.keys.delete(oldest.value);
          this.overflow.keys++;
        }
      }
      state = new AuditedKey(window.topic, window.subscription, window.key);
    } else {
      this.keys.delete(id);
    }
    this.keys.set(id, state);
    state.touchedAt = now;
    return state;
  }

  private report(state: AuditedKey, violation: AuditViolation): void {
    const id = state.id;
    let entry = this.violating.get(id);
    if (entry === undefined) {
      if (this.violating.size >= this.options.maxViolatingKeys) this.forgetLeastViolatingKey();
      entry = { topic: state.topic, subscription: state.subscription, key: state.key, violations: 0 };
      this.violating.set(id, entry);
    }
    entry.violations++;
    this.recent.push(violation);
    if (this.recent.length > this.options.recentViolationsKept) this.recent.shift();
    if (this.onViolation !== undefined) {
      try {
        this.onViolation(violation);
      } catch {
        // A listener's fault must not stop the audit.
      }
    }
  }

  /** Runs only when the table of violating keys is full, so the scan is rare. */
  private forgetLeastViolatingKey(): void {
    let leastId: string | undefined;
    let least = Number.POSITIVE_INFINITY;
    for (const [id, entry] of this.violating) {
      if (entry.violations < least) {
        least = entry.violations;
        leastId = id;
      }
    }
    if (leastId !== undefined) {
      this.violating.delete(leastId);
      this.overflow.violating_keys++;
    }
  }
}

function resolveAuditorOptions(options: AuditorOptions): ResolvedAuditorOptions {
  const resolved: ResolvedAuditorOptions = {
    windowMs: options.windowMs ?? AUDITOR_DEFAULTS.windowMs,
    maxKeys: options.maxKeys ?? AUDITOR_DEFAULTS.maxKeys,
    maxWindowsPerKey: options.maxWindowsPerKey ?? AUDITOR_DEFAULTS.maxWindowsPerKey,
    skewToleranceMs: options.skewToleranceMs ?? AUDITOR_DEFAULTS.skewToleranceMs,
    maxSubscriptions: options.maxSubscriptions ?? AUDITOR_DEFAULTS.maxSubscriptions,
    maxViolatingKeys: options.maxViolatingKeys ?? AUDITOR_DEFAULTS.maxViolatingKeys,
    recentViolationsKept: options.recentViolationsKept ?? AUDITOR_DEFAULTS.recentViolationsKept,
  };
  for (const [name, value] of Object.entries(resolved)) {
    const allowZero = name === 'skewToleranceMs' || name === 'recentViolationsKept';
    if (typeof value !== 'number' || !Number.isFinite(value) || (allowZero ? value < 0 : value <= 0)) {
      const fallback = AUDITOR_DEFAULTS[name as keyof ResolvedAuditorOptions];
      throw new KeyscopeConfigError(
        `Option \`${name}\` must be a ${allowZero ? 'non-negative' : 'positive'} number (got ${String(value)}); omit it for the default ${fallback}.`,
      );
    }
  }
  return resolved;
}
