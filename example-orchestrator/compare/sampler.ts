/**
 * Watches one mode's processes while it runs: every second, each process's
 * /metrics and its CPU time from /proc. A killed process keeps its last
 * sample, so counters of every incarnation add up at the end.
 */
import { readFileSync } from 'node:fs';
import type { ProcessInfo } from '../modes/handle.js';
import { parsePrometheusText, sumOf, type Sample } from './prometheus-text.js';

/** Linux reports process CPU in clock ticks; 100 per second on every common kernel configuration. */
const CLOCK_TICKS_PER_SECOND = 100;

interface Incarnation {
  name: string;
  role: string;
  pid: number;
  samples: Sample[];
  /** CPU time at the first sample: start-up work (loading, compiling) is not the events' cost. */
  cpuBaselineMs: number | undefined;
  cpuMs: number;
}

export class ProcessSampler {
  private readonly incarnations = new Map<string, Incarnation>();
  /** Largest stalled-key age seen per key (keyscope_stalled_key_age_seconds). */
  private readonly stalledKeys = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;

  constructor(
    private readonly processes: () => ProcessInfo[],
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.sampling === undefined) this.sampling = this.sampleOnce().finally(() => (this.sampling = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sampleOnce();
  }

  async sampleOnce(): Promise<void> {
    await Promise.all(
      this.processes().map(async (info) => {
        if (info.pid === undefined) return;
        const id = `${info.name}#${info.pid}`;
        const incarnation = this.incarnations.get(id) ?? {
          name: info.name,
          role: info.role,
          pid: info.pid,
          samples: [],
          cpuBaselineMs: undefined,
          cpuMs: 0,
        };
        this.incarnations.set(id, incarnation);
        const cpuMs = readCpuMs(info.pid);
        if (cpuMs !== undefined) {
          incarnation.cpuBaselineMs ??= cpuMs;
          incarnation.cpuMs = cpuMs - incarnation.cpuBaselineMs;
        }
        if (info.metricsUrl === undefined) return;
        try {
          const response = await fetch(info.metricsUrl, { signal: AbortSignal.timeout(2000) });
          if (!response.ok) return;
          incarnation.samples = parsePrometheusText(await response.text());
          for (const sample of incarnation.samples) {
            if (sample.name !== 'keyscope_stalled_key_age_seconds' || sample.labels.key === undefined) continue;
            this.stalledKeys.set(sample.labels.key, Math.max(this.stalledKeys.get(sample.labels.key) ?? 0, sample.value));
          }
        } catch {
          // A process being killed or restarted does not answer; its last sample stands.
        }
      }),
    );
  }

  /** A metric summed over every incarnation of the processes of a role. */
  sum(name: string, where: Record<string, string> = {}, role = 'orchestrator'): number {
    let total = 0;
    for (const incarnation of this.incarnations.values()) if (incarnation.role === role) total += sumOf(incarnation.samples, name, where);
    return total;
  }

  /** CPU spent by the role's processes since each was first sampled, ms. */
  cpuMs(role = 'orchestrator'): number {
    let total = 0;
    for (const incarnation of this.incarnations.values()) if (incarnation.role === role) total += incarnation.cpuMs;
    return total;
  }

  stalledKeyAges(): Array<{ key: string; maxAgeSeconds: number }> {
    return [...this.stalledKeys.entries()]
      .map(([key, maxAgeSeconds]) => ({ key, maxAgeSeconds }))
      .sort((a, b) => b.maxAgeSeconds - a.maxAgeSeconds);
  }
}

/** utime + stime of a live process, ms; undefined once it is gone. */
function readCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}
