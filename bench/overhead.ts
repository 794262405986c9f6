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
import { KEYSCOPE_DEFAULTS } from '../src/keyscope.js';
import { bytesPerInflightMessage, bytesPerTrackedKey } from './lib/memory.js';
import { environment, loadAverage } from './lib/environment.js';
import { median, quantile } from './lib/stats.js';
import { KEY_COUNT, SCENARIOS, type ScenarioName } from './lib/scenarios.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 31);
const WARMUP_ROUNDS = 3;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
/** The targets this benchmark is judged against. */
const TARGETS = {
  /** (a) and (b): added cost over the same-telemetry floor's. */
  sameTelemetryRatio: 1.1,
  /** (a) and (b): added cost over the minimal floor's. */
  minimalRatio: 1.2,
  metricsOnlyAddedMicros: 1.0,
  bytesPerTrackedKey: 120,
};
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

async function main(): Promise<void> {
  const startEnvironment = environment();
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
  const endLoad = loadAverage();

  const perMessage = (name: ScenarioName) => median(rotations.map((r) => r[name]));
  const addedSamples = (name: ScenarioName) => rotations.map((r) => r[name] - r.raw);
  const added = (name: ScenarioName) => median(addedSamples(name));
  // A ratio of medians: per-rotation ratios would divide by a small, noisy floor and skew upwards.
  const ratio = (name: ScenarioName, floor: ScenarioName) => added(name) / added(floor);
  const keyMemory = bytesPerTrackedKey();
  const inflightMemory = await bytesPerInflightMessage();

  const fmt = (n: number) => n.toFixed(2);
  const spread = (name: ScenarioName) => `${fmt(quantile(addedSamples(name), 0.25))}–${fmt(quantile(addedSamples(name), 0.75))}`;
  const none = '—';
  const rows: string[][] = [['raw stand-in (produce + consume + ack)', fmt(perMessage('raw')), none, none, none, none, none, none]];
  const tracingRow = (label: string, name: ScenarioName, minimal: ScenarioName, same: ScenarioName) => {
    const toSame = ratio(name, same);
    const toMinimal = ratio(name, minimal);
    const misses = [
      ...(toSame <= TARGETS.sameTelemetryRatio ? [] : [`${toSame.toFixed(2)} > ${TARGETS.sameTelemetryRatio.toFixed(2)} same-telemetry`]),
      ...(toMinimal <= TARGETS.minimalRatio ? [] : [`${toMinimal.toFixed(2)} > ${TARGETS.minimalRatio.toFixed(2)} minimal`]),
    ];
    rows.push([
      label,
      fmt(perMessage(name)),
      fmt(added(name)),
      spread(name),
      toMinimal.toFixed(2),
      toSame.toFixed(2),
      `≤ ${TARGETS.sameTelemetryRatio.toFixed(2)} same-telemetry, ≤ ${TARGETS.minimalRatio.toFixed(2)} minimal`,
      misses.length === 0 ? 'met' : `missed (${misses.join('; ')})`,
    ]);
  };
  tracingRow('(a) tracing sampled', 'keyscope sampled', 'minimal floor sampled', 'same-telemetry floor sampled');
  tracingRow('(b) tracing not sampled', 'keyscope not sampled', 'minimal floor not sampled', 'same-telemetry floor not sampled');
  const metricsOnly = added('keyscope metrics only');
  rows.push([
    '(c) metrics only (no tracer provider)',
    fmt(perMessage('keyscope metrics only')),
    fmt(metricsOnly),
    spread('keyscope metrics only'),
    none,
    none,
    `≤ ${TARGETS.metricsOnlyAddedMicros.toFixed(1)} µs added`,
    metricsOnly <= TARGETS.metricsOnlyAddedMicros ? 'met' : `missed (+${fmt(metricsOnly - TARGETS.metricsOnlyAddedMicros)} µs)`,
  ]);
  const floorRow = (label: string, name: ScenarioName) =>
    rows.push([label, fmt(perMessage(name)), fmt(added(name)), spread(name), none, none, none, none]);
  floorRow('minimal floor, sampled', 'minimal floor sampled');
  floorRow('minimal floor, not sampled', 'minimal floor not sampled');
  floorRow('same-telemetry floor, sampled', 'same-telemetry floor sampled');
  floorRow('same-telemetry floor, not sampled', 'same-telemetry floor not sampled');
  const keyBytes = keyMemory.bytes;
  rows.push([
    'memory per tracked key',
    `${keyBytes.toFixed(0)} bytes`,
    none,
    none,
    none,
    none,
    `≤ ${TARGETS.bytesPerTrackedKey} bytes`,
    keyBytes <= TARGETS.bytesPerTrackedKey ? 'met' : `missed (+${(keyBytes - TARGETS.bytesPerTrackedKey).toFixed(0)} bytes)`,
  ]);

  const header = [
    'scenario',
    'µs/msg',
    'added µs/msg',
    'added, p25–p75',
    'ratio to minimal floor',
    'ratio to same-telemetry floor',
    'target',
    'met',
  ];
  console.log(
    `\nOverhead per message: ${ROUNDS} interleaved rounds × ${MESSAGES} messages (after ${WARMUP_ROUNDS} warm-up rounds), ${KEY_COUNT} keys`,
  );
  console.log(`${startEnvironment}; load average at the end ${endLoad}\n`);
  printTable(header, rows);
  console.log(
    [
      '',
      '"added" = scenario minus the raw stand-in, the median over rotations (each rotation runs every scenario once, back to back,',
      "so each difference pairs rounds that shared the machine's load); p25–p75 shows the spread. Ratio = median added / median floor added.",
      'Floors are bare OpenTelemetry calls on the same transport. Minimal floor: two spans with their sampling-relevant attributes,',
      'inject, extract, an active process span. Same-telemetry floor: the same calls producing the spans Keyscope produces (every',
      'attribute, producer id and seq carried in properties, the settle event at ack; the key unhashed), without metrics or tracking.',
      'The minimal floor bounds what any propagating instrumentation costs. Each scenario runs in its own process with no forced GC',
      `between rounds, so its collector work is part of its own cost. Memory per tracked key: over ${keyMemory.keys} idle keys.`,
    ].join('\n'),
  );

  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  console.log(`\nMemory (heap growth between full collections, ${inflightMemory.messages} messages held in flight over 100 keys):\n`);
  printTable(
    ['what', 'bytes each', `at the default bound`],
    [
      [
        'tracked key (idle)',
        keyBytes.toFixed(0),
        `maxTrackedKeys ${KEYSCOPE_DEFAULTS.maxTrackedKeys}: ≤ ${mb(keyBytes * KEYSCOPE_DEFAULTS.maxTrackedKeys)}`,
      ],
      [
        'in-flight message, tracing off',
        inflightMemory.untraced.toFixed(0),
        `maxInflightMessages ${KEYSCOPE_DEFAULTS.maxInflightMessages}: ≤ ${mb(inflightMemory.untraced * KEYSCOPE_DEFAULTS.maxInflightMessages)}`,
      ],
      [
        'in-flight message with its recording process span',
        inflightMemory.traced.toFixed(0),
        `maxInflightMessages ${KEYSCOPE_DEFAULTS.maxInflightMessages}: ≤ ${mb(inflightMemory.traced * KEYSCOPE_DEFAULTS.maxInflightMessages)}`,
      ],
    ],
  );
  console.log("\nThe message objects themselves are the application's and not counted; a tracked key's string is the message's key.");
}

function printTable(header: string[], rows: string[][]): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

await main();
