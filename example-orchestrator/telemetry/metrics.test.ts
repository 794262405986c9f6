import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { orchestratorHistograms, orchestratorMetrics } from '../../dashboards/src/metrics.js';
import { OrchestratorMetrics } from './metrics.js';

describe('OrchestratorMetrics', () => {
  it('registers exactly the metric names the Orchestrator dashboard knows', async () => {
    const registry = new Registry();
    new OrchestratorMetrics(registry, 'key_shared');
    const metrics = await registry.getMetricsAsJSON();
    expect(metrics.map((metric) => metric.name).sort()).toEqual(Object.values(orchestratorMetrics).sort());
    const histograms = metrics.filter((metric) => String(metric.type) === 'histogram').map((metric) => metric.name);
    expect(histograms.sort()).toEqual([...orchestratorHistograms].sort());
  });

  it('starts every counter of a role at 0, labelled with the mode', async () => {
    const registry = new Registry();
    new OrchestratorMetrics(registry, 'shared_redis_lock').initialize('orchestrator');
    const text = await registry.metrics();
    expect(text).toContain('orchestrator_fencing_rejections_total{mode="shared_redis_lock"} 0');
    expect(text).toContain('orchestrator_decisions_total{mode="shared_redis_lock",outcome="capped"} 0');
    expect(text).toContain('orchestrator_dead_letters_total{mode="shared_redis_lock",role="orchestrator",reason="bad_json"} 0');
  });
});
