/**
 * The Java side of the interoperability test: resolves the Pulsar Java client
 * and the OpenTelemetry Java agent (scripts/interop/java.sh, cached), and runs
 * test/interop/java/KeyscopeInterop.java under the agent, reading the JSON
 * events it prints.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './broker.js';

export interface JavaRuntime {
  java: string;
  classpath: string;
  agent: string;
}

/** Downloads (first time) and compiles what the Java side needs; bounded. */
export function prepareJava(timeoutMs: number): Promise<JavaRuntime> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['scripts/interop/java.sh'], { cwd: REPO_ROOT, timeout: timeoutMs, env: process.env }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`scripts/interop/java.sh failed: ${error.message}\n${stderr}`));
        return;
      }
      const values = new Map(
        stdout
          .split('\n')
          .filter((line) => line.includes('='))
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
      );
      const java = values.get('JAVA');
      const classpath = values.get('JAVA_INTEROP_CLASSPATH');
      const agent = values.get('JAVA_INTEROP_AGENT');
      if (java === undefined || classpath === undefined || agent === undefined) {
        reject(new Error(`scripts/interop/java.sh printed no JAVA / JAVA_INTEROP_CLASSPATH / JAVA_INTEROP_AGENT:\n${stdout}`));
        return;
      }
      resolve({ java, classpath, agent });
    });
  });
}

export type JavaEvent =
  | { event: 'ready' }
  | { event: 'sent'; index: number; messageId: string }
  | { event: 'received'; via: 'listener' | 'receive'; messageId: string; key: string; properties: Record<string, string> }
  | { event: 'timeout'; via: string; received: number }
  | { event: 'done' };

export interface JavaPeerRun {
  readonly events: JavaEvent[];
  /** Resolves once the program printed `ready` (its consumers are subscribed). */
  readonly ready: Promise<void>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  readonly output: () => string;
  kill(): void;
}

export interface JavaPeerOptions {
  runtime: JavaRuntime;
  serviceName: string;
  /** Base URL of the collector's OTLP/HTTP receiver. */
  otlpEndpoint: string;
  serviceUrl: string;
  topic: string;
  listenerSubscription: string;
  receiveSubscription: string;
  toSend: number;
  toReceive: number;
  timeoutSeconds: number;
}

export function runJavaPeer(options: JavaPeerOptions): JavaPeerRun {
  const args = [
    `-javaagent:${options.runtime.agent}`,
    // The agent's messaging conventions that keyscope follows (see the README).
    '-Dotel.semconv-stability.opt-in=messaging',
    `-Dotel.service.name=${options.serviceName}`,
    `-Dotel.exporter.otlp.endpoint=${options.otlpEndpoint}`,
    '-Dotel.exporter.otlp.protocol=http/protobuf',
    '-Dotel.metrics.exporter=none',
    '-Dotel.logs.exporter=none',
    '-Dotel.bsp.schedule.delay=200',
    // A short-lived program: quick start-up matters more than peak speed.
    '-XX:TieredStopAtLevel=1',
    '-Xshare:auto',
    '-cp',
    options.runtime.classpath,
    'KeyscopeInterop',
    options.serviceUrl,
    options.topic,
    options.listenerSubscription,
    options.receiveSubscription,
    String(options.toSend),
    String(options.toReceive),
    String(options.timeoutSeconds),
  ];
  const child: ChildProcess = spawn(options.runtime.java, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: JavaEvent[] = [];
  const log: string[] = [];
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    log.push(line);
    if (!line.startsWith('{')) return;
    const event = JSON.parse(line) as JavaEvent;
    events.push(event);
    if (event.event === 'ready') markReady();
  });
  createInterface({ input: child.stderr! }).on('line', (line) => log.push(line));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (error) => {
      log.push(String(error));
      resolve(null);
    });
  });
  return {
    events,
    ready,
    exited,
    output: () => log.slice(-60).join('\n'),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
