// One query panel: editor, actions (run, format, history, remove), and the table and graph
// tabs with their time controls, warnings, timing and result.
import { api } from '../api.js';
import { formatDuration, h, parseDuration, setChildren } from '../util.js';
import { createEditor } from './editor.js';
import { openMetricsExplorer } from './explorer.js';
import { renderGraph } from './graph.js';
import { renderTable } from './table.js';

const RANGE_STEPS = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400, 56 * 86400, 365 * 86400];

let panelCount = 0;

/** The time a `datetime-local` text means, in seconds; `null` for empty or invalid text. */
function fromLocalInput(text) {
  if (!text) return null;
  const ms = Date.parse(text.length === 16 ? `${text}:00` : text);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

/** Prometheus's automatic resolution: about 250 points over the range, at least 1 s. */
function autoStep(rangeSeconds) {
  return Math.max(Math.floor(rangeSeconds / 250), 1);
}

export function createPanel(initial, { history, onChange, onRemove }) {
  const id = ++panelCount;
  const state = {
    expr: '',
    tab: 'table',
    range: '1h',
    end: '',
    moment: '',
    step: '',
    stacked: false,
    ...initial,
  };
  let controller = null;
  let graph = null;
  // What the graph shows, to draw it again in the other theme's colours.
  let drawn = null;
  const redraw = () => {
    if (!graph || !drawn) return;
    graph.destroy();
    graphBody.replaceChildren();
    graph = renderGraph(graphBody, drawn.result, drawn.opts);
  };
  window.addEventListener('themechange', redraw);
  // The history list closes on a click elsewhere or Escape.
  const closeHistory = (e) => {
    if (historyList.hidden) return;
    if (e.type === 'keydown' ? e.key === 'Escape' : !e.target.closest?.('.history')) {
      toggleHistory(false);
      if (e.type === 'keydown') historyButton.focus();
    }
  };
  document.addEventListener('click', closeHistory);
  document.addEventListener('keydown', closeHistory);

  // ---- Editor and actions
  const editorHost = h('div', { class: 'editor' });
  const runButton = h('button', { type: 'button', class: 'primary run', onclick: () => run() }, 'Execute');
  const historyList = h('ul', { class: 'history-list', id: `history-${id}`, hidden: true });
  const historyButton = h(
    'button',
    {
      type: 'button',
      'aria-expanded': 'false',
      'aria-controls': `history-${id}`,
      onclick: () => toggleHistory(),
    },
    'History',
  );
  const alerts = h('div', { class: 'alerts', 'aria-live': 'polite' });
  const editor = createEditor(editorHost, {
    doc: state.expr,
    onRun: () => run(),
    onChange: (text) => {
      state.expr = text;
      onChange();
    },
  });

  function toggleHistory(show = historyList.hidden) {
    historyList.hidden = !show;
    historyButton.setAttribute('aria-expanded', String(show));
    if (!show) return;
    const items = history.list();
    setChildren(
      historyList,
      items.length === 0
        ? h('li', { class: 'muted' }, 'No queries run yet in this browser.')
        : items.map((q) =>
            h(
              'li',
              {},
              h(
                'button',
                {
                  type: 'button',
                  class: 'history-item mono',
                  onclick: () => {
                    editor.set(q);
                    toggleHistory(false);
                    run();
                  },
                },
                q,
              ),
            ),
          ),
      items.length ? h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => { history.clear(); toggleHistory(false); } }, 'Clear history')) : null,
    );
  }

  async function format() {
    const expr = editor.get();
    if (!expr.trim()) return;
    try {
      const res = await api('format_query', { query: expr });
      editor.set(res.data);
    } catch (e) {
      showAlerts([['error', e.message]]);
    }
  }

  // ---- Tabs
  const tabButtons = {
    table: h('button', { type: 'button', role: 'tab', id: `tab-table-${id}`, 'aria-controls': `panel-table-${id}`, onclick: () => selectTab('table') }, 'Table'),
    graph: h('button', { type: 'button', role: 'tab', id: `tab-graph-${id}`, 'aria-controls': `panel-graph-${id}`, onclick: () => selectTab('graph') }, 'Graph'),
  };
  const tabList = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Result view' }, tabButtons.table, tabButtons.graph);
  tabList.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    const next = state.tab === 'table' ? 'graph' : 'table';
    selectTab(next);
    tabButtons[next].focus();
  });

  // Table tab: the evaluation time.
  const momentInput = h('input', {
    type: 'datetime-local',
    step: '1',
    value: state.moment,
    'aria-label': 'Evaluation time',
    onchange: () => {
      state.moment = momentInput.value;
      onChange();
      run();
    },
  });
  const tableControls = h(
    'div',
    { class: 'toolbar' },
    h('label', {}, 'Evaluation time', momentInput),
    h('button', { type: 'button', onclick: () => { momentInput.value = ''; state.moment = ''; onChange(); run(); } }, 'Now'),
  );

  // Graph tab: range, end, resolution, stacking.
  const rangeInput = h('input', {
    type: 'text',
    size: 6,
    value: state.range,
    'aria-label': 'Range',
    onchange: () => setRange(rangeInput.value),
  });
  const endInput = h('input', {
    type: 'datetime-local',
    step: '1',
    value: state.end,
    'aria-label': 'End time',
    onchange: () => {
      state.end = endInput.value;
      onChange();
      run();
    },
  });
  const stepInput = h('input', {
    type: 'text',
    size: 7,
    value: state.step,
    'aria-label': 'Resolution',
    onchange: () => {
      state.step = stepInput.value.trim();
      onChange();
      run();
    },
  });
  const modeButtons = {
    lines: h('button', { type: 'button', onclick: () => setStacked(false) }, 'Lines'),
    stacked: h('button', { type: 'button', onclick: () => setStacked(true) }, 'Stacked'),
  };
  const graphControls = h(
    'div',
    { class: 'toolbar' },
    h(
      'div',
      { class: 'segmented', role: 'group', 'aria-label': 'Graph range' },
      h('button', { type: 'button', title: 'Shorter range', 'aria-label': 'Shorter range', onclick: () => stepRange(-1) }, '−'),
      rangeInput,
      h('button', { type: 'button', title: 'Longer range', 'aria-label': 'Longer range', onclick: () => stepRange(1) }, '+'),
    ),
    h('label', {}, 'End', endInput),
    h('button', { type: 'button', onclick: () => { endInput.value = ''; state.end = ''; onChange(); run(); } }, 'Now'),
    h('label', {}, 'Resolution', stepInput),
    h('div', { class: 'segmented', role: 'group', 'aria-label': 'Display mode' }, modeButtons.lines, modeButtons.stacked),
  );

  const tableBody = h('div', { class: 'result' });
  const graphBody = h('div', { class: 'result' });
  const tablePane = h('div', { role: 'tabpanel', id: `panel-table-${id}`, 'aria-labelledby': `tab-table-${id}` }, tableControls, tableBody);
  const graphPane = h('div', { role: 'tabpanel', id: `panel-graph-${id}`, 'aria-labelledby': `tab-graph-${id}` }, graphControls, graphBody);
  const stats = h('div', { class: 'stats muted', 'aria-live': 'polite' });

  const el = h(
    'section',
    { class: 'card panel', 'aria-label': `Query panel ${id}` },
    h('div', { class: 'editor-row' }, editorHost, runButton),
    h(
      'div',
      { class: 'toolbar panel-actions' },
      h('div', { class: 'history' }, historyButton, historyList),
      h('button', { type: 'button', onclick: format, title: 'Format the expression (format_query)' }, 'Format'),
      h(
        'button',
        {
          type: 'button',
          title: 'Browse metric names',
          onclick: () =>
            openMetricsExplorer((name) => {
              editor.insert(name);
              editor.focus();
            }),
        },
        'Metrics',
      ),
      h('span', { class: 'spacer' }),
      stats,
      h('button', { type: 'button', class: 'link remove', onclick: () => onRemove(), 'aria-label': 'Remove this panel' }, 'Remove panel'),
    ),
    alerts,
    tabList,
    tablePane,
    graphPane,
  );

  function showAlerts(items) {
    setChildren(alerts, items.map(([kind, text]) => h('div', { class: `alert ${kind}`, role: kind === 'error' ? 'alert' : null }, text)));
  }

  function selectTab(tab) {
    state.tab = tab;
    for (const [name, b] of Object.entries(tabButtons)) {
      b.setAttribute('aria-selected', String(name === tab));
      b.tabIndex = name === tab ? 0 : -1;
    }
    tablePane.hidden = tab !== 'table';
    graphPane.hidden = tab !== 'graph';
    onChange();
    if (editor.get().trim()) run();
  }

  function setRange(text) {
    const seconds = parseDuration(text);
    if (seconds === null || seconds <= 0) {
      showAlerts([['error', `Invalid range ${JSON.stringify(text)}: use a duration such as 1h or 30m.`]]);
      rangeInput.value = state.range;
      return;
    }
    state.range = formatDuration(seconds);
    rangeInput.value = state.range;
    onChange();
    run();
  }

  function stepRange(direction) {
    const now = parseDuration(state.range) || 3600;
    const next =
      direction > 0 ? RANGE_STEPS.find((s) => s > now) || now : [...RANGE_STEPS].reverse().find((s) => s < now) || now;
    setRange(formatDuration(next));
  }

  function showStacked(stacked) {
    modeButtons.lines.setAttribute('aria-pressed', String(!stacked));
    modeButtons.stacked.setAttribute('aria-pressed', String(stacked));
  }

  function setStacked(stacked) {
    state.stacked = stacked;
    showStacked(stacked);
    onChange();
    if (editor.get().trim()) run();
  }

  async function run() {
    const expr = editor.get().trim();
    if (controller) controller.abort();
    controller = null;
    runButton.disabled = false;
    runButton.textContent = 'Execute';
    if (!expr) return;
    history.add(expr);
    if (!historyList.hidden) toggleHistory(false);
    const mine = new AbortController();
    controller = mine;
    const signal = mine.signal;
    runButton.disabled = true;
    runButton.textContent = 'Running…';
    const started = performance.now();
    try {
      let res;
      let info;
      if (state.tab === 'table') {
        const time = fromLocalInput(state.moment);
        res = await api('query', { query: expr, time: time ?? undefined, stats: 'all' }, { signal });
        info = renderResult(res, started);
        setChildren(tableBody, renderTable(res.data));
      } else {
        const range = parseDuration(state.range) || 3600;
        const end = fromLocalInput(state.end) ?? Date.now() / 1000;
        const start = end - range;
        const step = parseDuration(state.step) || autoStep(range);
        stepInput.placeholder = `${autoStep(range)}s`;
        res = await api('query_range', { query: expr, start, end, step, stats: 'all' }, { signal });
        info = renderResult(res, started);
        if (graph) graph.destroy();
        graph = null;
        graphBody.replaceChildren();
        if (res.data.resultType !== 'matrix') {
          graphBody.append(h('p', { class: 'alert error' }, `Graphs need a range query result, got ${res.data.resultType}.`));
        } else if (res.data.result.length === 0) {
          graphBody.append(h('p', { class: 'muted empty-result' }, 'Empty query result'));
        } else {
          drawn = { result: res.data.result, opts: { start, end, step, stacked: state.stacked } };
          graph = renderGraph(graphBody, drawn.result, drawn.opts);
        }
      }
      stats.textContent = info;
    } catch (e) {
      if (e.name === 'AbortError') return;
      stats.textContent = '';
      showAlerts([['error', e.type && e.type !== 'http' ? `${e.type}: ${e.message}` : e.message]]);
      if (state.tab === 'table') tableBody.replaceChildren();
      else {
        if (graph) graph.destroy();
        graph = null;
        graphBody.replaceChildren();
      }
    } finally {
      // A newer run owns the button now.
      if (controller === mine) {
        controller = null;
        runButton.disabled = false;
        runButton.textContent = 'Execute';
      }
    }
  }

  /** Shows warnings and infos; returns the timing line. */
  function renderResult(res, started) {
    const items = [];
    for (const w of res.warnings || []) items.push(['warning', w]);
    for (const i of res.infos || []) items.push(['info', i]);
    showAlerts(items);
    const ms = Math.round(performance.now() - started);
    const { resultType, result } = res.data;
    const count = Array.isArray(result) && (resultType === 'vector' || resultType === 'matrix') ? result.length : 1;
    const samples = res.data.stats?.samples?.totalQueryableSamples;
    return `Load time: ${ms}ms · Result series: ${count}${samples !== undefined ? ` · Samples queried: ${samples}` : ''}`;
  }

  // Initial state of the controls (no run, no address change: the page does those).
  showStacked(state.stacked);
  state.tab = state.tab === 'graph' ? 'graph' : 'table';
  for (const [name, b] of Object.entries(tabButtons)) {
    b.setAttribute('aria-selected', String(name === state.tab));
    b.tabIndex = name === state.tab ? 0 : -1;
  }
  tablePane.hidden = state.tab !== 'table';
  graphPane.hidden = state.tab !== 'graph';
  stepInput.placeholder = `${autoStep(parseDuration(state.range) || 3600)}s`;

  return {
    el,
    run,
    focus: () => editor.focus(),
    state: () => ({ ...state, expr: editor.get() }),
    destroy() {
      window.removeEventListener('themechange', redraw);
      document.removeEventListener('click', closeHistory);
      document.removeEventListener('keydown', closeHistory);
      if (controller) controller.abort();
      if (graph) graph.destroy();
      editor.destroy();
      el.remove();
    },
  };
}
