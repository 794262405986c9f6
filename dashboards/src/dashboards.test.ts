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
};

const built = dashboards.map((definition) => ({ definition, model: definition.build() }));

describe('generated dashboard JSON', () => {
  it.each(dashboards.map((d) => [d.file, d] as const))('%s is up to date (run `npm run dashboards`)', (file, definition) => {
    const committed = readFileSync(join(dashboardsDir, file), 'utf8');
    expect(committed, `dashboards/${file} is stale: run \`npm run dashboards\` and commit the result`).toBe(
      renderDashboard(definition),
    );
  });

  it('ships exactly the three dashboards with stable uids', () => {
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
    expect(model.__inputs).toEqual([
      expect.objectContaining({ name: DATASOURCE_INPUT, type: 'datasource', pluginId: 'prometheus' }),
    ]);
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
    const filtered = queries.filter((query) => query.expr.includes('$topic'));
    expect(filtered.length).toBeGreaterThan(queries.length / 2);
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
        'Context errors',
      ]),
    );
  });

  it('asks for exemplars on the latency panels so they link to traces', () => {
    const latencyQueries = panelQueries(model as ExportedDashboard).filter((query) =>
      /end_to_end|processing/.test(query.expr),
    );
    const heatmaps = latencyQueries.filter((query) => query.panelType === 'heatmap');
    expect(heatmaps).toHaveLength(2);
    expect(heatmaps.every((query) => query.exemplar)).toBe(true);
    expect(latencyQueries.filter((query) => query.panelType === 'timeseries' && query.exemplar)).toHaveLength(2);
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

  it('cover ordering, stalls, in-flight age, blocking, redeliveries, growing and stopped backlogs', () => {
    expect(all.map((rule) => rule.alert).sort()).toEqual([
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

  it('each have a promtool unit test', () => {
    const tests = readFileSync(join(dashboardsDir, 'tests/alerts.test.yml'), 'utf8');
    for (const rule of all) expect(tests, rule.alert).toContain(`alertname: ${rule.alert}`);
  });
});
