/**
 * report.html: one self-contained page (no network) with the comparison's
 * table, its targets and charts drawn by Chart.js, whose UMD build is inlined
 * with the report's data.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { VIOLATION_KINDS } from '../oracle/report.js';
import { describeCounts, KEYSCOPE_KINDS, type ComparisonReport, type ModeResult } from './report.js';

const require = createRequire(import.meta.url);

/** Chart.js's self-registering browser bundle (beside its main file; the package does not export it). */
function chartJsSource(): string {
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

const MODE_COLORS: Record<string, string> = {
  key_shared: '#2e7d32',
  shared: '#c62828',
  failover: '#1565c0',
  shared_redis_lock: '#ef6c00',
};

export function renderReportHtml(report: ComparisonReport): string {
  const data = JSON.stringify({ report, colors: MODE_COLORS, violationKinds: VIOLATION_KINDS, keyscopeKinds: KEYSCOPE_KINDS })
    // Inside <script>, "</script" or "<!--" in a string would end or confuse the element.
    .replace(/</g, '\\u003c');
  const o = report.options;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>keyscope orchestrator comparison — ${escapeHtml(o.modes.join(', '))}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>Four ways to run one orchestrator</h1>
  <p class="lede">The same seeded load (${o.subscribers.toLocaleString('en-US')} subscribers, ${o.ratePerSecond} events/s for ${o.durationMs / 1000} s,
  seed ${o.seed}, ${report.load.events.toLocaleString('en-US')} events) and the same faults (<code>${escapeHtml(o.faults || 'none')}</code>)
  through each mode, ${o.consumers} orchestrator processes each. Generated ${escapeHtml(report.generatedAt)}.</p>
  <p class="lede">Hottest subscribers: ${report.load.hotKeys.map((key) => `<code>${escapeHtml(key.subscriberId)}</code> ${key.events} events`).join(', ')}.</p>
</header>
<main>
<section class="cards">${report.modes.map(modeCard).join('')}</section>
<section>
  <h2>Targets</h2>
  <ul class="targets">${report.targets.map((target) => `<li class="${target.passed ? 'pass' : 'fail'}"><span>${target.passed ? '✔' : '✘'}</span> <b>${escapeHtml(target.name)}</b>: ${escapeHtml(target.measured)} <small>${escapeHtml(target.detail)}</small></li>`).join('')}</ul>
</section>
<section>
  <h2>Summary</h2>
  ${summaryTable(report.modes)}
</section>
<section class="grid">
  <figure><figcaption>Events applied per second (all modes); dashed lines: faults</figcaption><div class="chart"><canvas id="throughput"></canvas></div></figure>
  <figure><figcaption>End-to-end latency p99 per second, event publish to provider acceptance (log scale)</figcaption><div class="chart"><canvas id="latency"></canvas></div></figure>
  <figure><figcaption>Oracle violations by kind</figcaption><div class="chart"><canvas id="violations"></canvas></div></figure>
  <figure><figcaption>keyscope detections by kind, and their recall against the oracle</figcaption><div class="chart"><canvas id="detections"></canvas></div></figure>
  <figure class="wide"><figcaption>Stalled keys: the oldest in-flight age keyscope reported per key</figcaption><div class="chart" id="stalled-box"><canvas id="stalled"></canvas></div></figure>
</section>
<section>
  <h2>Per mode over time</h2>
  <div class="grid">${report.modes.map((mode) => `<figure><figcaption><b style="color:${MODE_COLORS[mode.mode] ?? '#333'}">${escapeHtml(mode.mode)}</b>: published and applied per second, p99 latency; faults marked</figcaption><div class="chart"><canvas id="mode-${escapeHtml(mode.mode)}"></canvas></div></figure>`).join('')}</div>
</section>
<section>
  <h2>Faults as they happened</h2>
  ${faultTable(report.modes)}
</section>
<section>
  <h2>Oracle examples</h2>
  ${examples(report.modes)}
</section>
<section>
  <h2>Where to look next</h2>
  <ul>
    <li>Jaeger: <a href="${escapeHtml(report.links.jaeger)}">${escapeHtml(report.links.jaeger)}</a>${report.modes
      .filter((m) => m.trace !== undefined)
      .map(
        (m) =>
          ` — ${escapeHtml(m.mode)}: <a href="${escapeHtml(m.trace?.url ?? '')}">a trace of <code>${escapeHtml(m.trace?.subscriberId ?? '')}</code></a> (<a href="${escapeHtml(m.trace?.searchUrl ?? '')}">all of its traces</a>)`,
      )
      .join('')}</li>
    <li>Prometheus: <a href="${escapeHtml(report.links.prometheus)}">${escapeHtml(report.links.prometheus)}</a>; Grafana: <a href="${escapeHtml(report.links.grafana)}">${escapeHtml(report.links.grafana)}</a></li>
    <li>Command: <code>${escapeHtml(report.command)}</code></li>
  </ul>
</section>
</main>
<script id="report-data" type="application/json">${data}</script>
<script>${chartJsSource()}</script>
<script>${CLIENT}</script>
</body>
</html>
`;
}

function modeCard(mode: ModeResult): string {
  const color = MODE_COLORS[mode.mode] ?? '#333';
  const violations = mode.oracleTotal;
  return `<article class="card" style="border-top-color:${color}">
  <h3 style="color:${color}">${escapeHtml(mode.mode)}</h3>
  <div class="big">${mode.throughput.toFixed(0)} <small>events/s</small></div>
  <div>p50 ${mode.p50Ms.toFixed(0)} ms · p99 ${mode.p99Ms.toFixed(0)} ms</div>
  <div class="${violations === 0 ? 'ok' : 'bad'}">${violations === 0 ? 'no oracle violation' : `${violations.toLocaleString('en-US')} oracle violations`}</div>
  <div><small>${escapeHtml(describeCounts(mode.oracle))}</small></div>
  ${mode.notes.map((note) => `<div class="note">${escapeHtml(note)}</div>`).join('')}
</article>`;
}

function summaryTable(modes: readonly ModeResult[]): string {
  const rows: Array<[string, (m: ModeResult) => string]> = [
    ['throughput (events/s)', (m) => m.throughput.toFixed(1)],
    ['end-to-end p50 / p99 (ms)', (m) => `${m.p50Ms.toFixed(0)} / ${m.p99Ms.toFixed(0)}`],
    ['events / applied / sends', (m) => `${m.events} / ${m.applied} / ${m.deliveries}`],
    ['oracle violations', (m) => describeCounts(m.oracle)],
    ['keyscope detected', (m) => describeCounts(m.keyscope)],
    ['cross-consumer auditor (keyscope audit)', (m) => (m.auditor === null ? 'no auditor on this stack' : describeCounts(m.auditor))],
    [
      'keyscope vs oracle, by subscriber (found / oracle, false positives)',
      (m) =>
        m.detection
          .map(
            (d) =>
              `${d.keyscope}: ${d.truePositiveKeys}/${d.oracleKeys}${d.recall === null ? '' : ` (${Math.round(d.recall * 100)} %)`}, ${d.falsePositiveKeys} FP`,
          )
          .join('; '),
    ],
    ['stalls', (m) => String(m.stalls)],
    [
      'timed-send lateness p50 / p99 (ms)',
      (m) => (m.lateness.count === 0 ? '–' : `${m.lateness.p50Ms.toFixed(0)} / ${m.lateness.p99Ms.toFixed(0)}`),
    ],
    ['redeliveries', (m) => String(m.redeliveries)],
    ['lock waits (count, mean ms)', (m) => (m.locks === null ? '–' : `${m.locks.acquisitions}, ${m.locks.waitMeanMs.toFixed(1)}`)],
    ['dead-lettered', (m) => String(m.deadLettered)],
    ['client CPU per event (ms)', (m) => m.cpuMsPerEvent.toFixed(2)],
  ];
  return `<table><thead><tr><th></th>${modes.map((m) => `<th style="color:${MODE_COLORS[m.mode] ?? '#333'}">${escapeHtml(m.mode)}</th>`).join('')}</tr></thead><tbody>${rows
    .map(([label, value]) => `<tr><th>${escapeHtml(label)}</th>${modes.map((m) => `<td>${escapeHtml(value(m))}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function faultTable(modes: readonly ModeResult[]): string {
  if (modes.every((m) => m.faults.length === 0)) return '<p>No faults were scheduled.</p>';
  return `<table><thead><tr><th>mode</th><th>fault</th><th>planned (s)</th><th>at (s)</th><th>took (ms)</th><th>detail</th></tr></thead><tbody>${modes
    .flatMap((m) =>
      m.faults.map(
        (f) =>
          `<tr${f.error === undefined ? '' : ' class="bad"'}><td>${escapeHtml(m.mode)}</td><td>${escapeHtml(f.kind)}</td><td>${(f.plannedAtMs / 1000).toFixed(1)}</td><td>${(f.atMs / 1000).toFixed(1)}</td><td>${f.durationMs}</td><td>${escapeHtml(f.error ?? f.detail)}</td></tr>`,
      ),
    )
    .join('')}</tbody></table>`;
}

function examples(modes: readonly ModeResult[]): string {
  const items = modes.flatMap((m) =>
    Object.entries(m.oracleExamples).flatMap(([kind, list]) =>
      (list ?? [])
        .slice(0, 2)
        .map(
          (example) =>
            `<li><b>${escapeHtml(m.mode)}</b> ${escapeHtml(kind)}: <code>${escapeHtml(example.subscriberId)}</code> ${escapeHtml(example.detail)}</li>`,
        ),
    ),
  );
  return items.length === 0 ? '<p>The oracle found nothing to show.</p>' : `<ul class="examples">${items.join('')}</ul>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const STYLE = `
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330; background: #f5f6f8; }
body { margin: 0; }
header { background: #1d2330; color: #fff; padding: 24px 32px 16px; }
header h1 { margin: 0 0 8px; font-size: 26px; }
.lede { margin: 4px 0; color: #cfd5e0; max-width: 1100px; }
header code { color: #fff; }
main { padding: 16px 32px 48px; }
h2 { font-size: 18px; margin: 28px 0 10px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 16px; margin-top: 8px; }
.card { background: #fff; border-radius: 8px; border-top: 5px solid; padding: 14px 16px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.card h3 { margin: 0 0 6px; font-size: 16px; }
.card .big { font-size: 30px; font-weight: 600; }
.note { margin-top: 6px; font-size: 12px; color: #8a4b00; }
.ok { color: #2e7d32; font-weight: 600; } .bad { color: #c62828; font-weight: 600; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
figure { margin: 0; background: #fff; border-radius: 8px; padding: 12px 14px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
figure.wide { grid-column: 1 / -1; }
figcaption { font-size: 13px; color: #4a5263; margin-bottom: 6px; }
.chart { position: relative; height: 280px; }
table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 3px rgba(0,0,0,.08); font-size: 13px; }
th, td { padding: 6px 10px; border-bottom: 1px solid #e6e8ec; text-align: left; vertical-align: top; }
thead th { background: #eef0f4; }
.targets { list-style: none; padding: 0; } .targets li { margin: 4px 0; }
.targets .pass span { color: #2e7d32; } .targets .fail span { color: #c62828; }
small { color: #5f6777; }
.examples li { margin: 3px 0; font-size: 13px; }
`;

/** Runs in the page: builds the charts from the embedded report. */
const CLIENT = `
(function () {
  const { report, colors, violationKinds, keyscopeKinds } = JSON.parse(document.getElementById('report-data').textContent);
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  const color = (mode) => colors[mode] || '#555';
  const points = (t, values) => t.map((x, i) => ({ x, y: values[i] }));

  // Vertical dashed lines with a label at each fault.
  const faultLines = {
    id: 'faultLines',
    afterDatasetsDraw(chart, _args, options) {
      const faults = options.faults || [];
      const { ctx, chartArea, scales } = chart;
      faults.forEach((fault, i) => {
        const x = scales.x.getPixelForValue(fault.t);
        if (x < chartArea.left || x > chartArea.right) return;
        ctx.save();
        ctx.strokeStyle = 'rgba(29,35,48,0.55)';
        ctx.setLineDash([5, 4]);
        ctx.beginPath(); ctx.moveTo(x, chartArea.top); ctx.lineTo(x, chartArea.bottom); ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = '#1d2330';
        ctx.font = '11px ' + Chart.defaults.font.family;
        ctx.fillText(fault.label, x + 3, chartArea.top + 11 + (i % 4) * 12);
        ctx.restore();
      });
    },
  };
  Chart.register(faultLines);
  const plannedFaults = (report.modes[0] ? report.modes[0].faults : []).map((f) => ({ t: f.plannedAtMs / 1000, label: f.kind }));
  const timeAxis = { type: 'linear', title: { display: true, text: 'seconds since the load started' }, min: 0 };

  new Chart(document.getElementById('throughput'), {
    type: 'line',
    data: { datasets: report.modes.map((m) => ({ label: m.mode, data: points(m.series.t, m.series.applied), borderColor: color(m.mode), backgroundColor: color(m.mode), pointRadius: 0, borderWidth: 2, tension: 0.2 })) },
    options: { scales: { x: timeAxis, y: { beginAtZero: true, title: { display: true, text: 'events applied / s' } } }, plugins: { faultLines: { faults: plannedFaults } } },
  });

  new Chart(document.getElementById('latency'), {
    type: 'line',
    data: { datasets: report.modes.map((m) => ({ label: m.mode + ' p99', data: points(m.series.t, m.series.p99Ms).filter((p) => p.y !== null && p.y > 0), borderColor: color(m.mode), backgroundColor: color(m.mode), pointRadius: 0, borderWidth: 2, spanGaps: true })) },
    options: { scales: { x: timeAxis, y: { type: 'logarithmic', title: { display: true, text: 'ms' } } }, plugins: { faultLines: { faults: plannedFaults } } },
  });

  const kinds = violationKinds.filter((k) => report.modes.some((m) => m.oracle[k] > 0));
  const shownKinds = kinds.length > 0 ? kinds : violationKinds;
  new Chart(document.getElementById('violations'), {
    type: 'bar',
    data: { labels: shownKinds, datasets: report.modes.map((m) => ({ label: m.mode, data: shownKinds.map((k) => m.oracle[k]), backgroundColor: color(m.mode) })) },
    options: { indexAxis: 'y', scales: { x: { beginAtZero: true, title: { display: true, text: 'violations (oracle)' } } }, plugins: { subtitle: { display: kinds.length === 0, text: 'no mode has a violation' } } },
  });

  new Chart(document.getElementById('detections'), {
    type: 'bar',
    data: { labels: keyscopeKinds, datasets: report.modes.map((m) => ({ label: m.mode, data: keyscopeKinds.map((k) => m.keyscope[k]), backgroundColor: color(m.mode) })) },
    options: {
      scales: { y: { beginAtZero: true, title: { display: true, text: 'detections (keyscope, in-process)' } } },
      plugins: { tooltip: { callbacks: { afterLabel(item) {
        const m = report.modes[item.datasetIndex];
        const score = m.detection.find((d) => d.keyscope === keyscopeKinds[item.dataIndex]);
        return score ? 'recall ' + (score.recall === null ? 'n/a' : Math.round(score.recall * 100) + '%') + ', false positives ' + score.falsePositiveKeys + ' keys' : '';
      } } } },
    },
  });

  const stalled = report.modes.flatMap((m) => m.stalledKeys.slice(0, 8).map((k) => ({ label: m.mode + ' · ' + k.key, value: k.maxAgeSeconds, mode: m.mode })));
  if (stalled.length === 0) {
    document.getElementById('stalled-box').innerHTML = '<p>No key stalled in any mode.</p>';
  } else {
    new Chart(document.getElementById('stalled'), {
      type: 'bar',
      data: { labels: stalled.map((s) => s.label), datasets: [{ label: 'oldest in-flight age (s)', data: stalled.map((s) => s.value), backgroundColor: stalled.map((s) => color(s.mode)) }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, title: { display: true, text: 'seconds' } } } },
    });
  }

  report.modes.forEach((m) => {
    new Chart(document.getElementById('mode-' + m.mode), {
      type: 'line',
      data: { datasets: [
        { label: 'published / s', data: points(m.series.t, m.series.published), borderColor: '#9aa3b5', backgroundColor: '#9aa3b5', pointRadius: 0, borderWidth: 1.5 },
        { label: 'applied / s', data: points(m.series.t, m.series.applied), borderColor: color(m.mode), backgroundColor: color(m.mode), pointRadius: 0, borderWidth: 2 },
        { label: 'p99 latency (ms)', data: points(m.series.t, m.series.p99Ms).filter((p) => p.y !== null), yAxisID: 'latency', borderColor: '#7b1fa2', backgroundColor: '#7b1fa2', pointRadius: 0, borderWidth: 1, borderDash: [3, 2], spanGaps: true },
      ] },
      options: {
        scales: { x: timeAxis, y: { beginAtZero: true, title: { display: true, text: 'events / s' } }, latency: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'p99 ms' } } },
        plugins: { faultLines: { faults: m.faults.map((f) => ({ t: f.atMs / 1000, label: f.kind })) } },
      },
    });
  });
})();
`;
