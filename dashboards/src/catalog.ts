// The dashboards we ship, how they are rendered to JSON, and every query
// they run — shared by the generator, the freshness test and the proof
// against a real Prometheus.
import type { Dashboard, Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { acrossConsumersDashboard } from './across-consumers.js';
import type { DashboardDefinition } from './common.js';
import { keyHealthDashboard } from './key-health.js';
import { orchestratorDashboard } from './orchestrator.js';
import { pulsarSubscriptionsDashboard } from './pulsar-subscriptions.js';
import { tracesRedDashboard } from './traces-red.js';

export const dashboards: readonly DashboardDefinition[] = [
  keyHealthDashboard,
  pulsarSubscriptionsDashboard,
  tracesRedDashboard,
  acrossConsumersDashboard,
  orchestratorDashboard,
];

/** The exact text written to dashboards/<file>. */
export function renderDashboard(definition: DashboardDefinition): string {
  return `${JSON.stringify(definition.build(), null, 2)}\n`;
}

export interface PanelQuery {
  dashboardUid: string;
  panelId: number;
  panelTitle: string;
  panelType: string;
  refId: string;
  expr: string;
  instant: boolean;
  exemplar: boolean;
}

/** Panels in layout order, the ones inside collapsed rows included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  const panels: Panel[] = [];
  for (const panel of dashboard.panels ?? []) {
    if (panel.type === 'row') panels.push(...(panel as RowPanel).panels);
    else panels.push(panel as Panel);
  }
  return panels;
}

interface PrometheusTarget {
  refId?: string;
  expr?: string;
  instant?: boolean;
  exemplar?: boolean;
}

export function panelQueries(dashboard: Dashboard): PanelQuery[] {
  return allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => {
      const query = target as PrometheusTarget;
      return {
        dashboardUid: dashboard.uid ?? '',
        panelId: panel.id ?? 0,
        panelTitle: panel.title ?? '',
        panelType: panel.type,
        refId: query.refId ?? '',
        expr: query.expr ?? '',
        instant: query.instant === true,
        exemplar: query.exemplar === true,
      };
    }),
  );
}

/**
 * Replaces dashboard variables the way Grafana does when "All" is selected
 * (`.*`) and fixes the interval variables, so a query can be sent to
 * Prometheus directly.
 */
export function substituteVariables(
  expr: string,
  values: { rateInterval: string; range: string; variables?: Record<string, string> },
): string {
  return expr
    .replaceAll('$__rate_interval', values.rateInterval)
    .replaceAll('$__range', values.range)
    .replace(/\$\{?(\w+)\}?/g, (whole, name: string) => values.variables?.[name] ?? (name.startsWith('__') ? whole : '.*'));
}
