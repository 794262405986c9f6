/**
 * One benchmark scenario in its own process, so that each configuration is
 * compiled by V8 the way an application running only that configuration
 * would be. The parent asks for rounds one at a time over IPC.
 */
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { exposeGc } from '../../test/support/gc.js';
import { SCENARIOS, createPipe, runRound, type ScenarioName } from './scenarios.js';

const name = process.argv[2] as ScenarioName;
if (!SCENARIOS.includes(name)) throw new Error(`unknown scenario ${String(name)}`);

const gc = exposeGc();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const pipe = await createPipe(name);

process.on('message', (request: { messages: number }) => {
  gc();
  void runRound(pipe, request.messages).then((usPerMessage) => process.send?.({ usPerMessage }));
});
process.send?.({ ready: true });
