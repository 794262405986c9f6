import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planFaults, runFaults, type FaultTarget } from './runner.js';
import { FAULT_PRESETS, FaultScheduleError, formatFaultSchedule, parseFaultSchedule } from './schedule.js';
import { FaultSwitches, PoisonEventError, writeFaultSwitchFile } from './switches.js';
import { DEFAULT_LOAD, planLoad, summarizeLoad, type LoadOptions } from '../loadgen/plan.js';

const load: LoadOptions = { ...DEFAULT_LOAD, subscribers: 500, ratePerSecond: 200, durationMs: 10_000, seed: 3 };

describe('fault schedule', () => {
  it('parses the inline form with times in s, ms and % and fills defaults', () => {
    const faults = parseFaultSchedule(
      'kill@20s:process=1:restartAfter=500ms, slow@50%:ms=2000, poison@1500ms:key=sub-00007:count=2, broker-restart@60%',
    );
    expect(faults).toEqual([
      { kind: 'kill', at: { ms: 20_000 }, process: 1, restartAfterMs: 500 },
      { kind: 'slow', at: { share: 0.5 }, key: 'hot', delayMs: 2000, count: 2 },
      { kind: 'poison', at: { ms: 1500 }, key: 'sub-00007', count: 2 },
      { kind: 'broker-restart', at: { share: 0.6 } },
    ]);
    expect(parseFaultSchedule(formatFaultSchedule(faults))).toEqual(faults);
  });

  it('knows its presets; none is empty; every preset parses', () => {
    expect(parseFaultSchedule('none')).toEqual([]);
    for (const name of Object.keys(FAULT_PRESETS)) expect(() => parseFaultSchedule(name)).not.toThrow();
    expect(parseFaultSchedule('safe').map((fault) => fault.kind)).not.toContain('broker-restart');
    expect(new Set(parseFaultSchedule('all').map((fault) => fault.kind))).toEqual(
      new Set(['kill', 'add-consumer', 'slow', 'poison', 'broker-restart', 'redis-restart']),
    );
  });

  it('reads a JSON file', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'faults-')), 'schedule.json');
    writeFileSync(
      path,
      JSON.stringify([
        { kind: 'add-consumer', at: '10s' },
        { kind: 'kill', at: '30%', process: 2 },
      ]),
    );
    expect(parseFaultSchedule(path)).toEqual([
      { kind: 'add-consumer', at: { ms: 10_000 } },
      { kind: 'kill', at: { share: 0.3 }, process: 2, restartAfterMs: 3000 },
    ]);
  });

  it('rejects mistakes with a message naming them', () => {
    expect(() => parseFaultSchedule('explode@10s')).toThrow(/unknown kind "explode"/);
    expect(() => parseFaultSchedule('kill')).toThrow(/kill@30%/);
    expect(() => parseFaultSchedule('kill@soon')).toThrow(FaultScheduleError);
    expect(() => parseFaultSchedule('kill@10s:ms=3')).toThrow(/takes process, restartAfter/);
    expect(() => parseFaultSchedule('kill@120%')).toThrow(/past the end/);
    expect(() => parseFaultSchedule('slow@1s:count=0')).toThrow(/count must be an integer >= 1/);
  });
});

describe('fault plan', () => {
  it('turns slow and poison faults into the next events of the key, the same for every run', () => {
    const hotKeys = summarizeLoad(load).hotKeys.map((key) => key.subscriberId);
    const faults = parseFaultSchedule('slow@40%:key=hot:ms=1500:count=2,poison@60%:key=hot2:count=1,kill@20%:restartAfter=1s');
    const plan = planFaults(faults, planLoad(load), load.durationMs, hotKeys);
    expect(plan.switches.slow).toHaveLength(2);
    expect(plan.switches.slow.every((entry) => entry.subscriberId === hotKeys[0] && entry.delayMs === 1500)).toBe(true);
    expect(plan.switches.poison).toEqual([{ subscriberId: hotKeys[1], seq: expect.any(Number) }]);
    const slowEvents = [...planLoad(load)].filter((e) =>
      plan.switches.slow.some((s) => s.subscriberId === e.subscriberId && s.seq === e.seq),
    );
    expect(slowEvents.every((e) => e.atMs >= 4000)).toBe(true);
    expect(plan.steps.map((step) => step.kind)).toEqual(['kill', 'restart', 'slow', 'poison']);
    expect(plan.steps[1]?.atMs).toBe(3000);
    const again = planFaults(faults, planLoad(load), load.durationMs, hotKeys);
    expect(again.switches).toEqual(plan.switches);
    expect(again.steps.map(({ atMs, kind, detail }) => ({ atMs, kind, detail }))).toEqual(
      plan.steps.map(({ atMs, kind, detail }) => ({ atMs, kind, detail })),
    );
  });

  it('refuses a fault past the end or on a key with no events left', () => {
    expect(() => planFaults(parseFaultSchedule('kill@20s'), planLoad(load), load.durationMs, [])).toThrow(/not inside/);
    expect(() => planFaults(parseFaultSchedule('slow@10%:key=nobody'), planLoad(load), load.durationMs, [])).toThrow(/no event after/);
    expect(() => planFaults(parseFaultSchedule('slow@10%:key=hot3'), planLoad(load), load.durationMs, ['a'])).toThrow(/only 1 hot keys/);
  });
});

describe('fault runner', () => {
  it('runs the steps in time order, logs each with its time, and goes on after a failing step', async () => {
    const calls: string[] = [];
    const record = (call: string, detail: string) => {
      calls.push(call);
      return detail;
    };
    const target: FaultTarget = {
      killOrchestrator: async (index) => record(`kill ${index}`, `pid ${100 + index}`),
      restartOrchestrator: async (index) => record(`restart ${index}`, `pid ${200 + index}`),
      addConsumer: async () => record('add', 'orchestrator-3'),
      restartBroker: async () => {
        calls.push('broker');
        throw new Error('broker did not come back');
      },
      restartRedis: async () => record('redis', 'redis back'),
    };
    const plan = planFaults(
      parseFaultSchedule('kill@50ms:process=1:restartAfter=100ms,broker-restart@80ms,redis-restart@200ms,add-consumer@10ms'),
      [],
      1000,
      [],
    );
    const records = await runFaults(plan, target, { startedAt: performance.now() });
    expect(calls).toEqual(['add', 'kill 1', 'broker', 'restart 1', 'redis']);
    expect(records.map((r) => r.kind)).toEqual(['add-consumer', 'kill', 'broker-restart', 'restart', 'redis-restart']);
    expect(records[1]).toMatchObject({ plannedAtMs: 50, detail: 'pid 101' });
    expect(records[2]?.error).toBe('broker did not come back');
    for (const record of records) expect(record.atMs).toBeGreaterThanOrEqual(record.plannedAtMs - 2);
  });

  it('starts each fault at its time even while an earlier one still runs; a restart waits for its kill', async () => {
    const events: string[] = [];
    const target = {
      restartBroker: async () => {
        events.push('broker down');
        await new Promise((resolve) => setTimeout(resolve, 300));
        events.push('broker up');
        return 'broker back';
      },
      killOrchestrator: async () => {
        events.push('kill');
        await new Promise((resolve) => setTimeout(resolve, 200));
        events.push('killed');
        return 'pid 1';
      },
      restartOrchestrator: async () => {
        events.push('restart');
        return 'pid 2';
      },
      addConsumer: async () => {
        events.push('add');
        return 'orchestrator-3';
      },
    } as unknown as FaultTarget;
    const plan = planFaults(parseFaultSchedule('broker-restart@10ms,kill@50ms:restartAfter=20ms,add-consumer@100ms'), [], 1000, []);
    const started = performance.now();
    const records = await runFaults(plan, target, { startedAt: started });
    expect(events).toEqual(['broker down', 'kill', 'add', 'killed', 'restart', 'broker up']);
    const add = records.find((r) => r.kind === 'add-consumer');
    expect(add?.atMs).toBeLessThan(200);
    expect(records.find((r) => r.kind === 'restart')?.atMs).toBeGreaterThanOrEqual(240);
  });

  it('stops at the abort signal', async () => {
    const controller = new AbortController();
    const plan = planFaults(parseFaultSchedule('add-consumer@10ms,add-consumer@5s'), [], 10_000, []);
    let added = 0;
    const target = { addConsumer: async () => `#${++added}` } as unknown as FaultTarget;
    setTimeout(() => controller.abort(), 100);
    const records = await runFaults(plan, target, { startedAt: performance.now(), signal: controller.signal });
    expect(records).toHaveLength(1);
  });
});

describe('fault switches', () => {
  it('delays slow events, throws for poison events, and lets every other event through at once', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'switches-')), 'faults.json');
    writeFaultSwitchFile(path, { slow: [{ subscriberId: 'sub-1', seq: 2, delayMs: 120 }], poison: [{ subscriberId: 'sub-2', seq: 5 }] });
    const switches = FaultSwitches.fromEnv({ ORCH_FAULT_FILE: path });
    let started = performance.now();
    await switches.beforeHandle('sub-1', 2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
    started = performance.now();
    await switches.beforeHandle('sub-1', 3);
    await switches.beforeHandle('sub-2', 4);
    expect(performance.now() - started).toBeLessThan(50);
    await expect(switches.beforeHandle('sub-2', 5)).rejects.toBeInstanceOf(PoisonEventError);
    expect(FaultSwitches.fromEnv({}).empty).toBe(true);
  });

  it('says which file is wrong', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'switches-')), 'bad.json');
    writeFileSync(path, '{"slow": [{"subscriberId": 1}]}');
    expect(() => FaultSwitches.fromFile(path)).toThrow(/is not a fault switch file/);
    expect(() => FaultSwitches.fromFile(`${path}.missing`)).toThrow(/cannot read the fault switch file/);
  });
});
