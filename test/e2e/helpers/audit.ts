/**
 * Helpers for the cross-consumer audit tests: consumers in their own OS
 * processes (audited-consumer.ts), the stack's auditor and broker exporter
 * read through their /metrics, the keyscope CLI run as a user runs it.
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AuditedConsumerConfig, ChildMessage } from './audited-consumer.js';
import { REPO_ROOT, sleep } from './broker.js';

const env = process.env;
export const OTLP_TRACES_URL = `http://127.0.0.1:${env.OTELCOL_OTLP_HTTP_PORT ?? '4318'}/v1/traces`;
export const COLLECTOR_HEALTH_URL = `http://127.0.0.1:${env.OTELCOL_HEALTH_PORT ?? '13133'}/`;
export const JAEGER_URL = `http://127.0.0.1:${env.JAEGER_UI_PORT ?? '16686'}`;
export const AUDIT_METRICS_URL = `http://127.0.0.1:${env.KEYSCOPE_AUDIT_METRICS_PORT ?? '9465'}/metrics`;
export const BROKER_EXPORTER_METRICS_URL = `http://127.0.0.1:${env.KEYSCOPE_BROKER_EXPORTER_PORT ?? '9466'}/metrics`;

const CONSUMER_SCRIPT = fileURLToPath(new URL('./audited-consumer.ts', import.meta.url));

/** A consumer process and what it reported. */
export class ConsumerProcess {
  readonly processed: Array<{ id: string; key: string }> = [];
  concurrent: number | undefined;
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;
  private readonly exited: Promise<void>;
  private closedResolve: (() => void) | undefined;

  constructor(readonly config: AuditedConsumerConfig) {
    this.child = fork(CONSUMER_SCRIPT, [JSON.stringify(config)], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.ready = new Promise((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`consumer ${config.consumerName} exited (code ${code}) before it was ready`)));
      this.child.on('message', (message: ChildMessage) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'processed') this.processed.push({ id: message.id, key: message.key });
        else if (message.type === 'closed') {
          this.concurrent = message.concurrent;
          this.closedResolve?.();
        }
      });
    });
    // The parent's assertions report the failure; this keeps an early exit from being an unhandled rejection.
    this.ready.catch(() => {});
  }

  whenReady(timeoutMs = 60_000): Promise<void> {
    return Promise.race([
      this.ready,
      sleep(timeoutMs).then(() => Promise.reject(new Error(`consumer ${this.config.consumerName} not ready after ${timeoutMs} ms`))),
    ]);
  }

  /** Flushes its spans and exits; resolves with its in-process `concurrent` count. */
  async close(timeoutMs = 30_000): Promise<number | undefined> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.concurrent;
    const closed = new Promise<void>((resolve) => (this.closedResolve = resolve));
    this.child.send({ type: 'close' });
    await Promise.race([Promise.all([closed, this.exited]), sleep(timeoutMs)]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    return this.concurrent;
  }

  /** A crash: no flush, no close, unacked messages left to the broker. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The samples of one metric from a Prometheus text endpoint. */
export async function scrape(url: string, name: string): Promise<Sample[]> {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue;
    const labels: Record<string, string> = {};
    const braces = /^[^{]*\{(.*)\}\s/.exec(line)?.[1] ?? '';
    for (const match of braces.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[match[1] as string] = (match[2] as string).replace(/\\(.)/g, '$1');
    samples.push({ labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) });
  }
  return samples;
}

/** The value of the sample with these labels (others ignored), or undefined. */
export async function sampleValue(url: string, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const samples = await scrape(url, name);
  return samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** Polls `read` until `done(value)` or the deadline; returns the last value. */
export async function pollValue<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await sleep(500);
    value = await read();
  }
  return value;
}

/** Runs the keyscope CLI from this checkout, as `keyscope ARGS...`. */
export function keyscopeCli(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

export async function reachable(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
