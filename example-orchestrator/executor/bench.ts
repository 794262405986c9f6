/**
 * npm run bench:executor — the keyed executor against one-at-a-time
 * processing on the same workload: K keys (default 1000), M messages per key
 * (default 3), each message W ms of asynchronous work (default 5, a timer
 * standing in for a Redis or HTTP round trip). Prints both wall times, the
 * ratio, and the per-key order violations (a message of a key that started
 * before its predecessor finished, or out of sequence): there must be none.
 *
 *   npm run bench:executor -- --keys 1000 --per-key 3 --work-ms 5 --max-in-flight 1000
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedExecutor } from './keyed-executor.js';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000' },
    'per-key': { type: 'string', default: '3' },
    'work-ms': { type: 'string', default: '5' },
    'max-in-flight': { type: 'string', default: '1000' },
    'max-key-depth': { type: 'string', default: '4' },
  },
});
const keys = Number(values.keys);
const perKey = Number(values['per-key']);
const workMs = Number(values['work-ms']);
const maxInFlight = Number(values['max-in-flight']);
const maxKeyDepth = Number(values['max-key-depth']);

interface Message {
  key: string;
  seq: number;
}

// Interleaved like a topic's backlog: key 0..K-1, then again.
const messages: Message[] = [];
for (let seq = 1; seq <= perKey; seq++) for (let k = 0; k < keys; k++) messages.push({ key: `key-${k}`, seq });

class OrderCheck {
  private readonly last = new Map<string, number>();
  private readonly running = new Set<string>();
  violations = 0;
  processed = 0;
  start(message: Message): void {
    if (this.running.has(message.key)) this.violations++;
    if ((this.last.get(message.key) ?? 0) !== message.seq - 1) this.violations++;
    this.running.add(message.key);
  }
  end(message: Message): void {
    this.running.delete(message.key);
    this.last.set(message.key, message.seq);
    this.processed++;
  }
}

async function work(check: OrderCheck, message: Message): Promise<void> {
  check.start(message);
  await sleep(workMs);
  check.end(message);
}

async function oneAtATime(): Promise<{ ms: number; check: OrderCheck }> {
  const check = new OrderCheck();
  const started = performance.now();
  for (const message of messages) await work(check, message);
  return { ms: performance.now() - started, check };
}

async function keyed(): Promise<{ ms: number; check: OrderCheck }> {
  const check = new OrderCheck();
  const executor = new KeyedExecutor<Message>({
    maxInFlight,
    maxKeyDepth,
    maxAttempts: 3,
    retryDelayMs: () => 1,
    deadlineMs: 30_000,
    handle: (message) => work(check, message),
    onDone: () => undefined,
    onDeadLetter: async () => undefined,
  });
  const started = performance.now();
  for (const message of messages) await executor.submit(message.key, message);
  await executor.idle();
  return { ms: performance.now() - started, check };
}

console.log(
  `keyed executor benchmark: ${keys} keys x ${perKey} messages, ${workMs} ms of work each, maxInFlight ${maxInFlight}, maxKeyDepth ${maxKeyDepth}, node ${process.version}`,
);
const fast = await keyed();
console.log(
  `  keyed executor   ${fast.ms.toFixed(0).padStart(7)} ms  ${((fast.check.processed * 1000) / fast.ms).toFixed(0).padStart(7)} msg/s  order violations ${fast.check.violations}`,
);
const slow = await oneAtATime();
console.log(
  `  one at a time    ${slow.ms.toFixed(0).padStart(7)} ms  ${((slow.check.processed * 1000) / slow.ms).toFixed(0).padStart(7)} msg/s  order violations ${slow.check.violations}`,
);
const ratio = slow.ms / fast.ms;
console.log(`  speed-up ${ratio.toFixed(1)}x (target >= 10x), per-key order violations ${fast.check.violations} (target 0)`);
if (fast.check.processed !== messages.length || fast.check.violations > 0 || ratio < 10) process.exitCode = 1;
