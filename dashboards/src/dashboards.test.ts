import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { allPanels, dashboards, panelQueries, renderDashboard, substituteVariables } from './catalog.js';
import { DATASOURCE_INPUT, DATASOURCE_VARIABLE, type ExportedDashboard } from './common.js';
import { knownSeriesNames } from './metrics.js';
import { referencedSeriesNames } from './promql.js';

const dashboardsDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const known = knownSeriesNames();

const expectedUids: Record<string, string> = {
  'key-health.json': 'keyscope-key-health',
  'pulsar-subscriptions.json': 'keyscope-pulsar-subscriptions',
  'traces-red.json': 'keyscope-traces-red',
  'across-consumers.json': 'keyscope-across-consumers',
  'orchestrator.json': 'keyscope-orchestrator',
};

const built = dashboards.map((definition) => ({ definition, model: definition.build() }));

describe('generated dashboard JSON', () => {
  it.each(dashboards.map((d) => [d.file, d] as const))('%s is up to date (run `npm run dashboards`)', (file, definition) => {
    const committed = readFileSync(join(dashboardsDir, file), 'utf8');
    expect(committed, `dashboards/${file} is stale: run \`npm run dashboards\` and commit the result`).toBe(renderDashboard(definition));
  });

  it('ships exactly the four dashboards with stable uids', () => {
    expect(Object.fromEntries(built.map(({ definition, model }) => [definition.file, model.uid]))).toEqual(expectedUids);
  });

  it('renders the same JSON on every run', () => {
    for (const definition of dashboards) expect(renderDashboard(definition)).toBe(renderDashboard(definition));
  });
});

describe.each(built.map(({ definition, model }) => [definition.file, model] as const))('%s', (_file, model: ExportedDashboard) => {
  const panels = allPanels(model);
  const queries = panelQueries(model);

  it('has unique panel ids and titles, and panels inside the 24-column grid', () => {
    const ids = (model.panels ?? []).map((panel) => panel.id);
    expect(ids.every((id) => typeof id === 'number')).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const titles = panels.map((panel) => panel.title);
    expect(new Set(titles).size).toBe(titles.length);
    for (const panel of panels) {
      const grid = panel.gridPos;
      expect(grid, panel.title).toBeDefined();
      expect((grid?.x ?? 0) + (grid?.w ?? 0), panel.title).toBeLessThanOrEqual(24);
    }
  });

  it('gives every panel a description and at least one query, and every query an expression', () => {
    for (const panel of panels) {
      expect(panel.description, panel.title).toBeTruthy();
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
    for (const query of queries) expect(query.expr.trim(), `${query.panelTitle} ${query.refId}`).not.toBe('');
    for (const panel of panels) {
      const refIds = queries.filter((query) => query.panelId === panel.id).map((query) => query.refId);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
    }
  });

  it('points every panel and query at the datasource variable', () => {
    const ref = { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` };
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual(ref);
      for (const target of panel.targets ?? []) {
        expect((target as { datasource?: unknown }).datasource, panel.title).toEqual(ref);
      }
    }
  });

  it('asks for the Prometheus datasource on import and works without it when provisioned', () => {
    expect(model.id).toBeNull();
    expect(model.__inputs).toEqual([expect.objectContaining({ name: DATASOURCE_INPUT, type: 'datasource', pluginId: 'prometheus' })]);
    const variables = model.templating.list ?? [];
    const datasource = variables.find((variable) => variable.name === DATASOURCE_VARIABLE);
    expect(datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(datasource?.current?.value).toBe(`\${${DATASOURCE_INPUT}}`);
    // The import input is only used as the variable's initial value; no
    // panel depends on it directly (file provisioning does not replace it).
    const withoutVariable = JSON.stringify({ ...model, templating: {}, __inputs: [] });
    expect(withoutVariable).not.toContain(DATASOURCE_INPUT);
  });

  it('has topic and subscription variables that every consumer-side query uses', () => {
    const names = (model.templating.list ?? []).map((variable) => variable.name);
    expect(names).toEqual(expect.arrayContaining([DATASOURCE_VARIABLE, 'topic', 'subscription']));
    for (const variable of model.templating.list ?? []) {
      if (variable.type !== 'query') continue;
      expect(variable.includeAll && variable.multi, variable.name).toBe(true);
      expect(variable.allValue).toBe('.*');
      for (const name of referencedSeriesNames(String(variable.query))) expect(known, `variable ${variable.name}`).toContain(name);
    }
    // The orchestrator's own series have no topic: there, they follow the mode variable instead.
    const orchestratorOwn = queries.filter((query) => /\borchestrator_/.test(query.expr));
    for (const query of orchestratorOwn) expect(query.expr, query.panelTitle).toContain('mode=~"$mode"');
    // The auditor's series carry the subscription only: they filter on it.
    const filtered = queries.filter((query) => query.expr.includes('$topic') || query.expr.includes('$subscription'));
    expect(filtered.length).toBeGreaterThan((queries.length - orchestratorOwn.length) / 2);
  });

  it('queries only metric names the library, the broker and the collector export', () => {
    for (const query of queries) {
      const names = referencedSeriesNames(query.expr);
      expect(names.length, `${query.panelTitle}: ${query.expr}`).toBeGreaterThan(0);
      for (const name of names) expect(known, `${query.panelTitle}: ${query.expr}`).toContain(name);
    }
  });

  it('leaves no dashboard variable unresolved once variables are substituted', () => {
    for (const query of queries) {
      const expr = substituteVariables(query.expr, { rateInterval: '1m', range: '1h' });
      expect(expr, query.panelTitle).not.toMatch(/\$/);
    }
  });
});

describe('key health dashboard', () => {
  const model = built.find(({ model: m }) => m.uid === 'keyscope-key-health')?.model;
  const titles = allPanels(model as ExportedDashboard).map((panel) => panel.title ?? '');

  it('has the panels the library metrics call for', () => {
    expect(titles).toEqual(
      expect.arrayContaining([
        'Received, acked and nacked',
        'Redeliveries',
        'Ordering violations by kind',
        'In-flight messages and keys',
        'Oldest in-flight age',
        'Stalled and head-of-line blocked messages',
        'Top stalled keys',
        'End-to-end latency',
        'End-to-end latency p50 / p95 / p99',
        'Processing time',
        'Processing time p50 / p95 / p99',
        'Tracked keys and evictions',
        'In-flight evictions',
        'Context errors',
      ]),
    );
  });

  it('asks for exemplars on the latency panels so they link to traces', () => {
    const latencyQueries = panelQueries(model as ExportedDashboard).filter((query) => /end_to_end|processing/.test(query.expr));
    const heatmaps = latencyQueries.filter((query) => query.panelType === 'heatmap');
    expect(heatmaps).toHaveLength(2);
    expect(heatmaps.every((query) => query.exemplar)).toBe(true);
    expect(latencyQueries.filter((query) => query.panelType === 'timeseries' && query.exemplar)).toHaveLength(2);
  });
});

describe('the panels each dashboard promises, by title, type and query', () => {
  const byUid = (uid: string): ExportedDashboard => {
    const found = built.find(({ model: m }) => m.uid === uid)?.model;
    expect(found, uid).toBeDefined();
    return found as ExportedDashboard;
  };
  /** Title -> panel type and every query expression of that panel. */
  const panelsOf = (uid: string): Map<string, { type: string; exprs: string[]; exemplar: boolean }> => {
    const result = new Map<string, { type: string; exprs: string[]; exemplar: boolean }>();
    for (const query of panelQueries(byUid(uid))) {
      const entry = result.get(query.panelTitle) ?? { type: query.panelType, exprs: [], exemplar: false };
      entry.exprs.push(query.expr);
      entry.exemplar ||= query.exemplar;
      result.set(query.panelTitle, entry);
    }
    return result;
  };
  const expectPanel = (
    panels: Map<string, { type: string; exprs: string[]; exemplar: boolean }>,
    title: string,
    type: string,
    patterns: RegExp[],
  ): void => {
    const panel = panels.get(title);
    expect(panel, `panel "${title}"`).toBeDefined();
    expect(panel?.type, `type of "${title}"`).toBe(type);
    const exprs = panel?.exprs.join('\n') ?? '';
    for (const pattern of patterns) expect(exprs, `"${title}" queries ${pattern}`).toMatch(pattern);
  };
  const quantiles = [/histogram_quantile\(0\.5,/, /histogram_quantile\(0\.95,/, /histogram_quantile\(0\.99,/];

  it('key health: rates, violations by kind, in-flight, stalls, top stalled keys, latency, library health', () => {
    const panels = panelsOf('keyscope-key-health');
    expectPanel(panels, 'Received, acked and nacked', 'timeseries', [
      /rate\(keyscope_messages_received_total/,
      /rate\(keyscope_messages_acked_total/,
      /rate\(keyscope_messages_nacked_total/,
    ]);
    expectPanel(panels, 'Redeliveries', 'timeseries', [/keyscope_redeliveries_total/]);
    expectPanel(panels, 'Ordering violations by kind', 'timeseries', [/by \([^)]*kind[^)]*\) .*keyscope_ordering_violations_total/]);
    expectPanel(panels, 'In-flight messages and keys', 'timeseries', [/keyscope_inflight_messages/, /keyscope_inflight_keys/]);
    expectPanel(panels, 'Oldest in-flight age', 'timeseries', [/keyscope_oldest_inflight_seconds/]);
    expectPanel(panels, 'Stalled and head-of-line blocked messages', 'timeseries', [
      /keyscope_stalled_messages/,
      /keyscope_head_of_line_blocked_messages/,
    ]);
    expectPanel(panels, 'Top stalled keys', 'table', [/topk\(/, /keyscope_stalled_key_age_seconds/]);
    for (const [title, metric] of [
      ['End-to-end latency', 'keyscope_end_to_end_seconds_bucket'],
      ['Processing time', 'keyscope_processing_seconds_bucket'],
    ] as const) {
      expectPanel(panels, title, 'heatmap', [new RegExp(metric)]);
      expectPanel(panels, `${title} p50 / p95 / p99`, 'timeseries', [new RegExp(metric), ...quantiles]);
      expect(panels.get(title)?.exemplar && panels.get(`${title} p50 / p95 / p99`)?.exemplar, `exemplars on ${title}`).toBe(true);
    }
    expectPanel(panels, 'Tracked keys and evictions', 'timeseries', [/keyscope_tracked_keys/, /keyscope_key_evictions_total/]);
    expectPanel(panels, 'In-flight evictions', 'timeseries', [
      /rate\(keyscope_inflight_evictions_total\{topic=~"\$topic", subscription=~"\$subscription"\}/,
    ]);
    expectPanel(panels, 'Context errors', 'timeseries', [/keyscope_context_errors_total/]);
  });

  it('pulsar subscriptions: backlog, unacked, blocked, redeliveries, rates, consumers, delayed', () => {
    const panels = panelsOf('keyscope-pulsar-subscriptions');
    expectPanel(panels, 'Backlog', 'timeseries', [/pulsar_subscription_back_log\{/]);
    expectPanel(panels, 'Unacked messages', 'timeseries', [/pulsar_subscription_unacked_messages/]);
    expectPanel(panels, 'Blocked on unacked messages', 'timeseries', [/pulsar_subscription_blocked_on_unacked_messages/]);
    expectPanel(panels, 'Redelivery rate', 'timeseries', [/pulsar_subscription_msg_rate_redeliver/]);
    expectPanel(panels, 'Rate in / out per topic', 'timeseries', [/pulsar_rate_in/, /pulsar_rate_out/]);
    expectPanel(panels, 'Consumers', 'timeseries', [/pulsar_subscription_consumers_count/]);
    expectPanel(panels, 'Delayed messages', 'timeseries', [/pulsar_subscription_delayed/]);
  });

  it('traces RED: rate, errors and duration by service and span name, with exemplars', () => {
    const panels = panelsOf('keyscope-traces-red');
    const byServiceAndSpan = /by \((le, )?service_name, span_name\)/;
    expectPanel(panels, 'Span rate', 'timeseries', [byServiceAndSpan, /rate\(traces_span_metrics_calls_total/]);
    expectPanel(panels, 'Error rate', 'timeseries', [byServiceAndSpan, /STATUS_CODE_ERROR/]);
    expectPanel(panels, 'Duration p50 / p95 / p99 by span', 'timeseries', [
      byServiceAndSpan,
      /traces_span_metrics_duration_seconds_bucket/,
      ...quantiles,
    ]);
    expect(panels.get('Duration p50 / p95 / p99 by span')?.exemplar).toBe(true);
  });
});

describe('orchestrator dashboard', () => {
  it('shows decisions, sends, the executor, the lock, the gateway and provider, timers and keyscope per key', () => {
    const model = built.find(({ model: m }) => m.uid === 'keyscope-orchestrator')?.model as ExportedDashboard;
    const exprs = panelQueries(model)
      .map((query) => query.expr)
      .join('\n');
    for (const name of knownSeriesNames()) {
      if (!name.startsWith('orchestrator_') || name.endsWith('_sum') || name.endsWith('_count')) continue;
      const base = name.replace(/_bucket$/, '');
      expect(exprs, name).toContain(base);
    }
    expect(exprs).toMatch(/by \(mode, outcome\) \(rate\(orchestrator_decisions_total/);
    expect(exprs).toMatch(/by \(mode, channel\) \(rate\(orchestrator_sends_total/);
    expect(exprs).toMatch(/keyscope_ordering_violations_total/);
    expect((model.templating.list ?? []).map((variable) => variable.name)).toContain('mode');
  });
});

describe('every metric the library exports is on the key health dashboard', () => {
  it('mentions each keyscope metric in some query', () => {
    const exprs = built.flatMap(({ model }) => panelQueries(model).map((query) => query.expr)).join('\n');
    for (const name of known) {
      if (!name.startsWith('keyscope_') || name.endsWith('_sum') || name.endsWith('_count')) continue;
      expect(exprs, name).toContain(name);
    }
  });
});

describe('Grafana provisioning', () => {
  const datasources = parseYaml(readFileSync(join(dashboardsDir, 'provisioning/datasources/datasources.yml'), 'utf8')) as {
    datasources: { name: string; type: string; uid: string; url: string; isDefault?: boolean; jsonData?: Record<string, unknown> }[];
  };
  const providers = parseYaml(readFileSync(join(dashboardsDir, 'provisioning/dashboards/dashboards.yml'), 'utf8')) as {
    providers: { type: string; options: { path: string } }[];
  };

  it('links Prometheus exemplars to the Jaeger datasource by uid', () => {
    const prometheus = datasources.datasources.find((ds) => ds.type === 'prometheus');
    const jaeger = datasources.datasources.find((ds) => ds.type === 'jaeger');
    expect(prometheus?.url).toBe('http://prometheus:9090');
    expect(prometheus?.isDefault).toBe(true);
    expect(jaeger?.url).toBe('http://jaeger:16686');
    expect(prometheus?.jsonData?.exemplarTraceIdDestinations).toEqual([
      expect.objectContaining({ name: 'trace_id', datasourceUid: jaeger?.uid }),
    ]);
  });

  it('loads the dashboards from the folder docker-compose mounts', () => {
    expect(providers.providers).toEqual([
      expect.objectContaining({ type: 'file', options: expect.objectContaining({ path: '/var/lib/grafana/dashboards' }) }),
    ]);
  });
});

describe('alert rules', () => {
  const rules = parseYaml(readFileSync(join(dashboardsDir, 'alerts.yml'), 'utf8')) as {
    groups: { name: string; rules: { alert: string; expr: string; labels: { severity: string }; annotations: Record<string, string> }[] }[];
  };
  const all = rules.groups.flatMap((group) => group.rules);

  it('cover ordering, stalls, in-flight age and evictions, blocking, redeliveries, growing and stopped backlogs, cross-consumer exclusivity and draining', () => {
    expect(all.map((rule) => rule.alert).sort()).toEqual([
      'KeyscopeCrossConsumerExclusivity',
      'KeyscopeDrainingHashesNotDraining',
      'KeyscopeInflightEvictions',
      'KeyscopeMessagesStalled',
      'KeyscopeOldestInflightTooOld',
      'KeyscopeOrderingViolation',
      'KeyscopeRedeliveryStorm',
      'PulsarSubscriptionBacklogGrowing',
      'PulsarSubscriptionBlockedOnUnacked',
      'PulsarSubscriptionStopped',
    ]);
  });

  it('use only known metric names and carry severity, summary, description and runbook', () => {
    for (const rule of all) {
      for (const name of referencedSeriesNames(rule.expr)) expect(known, rule.alert).toContain(name);
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels.severity);
      expect(Object.keys(rule.annotations).sort(), rule.alert).toEqual(['dashboard', 'description', 'runbook', 'summary']);
    }
  });

  it('each have a promtool unit test where they fire and one where they stay silent', () => {
    const tests = parseYaml(readFileSync(join(dashboardsDir, 'tests/alerts.test.yml'), 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    const cases = tests.tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const rule of all) {
      const ofRule = cases.filter((test) => test.alertname === rule.alert);
      expect(
        ofRule.some((test) => (test.exp_alerts ?? []).length > 0),
        `${rule.alert} fires in some test`,
      ).toBe(true);
      expect(
        ofRule.some((test) => (test.exp_alerts ?? []).length === 0),
        `${rule.alert} stays silent in some test`,
      ).toBe(true);
    }
  });
});
