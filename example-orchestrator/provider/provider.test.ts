import { describe, expect, it } from 'vitest';
import type { SendCommand } from '../domain/commands.js';
import { Provider } from './provider.js';

const command = (decisionId: string, extra: Partial<SendCommand> = {}): SendCommand => ({
  v: 1,
  commandId: 's-1/welcome/welcome',
  decisionId,
  subscriberId: 's-1',
  journey: 'welcome',
  step: 'welcome',
  channel: 'sms',
  decidedAt: 1,
  trigger: 'event:1',
  decidedBy: 'orchestrator-0',
  ...extra,
});

function provider(overrides: { errorRate?: number; rateLimitPerSecond?: number } = {}) {
  let now = 0;
  const instance = new Provider(
    { latencyP50Ms: 1, latencyP99Ms: 2, errorRate: 0, rateLimitPerSecond: 1_000, seed: 1, ...overrides },
    { wallNow: () => now, simNow: () => now * 10 },
  );
  return { instance, advance: (ms: number) => (now += ms) };
}

describe('Provider', () => {
  it('accepts a decision once and answers a repeat of its id as a retry; a second decision of the same step is recorded again', () => {
    const { instance } = provider();
    const first = instance.answer(command('d-1'));
    expect(first.status).toBe(202);
    expect(instance.answer(command('d-1')).status).toBe(200);
    expect(instance.answer(command('d-2')).status).toBe(202);
    expect(instance.distinctAccepted).toBe(2);
  });

  it('answers 429 with Retry-After beyond its rate, and counts the rejected attempts of the decision it then accepts', () => {
    const { instance, advance } = provider({ rateLimitPerSecond: 2 });
    expect(instance.answer(command('a')).status).toBe(202);
    expect(instance.answer(command('b')).status).toBe(202);
    const limited = instance.answer(command('c'));
    expect(limited).toMatchObject({ status: 429, retryAfterSeconds: 1 });
    advance(1_000);
    const accepted = instance.answer(command('c'));
    expect(accepted.status).toBe(202);
    if (accepted.status === 202) expect(accepted.record.rejectedAttempts).toBe(1);
  });

  it('refuses a command whose fence is older than one seen for the subscriber (a holder that lost its lock)', () => {
    const { instance } = provider();
    expect(instance.answer(command('x', { fence: 5 })).status).toBe(202);
    expect(instance.answer(command('y', { fence: 4 })).status).toBe(409);
    expect(instance.answer(command('z', { fence: 6 })).status).toBe(202);
  });

  it('fails a share of requests with 503, the same ones for the same seed', () => {
    const outcomes = (seed: number) => {
      const instance = new Provider(
        { latencyP50Ms: 1, latencyP99Ms: 2, errorRate: 0.3, rateLimitPerSecond: 1e9, seed },
        { wallNow: () => 0, simNow: () => 0 },
      );
      return Array.from({ length: 200 }, (_, i) => instance.answer(command(`d-${i}`)).status);
    };
    const errors = outcomes(7).filter((status) => status === 503).length;
    expect(errors).toBeGreaterThan(30);
    expect(errors).toBeLessThan(100);
    expect(outcomes(7)).toEqual(outcomes(7));
  });
});
