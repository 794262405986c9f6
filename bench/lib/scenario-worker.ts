/**
 * One benchmark scenario in its own process, so that each configuration is
 * compiled by V8 the way an application running only that configuration
 * would be. The parent asks for rounds one at a time over IPC. No forced GC
 * between rounds: the process reaches its steady state, and the collector's
 * work for this scenario's garbage lands in this scenario's rounds.
 */
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { SCENARIOS, createPipe, runRound, type ScenarioName } from './scenarios.js';

const name = process.argv[2] as ScenarioName;
if (!SCENARIOS.includes(name)) throw new Error(`unknown scenario ${String(name)}`);

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const pipe = await createPipe(name);

process.on('message', (request: { messages: number }) => {
  void runRound(pipe, request.messages).then((usPerMessage) => process.send?.({ usPerMessage }));
});
process.send?.({ ready: true });
