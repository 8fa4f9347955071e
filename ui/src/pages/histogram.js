// Native histograms in results: bucket bars for one histogram (the table tab) and a
// heatmap over time for a series of them (the graph tab). The API gives a histogram as
// {count, sum, buckets: [[boundaryRule, lower, upper, count], ...]}, boundaries as strings.
import { formatSeries, formatTime, formatValue, h } from '../util.js';

const MAX_HEATMAPS = 20;

/** The interval text of a bucket, with its boundary rule (0: (a,b], 1: [a,b), 2: (a,b), 3: [a,b]). */
export function bucketText([rule, lower, upper]) {
  const open = rule === 3 || rule === 1 ? '[' : '(';
  const close = rule === 3 || rule === 0 ? ']' : ')';
  return `${open}${formatValue(Number(lower))}, ${formatValue(Number(upper))}${close}`;
}

/** A histogram as text and bars: count and sum, then one bar per bucket, its height the bucket's share. */
export function histogramBars(hist) {
  const buckets = hist.buckets || [];
  const max = Math.max(0, ...buckets.map((b) => Number(b[3])).filter(Number.isFinite));
  const bars = buckets.map((b) => {
    const count = Number(b[3]);
    const pct = max > 0 && Number.isFinite(count) ? Math.max((Math.abs(count) / max) * 100, 1) : 0;
    const title = `${bucketText(b)}: ${b[3]}`;
    return h(
      'div',
      { class: 'histogram-bar', title, 'aria-label': title, role: 'listitem' },
      h('div', { class: 'histogram-bar-fill', style: `height: ${pct.toFixed(1)}%` }),
    );
  });
  const first = buckets[0];
  const last = buckets[buckets.length - 1];
  return h(
    'div',
    { class: 'histogram' },
    h('div', { class: 'mono histogram-summary' }, `count: ${hist.count} sum: ${hist.sum}`),
    buckets.length
      ? h(
          'div',
          {},
          h('div', { class: 'histogram-bars', role: 'list', 'aria-label': `${buckets.length} buckets` }, bars),
          h(
            'div',
            { class: 'histogram-axis muted mono' },
            h('span', {}, formatValue(Number(first[1]))),
            h('span', {}, formatValue(Number(last[2]))),
          ),
          h(
            'details',
            { class: 'histogram-buckets' },
            h('summary', {}, `${buckets.length} buckets`),
            h(
              'table',
              { class: 'data' },
              h('thead', {}, h('tr', {}, h('th', {}, 'Bucket'), h('th', { class: 'num' }, 'Count'))),
              h('tbody', {}, buckets.map((b) => h('tr', {}, h('td', { class: 'mono' }, bucketText(b)), h('td', { class: 'num mono' }, b[3])))),
            ),
          ),
        )
      : h('div', { class: 'muted' }, 'no buckets'),
  );
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/**
 * Heatmaps of the series of a matrix result that hold histograms: time across, buckets
 * up (every bucket any step has, by lower bound), each cell's shade its count against the
 * largest count of the series. Hovering a cell says time, bucket and count.
 */
export function renderHeatmaps(container, series, { start, end, step }) {
  const startMs = Math.round(start * 1000);
  const stepMs = Math.max(Math.round(step * 1000), 1);
  const n = Math.floor((Math.round(end * 1000) - startMs) / stepMs) + 1;
  const shown = series.slice(0, MAX_HEATMAPS);
  for (const s of shown) {
    container.append(heatmap(s, { startMs, stepMs, n }));
  }
  if (series.length > MAX_HEATMAPS) {
    container.append(h('p', { class: 'alert warning' }, `Drawing heatmaps of the first ${MAX_HEATMAPS} of ${series.length} histogram series.`));
  }
}

function heatmap(s, { startMs, stepMs, n }) {
  // The rows: every bucket seen, ordered by lower then upper bound.
  const rows = new Map();
  const columns = new Array(n).fill(null);
  for (const [t, hist] of s.histograms || []) {
    const k = (Math.round(t * 1000) - startMs) / stepMs;
    if (!Number.isInteger(k) || k < 0 || k >= n) continue;
    columns[k] = hist;
    for (const b of hist.buckets || []) {
      const key = `${b[0]}|${b[1]}|${b[2]}`;
      if (!rows.has(key)) rows.set(key, b);
    }
  }
  const order = [...rows.entries()].sort(([, a], [, b]) => Number(a[1]) - Number(b[1]) || Number(a[2]) - Number(b[2]));
  const rowOf = new Map(order.map(([key], i) => [key, i]));
  let max = 0;
  for (const hist of columns) {
    for (const b of hist?.buckets || []) max = Math.max(max, Math.abs(Number(b[3])) || 0);
  }
  const label = formatSeries(s.metric || {});
  const width = 720;
  const rowCount = Math.max(order.length, 1);
  const height = Math.min(Math.max(rowCount * 12, 120), 360);
  const canvas = h('canvas', { class: 'heatmap-canvas', width, height, role: 'img', 'aria-label': `Heatmap of ${label}: ${order.length} buckets over ${n} steps` });
  const tip = h('div', { class: 'heatmap-tip mono', 'aria-live': 'polite' }, '\u00a0');
  const ctx = canvas.getContext('2d');
  const cellW = width / n;
  const cellH = height / rowCount;
  const accent = cssVar('--accent') || '#3b82f6';
  if (ctx) {
    ctx.clearRect(0, 0, width, height);
    columns.forEach((hist, k) => {
      for (const b of hist?.buckets || []) {
        const r = rowOf.get(`${b[0]}|${b[1]}|${b[2]}`);
        const share = max > 0 ? Math.abs(Number(b[3])) / max : 0;
        if (!(share > 0)) continue;
        ctx.globalAlpha = 0.12 + 0.88 * share;
        ctx.fillStyle = accent;
        // Row 0 (the lowest bucket) at the bottom.
        ctx.fillRect(k * cellW, height - (r + 1) * cellH, Math.max(cellW, 1), Math.max(cellH, 1));
      }
    });
    ctx.globalAlpha = 1;
  }
  canvas.addEventListener('mousemove', (e) => {
    const rect = canvas.getBoundingClientRect();
    const k = Math.floor(((e.clientX - rect.left) / rect.width) * n);
    const r = rowCount - 1 - Math.floor(((e.clientY - rect.top) / rect.height) * rowCount);
    const hist = columns[k];
    const bucket = order[r]?.[1];
    if (!hist || !bucket) {
      tip.textContent = '\u00a0';
      return;
    }
    const cell = (hist.buckets || []).find((b) => b[0] === bucket[0] && b[1] === bucket[1] && b[2] === bucket[2]);
    tip.textContent = `${formatTime(startMs + k * stepMs)}  ${bucketText(bucket)}: ${cell ? formatValue(Number(cell[3])) : 0}`;
  });
  const lowest = order[0]?.[1];
  const highest = order[order.length - 1]?.[1];
  return h(
    'figure',
    { class: 'heatmap' },
    h('figcaption', { class: 'mono series-name' }, label),
    h(
      'div',
      { class: 'heatmap-body' },
      h(
        'div',
        { class: 'heatmap-yaxis muted mono' },
        h('span', {}, highest ? formatValue(Number(highest[2])) : ''),
        h('span', {}, lowest ? formatValue(Number(lowest[1])) : ''),
      ),
      canvas,
    ),
    h('div', { class: 'heatmap-xaxis muted mono' }, h('span', {}, formatTime(startMs)), h('span', {}, formatTime(startMs + (n - 1) * stepMs))),
    tip,
  );
}
