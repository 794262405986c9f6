/**
 * Runs one scenario of `npm run bench` alone, for profiling:
 *
 *   node --cpu-prof --cpu-prof-dir=.run/profiles --import tsx bench/profile.ts 'keyscope metrics only'
 *   node --heap-prof --heap-prof-dir=.run/profiles --import tsx bench/profile.ts 'keyscope sampled'
 *
 * (BENCH_MESSAGES per round, BENCH_ROUNDS rounds; the scenario names are those of bench/lib/scenarios.ts.)
 */
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { SCENARIOS, createPipe, runRound, type ScenarioName } from './lib/scenarios.js';
import { median } from './lib/stats.js';

const name = process.argv[2] as ScenarioName;
if (!SCENARIOS.includes(name)) {
  console.error(`Usage: bench/profile.ts <scenario>, one of: ${SCENARIOS.map((s) => `'${s}'`).join(', ')}`);
  process.exit(1);
}
const rounds = Number(process.env.BENCH_ROUNDS ?? 40);
const messages = Number(process.env.BENCH_MESSAGES ?? 10_000);

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const pipe = await createPipe(name);
const perMessage: number[] = [];
for (let r = 0; r < rounds; r++) perMessage.push(await runRound(pipe, messages));
console.log(`${name}: median ${median(perMessage).toFixed(2)} µs/msg over ${rounds} rounds × ${messages} messages`);
