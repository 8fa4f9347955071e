// The query page: any number of panels, each with an editor, a table tab and a graph tab.
// Every panel's state is in the address (Prometheus's own `g0.expr=…&g0.tab=…` parameters),
// so a link reproduces the view, and Prometheus links work here too.
import { h } from '../util.js';
import { createPanel } from './panel.js';

export const title = 'Query';

const HISTORY_KEY = 'promethium.history';
const HISTORY_SIZE = 50;

/** Recent queries, newest first (kept in this browser only). */
export const queryHistory = {
  list() {
    try {
      const v = JSON.parse(localStorage.getItem(HISTORY_KEY) || '[]');
      return Array.isArray(v) ? v.filter((q) => typeof q === 'string') : [];
    } catch {
      return [];
    }
  },
  add(q) {
    const text = q.trim();
    if (!text) return;
    const next = [text, ...this.list().filter((x) => x !== text)].slice(0, HISTORY_SIZE);
    localStorage.setItem(HISTORY_KEY, JSON.stringify(next));
  },
  clear() {
    localStorage.removeItem(HISTORY_KEY);
  },
};

/** Panel states from the address: [{expr, tab, range, end, moment, step, stacked}]. */
function readPanels() {
  const params = new URLSearchParams(location.search);
  const found = new Map();
  for (const [key, value] of params) {
    const m = /^g(\d+)\.(.+)$/.exec(key);
    if (!m) continue;
    const n = Number(m[1]);
    if (!found.has(n)) found.set(n, {});
    found.get(n)[m[2]] = value;
  }
  const panels = [...found.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, p]) => ({
      expr: p.expr || '',
      // Prometheus 2 wrote 0 (graph) and 1 (table).
      tab: p.tab === 'graph' || p.tab === '0' ? 'graph' : 'table',
      range: p.range_input || '1h',
      end: p.end_input || '',
      moment: p.moment_input || '',
      step: p.step_input || '',
      stacked: p.display_mode === 'stacked' || p.stacked === '1',
    }));
  return panels.length ? panels : [{ expr: '', tab: 'table', range: '1h', end: '', moment: '', step: '', stacked: false }];
}

function writePanels(panels) {
  const params = new URLSearchParams();
  panels.forEach((p, i) => {
    const s = p.state();
    params.set(`g${i}.expr`, s.expr);
    params.set(`g${i}.tab`, s.tab);
    if (s.stacked) params.set(`g${i}.display_mode`, 'stacked');
    params.set(`g${i}.range_input`, s.range);
    if (s.end) params.set(`g${i}.end_input`, s.end);
    if (s.moment) params.set(`g${i}.moment_input`, s.moment);
    if (s.step) params.set(`g${i}.step_input`, s.step);
  });
  const url = `${location.pathname}?${params}`;
  if (url !== location.pathname + location.search) history.replaceState(null, '', url);
}

export function render(root) {
  const panels = [];
  const list = h('div', { class: 'panels' });
  const save = () => writePanels(panels);
  const add = (state, { run = false, focus = false } = {}) => {
    const panel = createPanel(state, {
      history: queryHistory,
      onChange: save,
      onRemove: () => {
        panels.splice(panels.indexOf(panel), 1);
        panel.destroy();
        if (panels.length === 0) add(undefined, { focus: true });
        save();
      },
    });
    panels.push(panel);
    list.append(panel.el);
    if (run) panel.run();
    if (focus) panel.focus();
    return panel;
  };
  root.append(
    h('h1', { class: 'visually-hidden' }, 'Query'),
    list,
    h('button', { type: 'button', class: 'add-panel', onclick: () => add(undefined, { focus: true }) }, '+ Add panel'),
  );
  const initial = readPanels();
  initial.forEach((state, i) => add(state, { run: state.expr.trim() !== '', focus: i === 0 && !state.expr }));
  save();
  return () => {
    for (const p of panels) p.destroy();
  };
}
