// The graph tab: a range query drawn with uPlot. The legend lists every series (click one
// to hide or show it; hovering shows each series' value at the cursor); "stacked" sums the
// series on top of each other.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatSeries, formatTime, formatValue, h } from '../util.js';
import { renderHeatmaps } from './histogram.js';

const MAX_SERIES = 500;

// Distinct hues that read on light and dark backgrounds.
const PALETTE = [
  '#3b82f6', '#f97316', '#22c55e', '#ef4444', '#a855f7', '#14b8a6', '#eab308', '#ec4899',
  '#64748b', '#0ea5e9', '#84cc16', '#f43f5e', '#8b5cf6', '#10b981', '#f59e0b', '#6366f1',
];

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** A value string from the API as a number uPlot can draw (gaps for NaN and infinities). */
function toNumber(v) {
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/**
 * Draws a matrix result in `container` over [start, end] every `step` seconds: float
 * samples as lines, native histograms as heatmaps below them. Returns {destroy()}.
 */
export function renderGraph(container, result, opts) {
  const histograms = result.filter((s) => s.histograms?.length);
  const floats = result.filter((s) => s.values?.length || !s.histograms?.length);
  const lines = floats.length ? renderLines(container, floats, opts) : null;
  if (histograms.length) {
    const heatmaps = h('div', { class: 'heatmaps' });
    container.append(heatmaps);
    renderHeatmaps(heatmaps, histograms, opts);
  }
  return {
    chart: lines?.chart ?? null,
    destroy() {
      lines?.destroy();
    },
  };
}

function renderLines(container, result, { start, end, step, stacked }) {
  const series = result.slice(0, MAX_SERIES);
  // The steps in whole milliseconds, as the server computes them (no float drift).
  const startMs = Math.round(start * 1000);
  const stepMs = Math.max(Math.round(step * 1000), 1);
  const n = Math.floor((Math.round(end * 1000) - startMs) / stepMs) + 1;
  const xs = Array.from({ length: n }, (_, k) => (startMs + k * stepMs) / 1000);
  const columns = series.map((s) => {
    const col = new Array(n).fill(null);
    for (const [t, v] of s.values || []) {
      const k = (Math.round(t * 1000) - startMs) / stepMs;
      if (Number.isInteger(k) && k >= 0 && k < n) col[k] = toNumber(v);
    }
    return col;
  });
  const raw = columns.map((c) => c.slice());
  if (stacked) {
    const sum = new Array(xs.length).fill(0);
    for (const col of columns) {
      for (let i = 0; i < xs.length; i++) {
        if (col[i] !== null) {
          sum[i] += col[i];
          col[i] = sum[i];
        }
      }
    }
  }
  const text = cssVar('--text');
  const grid = cssVar('--border');
  const labels = series.map((s) => formatSeries(s.metric || {}));
  const opts = {
    width: Math.max(container.clientWidth, 280),
    height: container.clientWidth < 600 ? 240 : 360,
    scales: { x: { time: true } },
    cursor: { drag: { x: true, y: false } },
    legend: { live: true },
    axes: [
      { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
      {
        stroke: text,
        grid: { stroke: grid, width: 1 },
        ticks: { stroke: grid },
        size: 70,
        values: (u, splits) => splits.map(formatValue),
      },
    ],
    series: [
      { label: 'Time', value: (u, v) => (v === null ? '' : formatTime(v * 1000)) },
      ...labels.map((label, i) => ({
        label,
        stroke: PALETTE[i % PALETTE.length],
        width: 1.5,
        fill: stacked ? `${PALETTE[i % PALETTE.length]}55` : undefined,
        // Lines join neighbouring samples; a sample with no neighbour is drawn as a dot.
        points: {
          show: true,
          size: 5,
          fill: PALETTE[i % PALETTE.length],
          filter: (u, si) => {
            const col = u.data[si];
            const lone = [];
            for (let k = 0; k < col.length; k++) {
              if (col[k] !== null && (k === 0 || col[k - 1] === null) && (k === col.length - 1 || col[k + 1] === null)) {
                lone.push(k);
              }
            }
            return lone;
          },
        },
        spanGaps: false,
        // The legend shows the series' own value, also when stacked.
        value: (u, v, si, di) => (di === null || di === undefined ? '' : formatValue(raw[i][di])),
      })),
    ],
  };
  const wrap = h('div', { class: 'graph' });
  container.append(wrap);
  if (result.length > MAX_SERIES) {
    container.append(h('p', { class: 'alert warning' }, `Drawing the first ${MAX_SERIES} of ${result.length} series.`));
  }
  const chart = new uPlot(opts, [xs, ...columns], wrap);
  // The plot is a picture to assistive technology; the legend stays a list of toggles.
  const plot = wrap.querySelector('.u-wrap');
  plot?.setAttribute('role', 'img');
  plot?.setAttribute('aria-label', `Graph of ${series.length} series`);
  // The legend's rows: reachable by keyboard, as the mouse toggles them, and saying
  // whether their series is shown.
  const rows = [...wrap.querySelectorAll('.u-legend .u-series')].slice(1);
  for (const row of rows) {
    row.tabIndex = 0;
    row.setAttribute('role', 'button');
    row.setAttribute('aria-pressed', 'true');
    row.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        row.querySelector('.u-label')?.click();
      }
    });
    // uPlot marks hidden series with `u-off`.
    new MutationObserver(() => row.setAttribute('aria-pressed', String(!row.classList.contains('u-off')))).observe(row, {
      attributes: true,
      attributeFilter: ['class'],
    });
  }
  const resize = new ResizeObserver(() => {
    const w = Math.max(container.clientWidth, 280);
    if (Math.abs(w - chart.width) > 2) chart.setSize({ width: w, height: w < 600 ? 240 : 360 });
  });
  resize.observe(container);
  return {
    chart,
    destroy() {
      resize.disconnect();
      chart.destroy();
    },
  };
}
