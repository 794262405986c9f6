// Prints every dashboard query as a Prometheus recording rule (dashboard
// variables replaced as Grafana does for "All"), so that
// `promtool check rules` parses each expression with Prometheus's own
// PromQL parser without a server. Used by scripts/check/dashboards-promql.sh.
import { stringify } from 'yaml';
import { dashboards, panelQueries, substituteVariables } from './catalog.js';

const groups = dashboards.map((definition) => {
  const model = definition.build();
  return {
    name: model.uid,
    rules: panelQueries(model).map((query) => ({
      record: `dashboard:panel_${query.panelId}:${query.refId.toLowerCase()}`,
      expr: substituteVariables(query.expr, { rateInterval: '1m', range: '1h' }),
      labels: { panel: query.panelTitle },
    })),
  };
});

process.stdout.write(stringify({ groups }));
