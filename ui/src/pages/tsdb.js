// TSDB status: the head block's size and its highest-cardinality metrics and labels, plus
// the write-ahead log replay at start-up when the server reports it.
import { api } from '../api.js';
import { errorText, formatBytes, formatTime, h, isAbort, keyValueTable, relativeTime, setChildren } from '../util.js';

export const title = 'TSDB status';

const TABLES = [
  ['seriesCountByMetricName', 'Series count by metric name', 'Metric name', 'Series', 'count'],
  ['labelValueCountByLabelName', 'Label value count by label name', 'Label name', 'Values', 'count'],
  ['memoryInBytesByLabelName', 'Memory used by label name', 'Label name', 'Memory', 'bytes'],
  ['seriesCountByLabelValuePair', 'Series count by label pair', 'Label pair', 'Series', 'count'],
];

function isNum(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

function count(v) {
  return isNum(v) ? v.toLocaleString('en-US') : v === null || v === undefined ? '—' : String(v);
}

/** A millisecond timestamp; an empty head reports ±MaxInt64, which is no time at all. */
function timeValue(ms) {
  if (!isNum(ms) || Math.abs(ms) > 8.64e15) return h('span', { class: 'muted' }, 'no data');
  return h('span', { title: `${new Date(ms).toISOString()} (${ms})` }, `${formatTime(ms)} (${relativeTime(ms)})`);
}

function headCard(stats) {
  const s = stats && typeof stats === 'object' ? stats : {};
  const known = {
    numSeries: 'Number of series',
    numLabelPairs: 'Number of label pairs',
    chunkCount: 'Number of chunks',
    minTime: 'Earliest sample',
    maxTime: 'Latest sample',
  };
  const rows = [];
  for (const [key, name] of Object.entries(known)) {
    if (!(key in s)) continue;
    rows.push([name, key === 'minTime' || key === 'maxTime' ? timeValue(s[key]) : count(s[key]), key]);
  }
  for (const key of Object.keys(s)) {
    if (!(key in known)) rows.push([key, typeof s[key] === 'object' ? JSON.stringify(s[key]) : count(s[key]), key]);
  }
  return h(
    'section',
    { class: 'card', id: 'tsdb-head' },
    h('h2', {}, 'Head block'),
    rows.length ? keyValueTable(rows) : h('p', { class: 'muted' }, 'The server sent no head statistics.'),
  );
}

function listCard(key, heading, nameCol, valueCol, kind, items) {
  const list = Array.isArray(items) ? items.filter((i) => i && typeof i === 'object') : [];
  const valueCell = (v) =>
    kind === 'bytes' && isNum(v) ? h('td', { class: 'num', title: `${count(v)} bytes` }, formatBytes(v)) : h('td', { class: 'num' }, count(v));
  return h(
    'section',
    { class: 'card', id: `tsdb-${key}` },
    h('h2', {}, heading),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'data' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, nameCol), h('th', { scope: 'col', class: 'num' }, valueCol))),
        h(
          'tbody',
          {},
          list.length === 0
            ? h('tr', {}, h('td', { colspan: '2', class: 'muted' }, 'No data.'))
            : list.map((i) => h('tr', {}, h('td', { class: 'mono' }, String(i.name ?? '')), valueCell(i.value))),
        ),
      ),
    ),
  );
}

function walCard(w) {
  const rows = [];
  const known = { min: 'First segment', max: 'Last segment', current: 'Current segment' };
  for (const [key, name] of Object.entries(known)) if (key in w) rows.push([name, count(w[key]), key]);
  for (const key of Object.keys(w)) if (!(key in known)) rows.push([key, typeof w[key] === 'object' ? JSON.stringify(w[key]) : count(w[key]), key]);
  let note = null;
  if (isNum(w.current) && isNum(w.max)) {
    note = h('p', { class: 'muted' }, w.current >= w.max ? 'Replay finished.' : `Replaying: segment ${w.current} of ${w.max}.`);
  }
  return h('section', { class: 'card', id: 'tsdb-walreplay' }, h('h2', {}, 'WAL replay'), keyValueTable(rows), note);
}

export function render(root) {
  const controller = new AbortController();
  let stopped = false;

  const errorBox = h('div', { role: 'alert' });
  const content = h('div', { class: 'tsdb' }, h('p', { class: 'muted' }, 'Loading…'));
  const walBox = h('div');
  root.append(h('h1', {}, title), errorBox, content, walBox);

  api('status/tsdb', { limit: 10 }, { signal: controller.signal })
    .then((res) => {
      if (stopped) return;
      const data = res && res.data && typeof res.data === 'object' ? res.data : {};
      setChildren(
        content,
        headCard(data.headStats),
        h(
          'div',
          { class: 'tsdb-tables' },
          TABLES.map(([key, heading, nameCol, valueCol, kind]) => listCard(key, heading, nameCol, valueCol, kind, data[key])),
        ),
      );
    })
    .catch((e) => {
      if (isAbort(e) || stopped) return;
      setChildren(content);
      setChildren(errorBox, h('div', { class: 'alert error' }, `Cannot load the TSDB status: ${errorText(e)}`));
    });

  // Optional: shown only when the server answers.
  api('status/walreplay', {}, { signal: controller.signal })
    .then((res) => {
      if (stopped) return;
      const w = res && res.data;
      if (w && typeof w === 'object' && Object.keys(w).length > 0) setChildren(walBox, walCard(w));
    })
    .catch(() => {});

  return () => {
    stopped = true;
    controller.abort();
  };
}
