// The table tab: an instant query's result as rows.
import { formatSeries, formatTime, h } from '../util.js';
import { histogramBars } from './histogram.js';

const MAX_ROWS = 10000;

/** Renders `data` ({resultType, result}) into rows. */
export function renderTable(data) {
  const { resultType, result } = data;
  if (resultType === 'scalar' || resultType === 'string') {
    return table(['Type', 'Value'], [[h('span', { class: 'muted' }, resultType), h('span', { class: 'mono' }, result[1])]]);
  }
  if (!Array.isArray(result) || result.length === 0) {
    return h('p', { class: 'muted empty-result' }, 'Empty query result');
  }
  const shown = result.slice(0, MAX_ROWS);
  const rows = shown.map((s) => {
    const series = h('span', { class: 'mono series-name' }, formatSeries(s.metric || {}));
    if (resultType === 'vector') {
      if (s.histogram) return [series, histogramBars(s.histogram[1])];
      return [series, h('span', { class: 'mono' }, s.value ? s.value[1] : '')];
    }
    // A range vector: every sample with its time, floats and histograms in time order.
    const at = (t) => h('span', { class: 'muted' }, ` @${t} (${formatTime(t * 1000)})`);
    const points = [
      ...(s.values || []).map(([t, v]) => [t, h('div', { class: 'mono' }, `${v}`, at(t))]),
      ...(s.histograms || []).map(([t, hist]) => [t, h('div', { class: 'range-histogram' }, histogramBars(hist), at(t))]),
    ].sort((a, b) => a[0] - b[0]);
    return [series, h('div', {}, points.map(([, el]) => el))];
  });
  const out = [table(['Series', 'Value'], rows)];
  if (result.length > MAX_ROWS) {
    out.push(h('p', { class: 'alert warning' }, `Showing the first ${MAX_ROWS} of ${result.length} series.`));
  }
  return out;
}

function table(heads, rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data result-table' },
      h('thead', {}, h('tr', {}, heads.map((t, i) => h('th', { class: i === heads.length - 1 ? 'num' : null }, t)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c, i) => h('td', { class: i === cells.length - 1 ? 'num' : null }, c))))),
    ),
  );
}
