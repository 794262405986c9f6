/**
 * Shared helpers for end-to-end tests against the real broker started by
 * `npm run pulsar:start` (scripts/test.sh starts it before the e2e project).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WebSocketClient } from '../../../src/websocket/index.js';
import type { WebSocketClientConfig, WebSocketConsumer, WebSocketMessage } from '../../../src/websocket/index.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const PULSAR_WEB_PORT = Number(process.env.PULSAR_WEB_PORT ?? 8080);
export const PULSAR_HTTP_URL = `http://127.0.0.1:${PULSAR_WEB_PORT}`;

/** A topic name no other test (or earlier run) has used. */
export function uniqueTopic(prefix: string): string {
  return `persistent://public/default/${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** True when the admin REST API answers the broker health check. */
export async function brokerHealthy(timeoutMs = 3000): Promise<boolean> {
  try {
    const response = await fetch(`${PULSAR_HTTP_URL}/admin/v2/brokers/health`, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok;
  } catch {
    return false;
  }
}

/** Fails fast with instructions when no broker runs (call in beforeAll). */
export async function requireBroker(): Promise<void> {
  if (!(await brokerHealthy())) {
    throw new Error(
      `No Pulsar broker answers at ${PULSAR_HTTP_URL}. Start one with 'npm run pulsar:start' ` +
        '(or run the whole suite with npm test), or set PULSAR_WEB_PORT.',
    );
  }
}

export function newClient(overrides: Partial<WebSocketClientConfig> = {}): WebSocketClient {
  return new WebSocketClient({
    serviceUrl: PULSAR_HTTP_URL,
    operationTimeoutSeconds: 30,
    // Reconnect notices are expected in some tests; keep errors visible.
    logLevel: 3,
    ...overrides,
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Receives (and acks) until `count` messages arrived or `timeoutMs` passed; returns what arrived. */
export async function receiveAll(consumer: WebSocketConsumer, count: number, timeoutMs: number): Promise<WebSocketMessage[]> {
  const deadline = Date.now() + timeoutMs;
  const messages: WebSocketMessage[] = [];
  while (messages.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      const message = await consumer.receive(left);
      await consumer.acknowledge(message);
      messages.push(message);
    } catch (error) {
      if ((error as Error).name === 'ReceiveTimeoutError') break;
      throw error;
    }
  }
  return messages;
}

/** Asserts that nothing arrives within `ms` (returns what did arrive). */
export async function receiveNothing(consumer: WebSocketConsumer, ms: number): Promise<WebSocketMessage | undefined> {
  try {
    return await consumer.receive(ms);
  } catch (error) {
    if ((error as Error).name === 'ReceiveTimeoutError') return undefined;
    throw error;
  }
}

/** Runs an npm script of this repository (pulsar:stop / pulsar:start), bounded. */
export function runNpmScript(script: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('npm', ['run', '-s', script], { cwd: REPO_ROOT, timeout: timeoutMs, env: process.env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`npm run ${script} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}
