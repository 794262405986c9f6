/**
 * Overhead of the wrappers per message (produce + consume + ack through the
 * in-memory stand-in), measured side by side in one run: every scenario runs
 * in its own process (as an application runs one configuration), rounds are
 * interleaved across scenarios one at a time, and medians are reported.
 *
 *   npm run bench            (BENCH_ROUNDS, BENCH_MESSAGES change the size)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Tracker } from '../src/tracking/tracker.js';
import { exposeGc } from '../test/support/gc.js';
import { KEY_COUNT, SCENARIOS, TOPIC, type ScenarioName } from './lib/scenarios.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const WARMUP_ROUNDS = 3;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 4000);
const workerFile = fileURLToPath(new URL('./lib/scenario-worker.ts', import.meta.url));

interface Worker {
  name: ScenarioName;
  child: ChildProcess;
}

function startWorker(name: ScenarioName): Promise<Worker> {
  const child = fork(workerFile, [name], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve({ name, child }));
    child.once('exit', (code) => reject(new Error(`scenario ${name} exited with ${code}`)));
  });
}

function round(worker: Worker): Promise<number> {
  return new Promise((resolve) => {
    worker.child.once('message', (reply: { usPerMessage: number }) => resolve(reply.usPerMessage));
    worker.child.send({ messages: MESSAGES });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function bytesPerTrackedKey(): { bytes: number; keys: number } {
  const gc = exposeGc();
  const count = 200_000;
  const tracker = new Tracker({ maxTrackedKeys: count, stallThresholdMs: 30_000, topStalledKeys: 10 });
  const stream = tracker.stream(TOPIC, 'bench');
  // Key strings as they arrive with messages: fresh strings, not literals.
  const incoming = Array.from({ length: count }, (_, i) => `customer-${i}`.split('').join(''));
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) tracker.settle(tracker.deliver(stream, incoming[i], 'Xq3_bench-prod', i + 1, 0, i));
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (tracker.keys.size !== count) throw new Error('tracker did not keep every key');
  return { bytes: (after - before) / count, keys: count };
}

async function main(): Promise<void> {
  const workers: Worker[] = [];
  for (const name of SCENARIOS) workers.push(await startWorker(name));
  // One entry per rotation (every scenario once, back to back), so that
  // differences and ratios pair rounds that ran under the same machine load.
  const rotations: Array<Record<ScenarioName, number>> = [];
  try {
    for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
      const rotation = {} as Record<ScenarioName, number>;
      // Rotate the order so no scenario always runs first or last.
      for (let k = 0; k < workers.length; k++) {
        const worker = workers[(r + k) % workers.length] as Worker;
        rotation[worker.name] = await round(worker);
      }
      if (r >= WARMUP_ROUNDS) rotations.push(rotation);
    }
  } finally {
    for (const worker of workers) worker.child.kill();
  }

  const m = (name: ScenarioName) => median(rotations.map((r) => r[name]));
  const added = (name: ScenarioName) => median(rotations.map((r) => r[name] - r.raw));
  // A ratio of medians: per-rotation ratios would divide by a small, noisy floor and skew upwards.
  const ratio = (name: ScenarioName, floor: ScenarioName) => added(name) / added(floor);
  const raw = m('raw');
  const memory = bytesPerTrackedKey();

  const fmt = (n: number) => n.toFixed(2);
  const rows: string[][] = [['raw stand-in (produce + consume + ack)', fmt(raw), '—', '—', '—', '—', '—']];
  const row = (label: string, name: ScenarioName, floor: ScenarioName | undefined, target: string, limit: number) => {
    const measured = floor === undefined ? added(name) : ratio(name, floor);
    rows.push([
      label,
      fmt(m(name)),
      fmt(added(name)),
      floor === undefined ? '—' : fmt(added(floor)),
      floor === undefined ? '—' : measured.toFixed(2),
      target,
      measured <= limit ? 'yes' : 'no',
    ]);
  };
  row('(a) tracing sampled', 'keyscope sampled', 'bare otel sampled', 'ratio ≤ 1.3', 1.3);
  row('(b) tracing not sampled', 'keyscope not sampled', 'bare otel not sampled', 'ratio ≤ 1.3', 1.3);
  row('(c) metrics only (no tracer provider)', 'keyscope metrics only', undefined, '≤ 3 µs added', 3);
  rows.push(['floor: bare OpenTelemetry, sampled', fmt(m('bare otel sampled')), fmt(added('bare otel sampled')), '—', '—', '—', '—']);
  rows.push(['floor: bare OpenTelemetry, not sampled', fmt(m('bare otel not sampled')), fmt(added('bare otel not sampled')), '—', '—', '—', '—']);
  rows.push(['memory per tracked key', `${memory.bytes.toFixed(0)} bytes`, '—', '—', '—', '≤ 200 bytes', memory.bytes <= 200 ? 'yes' : 'no']);

  const header = ['scenario', 'µs/msg (median)', 'added µs/msg', 'floor µs/msg', 'ratio to floor', 'target', 'met'];
  console.log(`\nOverhead per message: ${ROUNDS} interleaved rounds × ${MESSAGES} messages, ${KEY_COUNT} keys, Node ${process.version}\n`);
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(
    `\n"added" = scenario minus the raw stand-in; "floor" = bare OpenTelemetry calls (two spans, inject, extract, active process span) minus the raw stand-in.` +
      ` Added costs are medians of per-rotation differences (each rotation runs every scenario once, back to back, so each pair shares the machine's load); ratio = added / floor.` +
      ` Each scenario runs in its own process; memory is measured over ${memory.keys} idle tracked keys.`,
  );
}

await main();
