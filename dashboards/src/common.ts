// Building blocks shared by the dashboards: the datasource variable,
// label variables, Prometheus targets and the few panel shapes we use.
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder, PromQueryFormat, QueryEditorMode } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeSeriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import {
  PanelBuilder as HeatmapPanelBuilder,
  YAxisConfigBuilder,
  HeatmapColorMode,
  HeatmapColorScale,
} from '@grafana/grafana-foundation-sdk/heatmap';
import {
  VizLegendOptionsBuilder,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  BigValueGraphMode,
  StackingConfigBuilder,
  StackingMode,
  type DataSourceRef,
} from '@grafana/grafana-foundation-sdk/common';

/**
 * Name of the import input that Grafana's "Import dashboard" dialog asks for.
 * It only sets the initial value of the datasource variable, so the same
 * JSON also works when Grafana loads it from a provisioned folder (where
 * `__inputs` are ignored): there the variable falls back to the first
 * Prometheus datasource.
 */
export const DATASOURCE_INPUT = 'DS_PROMETHEUS';
export const DATASOURCE_VARIABLE = 'datasource';

/** Every panel and target points at the datasource variable, never at a fixed uid. */
export const prometheusDatasource: DataSourceRef = {
  type: 'prometheus',
  uid: `\${${DATASOURCE_VARIABLE}}`,
};

export function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder(DATASOURCE_VARIABLE)
    .label('Prometheus')
    .type('prometheus')
    .current({ selected: false, text: `\${${DATASOURCE_INPUT}}`, value: `\${${DATASOURCE_INPUT}}` });
}

/**
 * A multi-value variable listing the values of `label` on `series`.
 * "All" is sent as `.*`, which also matches series that lack the label.
 */
export function labelVariable(options: {
  name: string;
  label: string;
  series: string;
  labelName: string;
  selector?: string;
}): QueryVariableBuilder {
  const query = `label_values(${options.series}${options.selector ? `{${options.selector}}` : ''}, ${options.labelName})`;
  return new QueryVariableBuilder(options.name)
    .label(options.label)
    .datasource(prometheusDatasource)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

export interface QuerySpec {
  expr: string;
  legend?: string;
  /** Ask Grafana for exemplars too (latency histograms carry trace ids). */
  exemplar?: boolean;
  /** One value per series at the end of the range (tables, stats). */
  instant?: boolean;
  format?: PromQueryFormat;
}

const refIds = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function targets(queries: readonly QuerySpec[]): DataqueryBuilder[] {
  return queries.map((spec, index) => {
    const target = new DataqueryBuilder()
      .datasource(prometheusDatasource)
      .editorMode(QueryEditorMode.Code)
      .refId(refIds.charAt(index))
      .expr(spec.expr)
      .legendFormat(spec.legend ?? '__auto');
    if (spec.exemplar) target.exemplar(true);
    if (spec.format) target.format(spec.format);
    if (spec.instant) target.instant();
    else target.range();
    return target;
  });
}

interface PanelSpec {
  title: string;
  description: string;
  queries: readonly QuerySpec[];
  unit?: string;
  width?: number;
  height?: number;
}

const tableLegend = () =>
  new VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(LegendDisplayMode.Table)
    .placement(LegendPlacement.Bottom)
    .calcs(['lastNotNull', 'max']);

export function timeSeries(spec: PanelSpec & { stacked?: boolean; min?: number }): TimeSeriesPanelBuilder {
  const panel = new TimeSeriesPanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(prometheusDatasource)
    .targets(targets(spec.queries))
    .unit(spec.unit ?? 'short')
    .min(spec.min ?? 0)
    .fillOpacity(10)
    .legend(tableLegend())
    .span(spec.width ?? 12)
    .height(spec.height ?? 8);
  if (spec.stacked) panel.stacking(new StackingConfigBuilder().mode(StackingMode.Normal));
  return panel;
}

export function stat(spec: PanelSpec): StatPanelBuilder {
  return new StatPanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(prometheusDatasource)
    .targets(targets(spec.queries))
    .unit(spec.unit ?? 'short')
    .graphMode(BigValueGraphMode.Area)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .span(spec.width ?? 6)
    .height(spec.height ?? 4);
}

export function table(spec: PanelSpec): TablePanelBuilder {
  return new TablePanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(prometheusDatasource)
    .targets(targets(spec.queries.map((query) => ({ ...query, instant: true, format: PromQueryFormat.Table }))))
    .unit(spec.unit ?? 'short')
    .withTransformation({
      id: 'organize',
      options: { excludeByName: { Time: true }, renameByName: { Value: 'value' } },
    })
    .span(spec.width ?? 12)
    .height(spec.height ?? 8);
}

/** A heatmap of a Prometheus histogram: bucket rates summed by `le`, exemplars on. */
export function histogramHeatmap(spec: Omit<PanelSpec, 'queries'> & { bucketSeries: string; selector: string }): HeatmapPanelBuilder {
  return new HeatmapPanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(prometheusDatasource)
    .targets(
      targets([
        {
          expr: `sum by (le) (rate(${spec.bucketSeries}{${spec.selector}}[$__rate_interval]))`,
          legend: '{{le}}',
          format: PromQueryFormat.Heatmap,
          exemplar: true,
        },
      ]),
    )
    .calculate(false)
    .yAxis(new YAxisConfigBuilder().unit(spec.unit ?? 's'))
    .color(
      // HeatmapColorOptions has required fields, so it is given whole.
      {
        build: () => ({
          mode: HeatmapColorMode.Scheme,
          scheme: 'Spectral',
          fill: 'dark-orange',
          scale: HeatmapColorScale.Exponential,
          exponent: 0.5,
          steps: 64,
          reverse: false,
        }),
      },
    )
    .exemplarsColor('rgba(255,0,255,0.7)')
    .showLegend()
    .span(spec.width ?? 12)
    .height(spec.height ?? 8);
}

/** p50 / p95 / p99 of a histogram, grouped by `groupBy`; exemplars on the p99 query. */
export function quantileQueries(bucketSeries: string, selector: string, groupBy: readonly string[], legendPrefix = ''): QuerySpec[] {
  const by = ['le', ...groupBy].join(', ');
  return [0.99, 0.95, 0.5].map((quantile) => ({
    expr: `histogram_quantile(${quantile}, sum by (${by}) (rate(${bucketSeries}{${selector}}[$__rate_interval])))`,
    legend: `p${Math.round(quantile * 100)}${legendPrefix}`,
    exemplar: quantile === 0.99,
  }));
}

export function row(title: string): RowBuilder {
  return new RowBuilder(title);
}

export interface DashboardDefinition {
  /** File name under dashboards/, also the name used in reports. */
  file: string;
  build(): ExportedDashboard;
}

/** The dashboard model plus the import metadata Grafana's export adds. */
export type ExportedDashboard = Dashboard & {
  __inputs: unknown[];
  __elements: Record<string, never>;
  __requires: unknown[];
};

export function newDashboard(options: { uid: string; title: string; description: string; tags: string[] }): DashboardBuilder {
  return (
    new DashboardBuilder(options.title)
      .uid(options.uid)
      .description(options.description)
      .tags(['keyscope', ...options.tags])
      .editable()
      .tooltip(DashboardCursorSync.Crosshair)
      .refresh('30s')
      .time({ from: 'now-1h', to: 'now' })
      .timezone('browser')
      // The other keyscope dashboards, keeping the time range and variables.
      .link(
        new DashboardLinkBuilder('Keyscope')
          .type(DashboardLinkType.Dashboards)
          .tags(['keyscope'])
          .asDropdown(true)
          .includeVars(true)
          .keepTime(true),
      )
      .withVariable(datasourceVariable())
  );
}

/**
 * Finishes a built dashboard for sharing: panel ids numbered in layout
 * order (stable across regenerations), `id: null` so an import creates or
 * overwrites by uid, and the `__inputs` / `__requires` of Grafana's
 * "export for sharing externally" format.
 */
export function exportDashboard(builder: cog.Builder<Dashboard>): ExportedDashboard {
  const model = builder.build();
  let nextId = 1;
  const panelTypes = new Set<string>();
  for (const panel of model.panels ?? []) {
    panel.id = nextId++;
    panelTypes.add(panel.type);
    if ('panels' in panel) {
      for (const nested of panel.panels) {
        nested.id = nextId++;
        panelTypes.add(nested.type);
      }
    }
  }
  panelTypes.delete('row');
  return {
    __inputs: [
      {
        name: DATASOURCE_INPUT,
        label: 'Prometheus',
        description: 'Prometheus that scrapes the application (keyscope_* metrics), the Pulsar broker and the collector',
        type: 'datasource',
        pluginId: 'prometheus',
        pluginName: 'Prometheus',
      },
    ],
    __elements: {},
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '11.3.0' },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
      ...[...panelTypes].sort().map((type) => ({ type: 'panel', id: type, name: type, version: '' })),
    ],
    ...model,
    id: null,
  };
}
