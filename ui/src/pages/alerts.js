// Alerts: every alerting rule with its alerts, grouped by rule group as the rule files
// list them. Filters (rule states, search, annotations shown) live in the query string so a
// link keeps the view; the page refreshes itself.
import { api } from '../api.js';
import { autoRefresh, errorText, formatDuration, formatTime, formatValue, h, labelChips, labelPairs, quote, setChildren, setQueryParams, searchBox } from '../util.js';
import { ruleExpr, timeCell } from './rule_parts.js';

export const title = 'Alerts';

const REFRESH_MS = 15_000;
const STATES = ['inactive', 'pending', 'firing'];
const STATE_LABELS = { inactive: 'Inactive', pending: 'Pending', firing: 'Firing' };

function readFilters() {
  const q = new URLSearchParams(location.search);
  const states = (q.get('state') || '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => STATES.includes(s));
  return { states: new Set(states), search: q.get('search') || '', annotations: q.get('annotations') === '1' };
}

function writeFilters(f) {
  setQueryParams({
    state: STATES.filter((s) => f.states.has(s)).join(','),
    search: f.search,
    annotations: f.annotations ? '1' : '',
  });
}

function ruleState(r) {
  const s = String(r.state || 'inactive').toLowerCase();
  return STATES.includes(s) ? s : 'inactive';
}

/** Lowercased text the search box matches: the rule's name and labels, its alerts' labels. */
function searchText(r) {
  const parts = [String(r.name || '')];
  const add = (labels) => {
    for (const [k, v] of labelPairs(labels)) parts.push(`${k}=${quote(String(v))}`, `${k}=${v}`);
  };
  add(r.labels);
  for (const a of r.alerts || []) add(a.labels);
  return parts.join('\n').toLowerCase();
}

function alertRow(a, showAnnotations) {
  const state = String(a.state || '').toLowerCase();
  const annotations = labelPairs(a.annotations);
  return [
    h(
      'tr',
      { class: 'alert-row', dataset: { state } },
      h('td', {}, labelChips(a.labels)),
      h('td', {}, h('span', { class: `badge ${state}` }, state)),
      timeCell(a.activeAt),
      // The API sends Go's %e text ("1e+00"); shown as a number, the exact text in the tooltip.
      h('td', { class: 'num mono', title: String(a.value ?? '') }, formatValue(Number(a.value))),
    ),
    showAnnotations && annotations.length > 0
      ? h(
          'tr',
          { class: 'annotations-row' },
          h(
            'td',
            { colspan: '4' },
            h(
              'dl',
              { class: 'annotations' },
              annotations.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]),
            ),
          ),
        )
      : null,
  ];
}

/** The rule as its file says it: alert, expr, for, keep_firing_for, labels, annotations. */
function ruleDefinition(r) {
  const rows = [
    ['alert', r.name],
    ['expr', ruleExpr(r.query)],
  ];
  if (r.duration) rows.push(['for', formatDuration(r.duration)]);
  if (r.keepFiringFor) rows.push(['keep_firing_for', formatDuration(r.keepFiringFor)]);
  if (labelPairs(r.labels).length > 0) rows.push(['labels', labelChips(r.labels)]);
  const annotations = labelPairs(r.annotations);
  if (annotations.length > 0) {
    rows.push([
      'annotations',
      h('dl', { class: 'annotations' }, annotations.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])),
    ]);
  }
  return h(
    'table',
    { class: 'data kv rule-definition' },
    h(
      'tbody',
      {},
      rows.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v))),
    ),
  );
}

export function render(root) {
  const filters = readFilters();
  const open = new Set(); // "group\nfile\nrule index" of expanded rules
  let groups = null;
  let loader = null;

  const stateButtons = STATES.map((value) =>
    h(
      'button',
      {
        type: 'button',
        dataset: { state: value },
        'aria-pressed': String(filters.states.has(value)),
        onclick: () => {
          if (filters.states.has(value)) filters.states.delete(value);
          else filters.states.add(value);
          for (const b of stateButtons) b.setAttribute('aria-pressed', String(filters.states.has(b.dataset.state)));
          writeFilters(filters);
          draw();
        },
      },
      STATE_LABELS[value],
      ' ',
      h('span', { class: 'count', dataset: { countFor: value } }),
    ),
  );
  const searchInput = searchBox('alerts-search', 'Search alert names and labels', 28, filters.search, (text) => {
    filters.search = text;
    writeFilters(filters);
    draw();
  });
  const annotationsBox = h('input', {
    type: 'checkbox',
    id: 'alerts-annotations',
    checked: filters.annotations,
    onchange: () => {
      filters.annotations = annotationsBox.checked;
      writeFilters(filters);
      draw();
    },
  });
  const status = h('span', { class: 'muted' });
  const toolbar = h(
    'div',
    { class: 'toolbar' },
    h('div', { class: 'segmented', role: 'group', 'aria-label': 'Rule states shown (none pressed: all)' }, stateButtons),
    h('label', { for: 'alerts-search' }, h('span', { class: 'visually-hidden' }, 'Search'), searchInput),
    h('label', { for: 'alerts-annotations' }, annotationsBox, 'Show annotations'),
    h('span', { class: 'spacer' }),
    status,
    h('button', { type: 'button', onclick: () => loader?.load() }, 'Refresh'),
  );
  const errorBox = h('div', { role: 'alert' });
  const content = h('div', { class: 'alerts-page' }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h1', {}, title), toolbar, errorBox, content);

  function draw() {
    if (!groups) return;
    const counts = { inactive: 0, pending: 0, firing: 0 };
    for (const g of groups) for (const r of g.rules) counts[ruleState(r)]++;
    for (const b of stateButtons) b.querySelector('.count').textContent = `(${counts[b.dataset.state]})`;
    if (groups.every((g) => g.rules.length === 0)) {
      setChildren(content, h('p', { class: 'muted' }, 'No alerting rules are loaded (see rule_files in the configuration).'));
      return;
    }
    const terms = filters.search.toLowerCase().split(/\s+/).filter(Boolean);
    const sections = [];
    for (const g of groups) {
      const shown = g.rules
        .map((r, i) => [r, i])
        .filter(([r]) => filters.states.size === 0 || filters.states.has(ruleState(r)))
        .filter(([r]) => terms.every((t) => searchText(r).includes(t)));
      if (shown.length === 0) continue;
      const items = shown.map(([r, i]) => {
        const key = `${g.name}\n${g.file}\n${i}`;
        const state = ruleState(r);
        const alerts = Array.isArray(r.alerts) ? r.alerts : [];
        const firing = alerts.filter((a) => a.state === 'firing').length;
        const pending = alerts.filter((a) => a.state === 'pending').length;
        const summary = [firing ? `${firing} firing` : '', pending ? `${pending} pending` : ''].filter(Boolean).join(', ');
        const details = h(
          'details',
          {
            class: 'alert-rule',
            dataset: { state, rule: String(r.name) },
            open: open.has(key),
            ontoggle: () => {
              if (details.open) open.add(key);
              else open.delete(key);
            },
          },
          h(
            'summary',
            {},
            h('span', { class: 'rule-name' }, String(r.name)),
            h('span', { class: `badge ${state}` }, state),
            summary ? h('span', { class: 'muted' }, summary) : null,
          ),
          ruleDefinition(r),
          alerts.length > 0
            ? h(
                'div',
                { class: 'table-wrap' },
                h(
                  'table',
                  { class: 'data alerts-table' },
                  h(
                    'thead',
                    {},
                    h(
                      'tr',
                      {},
                      h('th', { scope: 'col' }, 'Labels'),
                      h('th', { scope: 'col' }, 'State'),
                      h('th', { scope: 'col' }, 'Active since'),
                      h('th', { scope: 'col', class: 'num' }, 'Value'),
                    ),
                  ),
                  h('tbody', {}, alerts.map((a) => alertRow(a, filters.annotations))),
                ),
              )
            : null,
        );
        return details;
      });
      sections.push(
        h(
          'section',
          { class: 'card rule-group', dataset: { group: g.name } },
          h('div', { class: 'pool-header' }, h('h2', {}, g.name), h('span', { class: 'muted mono' }, g.file)),
          items,
        ),
      );
    }
    if (sections.length === 0) setChildren(content, h('p', { class: 'muted' }, 'No alerting rules match the filters.'));
    else setChildren(content, sections);
  }

  loader = autoRefresh({
    fetchData: (signal) => api('rules', { type: 'alert' }, { signal }),
    show: (res) => {
      const list = res && res.data && Array.isArray(res.data.groups) ? res.data.groups : [];
      groups = list.map((g) => ({
        name: String(g.name ?? ''),
        file: String(g.file ?? ''),
        rules: Array.isArray(g.rules) ? g.rules.filter((r) => r && r.type === 'alerting') : [],
      }));
      setChildren(errorBox);
      status.textContent = `Updated ${formatTime(Date.now())}`;
      draw();
    },
    fail: (e) => {
      setChildren(errorBox, h('div', { class: 'alert error' }, `Cannot load the alerting rules: ${errorText(e)}`));
      if (!groups) setChildren(content);
    },
    busy: content,
    every: REFRESH_MS,
  });
  return loader.stop;
}
