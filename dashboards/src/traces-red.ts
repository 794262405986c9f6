// Traces RED: rate, errors and duration of every span, computed by the
// collector's spanmetrics connector from the traces the library emits.
import {
  exportDashboard,
  histogramHeatmap,
  labelVariable,
  newDashboard,
  quantileQueries,
  row,
  timeSeries,
  type DashboardDefinition,
  type ExportedDashboard,
} from './common.js';
import { spanMetricLabels as l, spanMetrics as s } from './metrics.js';

export const TRACES_RED_UID = 'keyscope-traces-red';

const selector = [
  `${l.service}=~"$service"`,
  `${l.spanName}=~"$span_name"`,
  `${l.topic}=~"$topic"`,
  `${l.subscription}=~"$subscription"`,
].join(', ');
const bySpan = `${l.service}, ${l.spanName}`;
const spanLegend = `{{${l.service}}} {{${l.spanName}}}`;
const errorStatus = 'STATUS_CODE_ERROR';

const callRate = () => `sum by (${bySpan}) (rate(${s.calls}{${selector}}[$__rate_interval]))`;
// A failed span has status ERROR or, per the semantic conventions, an
// error.type attribute (a span-metrics dimension); `or` keeps a series that
// has both once. Spans without errors have no error series at all, and
// `or 0 * calls` draws them as 0.
const failedCalls = (extraSelector: string) => `rate(${s.calls}{${selector}, ${extraSelector}}[$__rate_interval])`;
const errorRate =
  `(sum by (${bySpan}) (${failedCalls(`${l.statusCode}="${errorStatus}"`)} or ${failedCalls(`${l.errorType}!=""`)})` +
  ` or 0 * ${callRate()})`;

export function buildTracesRedDashboard(): ExportedDashboard {
  const builder = newDashboard({
    uid: TRACES_RED_UID,
    title: 'Keyscope / Traces RED',
    description:
      'Rate, errors and duration of the send and process spans (and any other span) per service and span name, from the OpenTelemetry Collector spanmetrics connector. Exemplars open the trace in Jaeger.',
    tags: ['traces', 'red'],
  })
    .withVariable(labelVariable({ name: 'service', label: 'Service', series: s.calls, labelName: l.service }))
    .withVariable(
      labelVariable({
        name: 'span_name',
        label: 'Span',
        series: s.calls,
        labelName: l.spanName,
        selector: `${l.service}=~"$service"`,
      }),
    )
    .withVariable(
      labelVariable({
        name: 'topic',
        label: 'Topic',
        series: s.calls,
        labelName: l.topic,
        selector: `${l.service}=~"$service"`,
      }),
    )
    .withVariable(
      labelVariable({
        name: 'subscription',
        label: 'Subscription',
        series: s.calls,
        labelName: l.subscription,
        selector: `${l.service}=~"$service", ${l.topic}=~"$topic"`,
      }),
    )

    .withRow(row('Rate and errors'))
    .withPanel(
      timeSeries({
        title: 'Span rate',
        description: 'Spans per second by service and span name (send {topic}, process {topic}, ...).',
        unit: 'ops',
        queries: [{ expr: callRate(), legend: spanLegend }],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Error rate',
        description: 'Spans per second that failed (status ERROR or an error.type attribute); 0 while there are none.',
        unit: 'ops',
        queries: [{ expr: errorRate, legend: spanLegend }],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Error ratio',
        description: 'Share of spans that failed (status ERROR or an error.type attribute).',
        unit: 'percentunit',
        queries: [{ expr: `${errorRate} / ${callRate()}`, legend: spanLegend }],
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Span rate by kind',
        description: 'PRODUCER (send) against CONSUMER (process) spans: a widening gap is a growing backlog.',
        unit: 'ops',
        queries: [
          {
            expr: `sum by (${l.service}, ${l.spanKind}) (rate(${s.calls}{${selector}}[$__rate_interval]))`,
            legend: `{{${l.service}}} {{${l.spanKind}}}`,
          },
        ],
      }),
    )

    .withRow(row('Duration'))
    .withPanel(
      timeSeries({
        title: 'Duration p50 / p95 / p99 by span',
        description: 'Span duration quantiles per service and span name. Exemplars (dots) open the trace in Jaeger.',
        unit: 's',
        width: 24,
        queries: quantileQueries(`${s.duration}_bucket`, selector, [l.service, l.spanName], ` ${spanLegend}`),
      }),
    )
    .withPanel(
      histogramHeatmap({
        title: 'Duration distribution',
        description: 'All selected spans; exemplars open the trace in Jaeger.',
        bucketSeries: `${s.duration}_bucket`,
        selector,
        width: 24,
      }),
    );
  return exportDashboard(builder);
}

export const tracesRedDashboard: DashboardDefinition = {
  file: 'traces-red.json',
  build: buildTracesRedDashboard,
};
