// Rules: every rule group of the loaded rule files with its interval and last evaluation,
// and each rule's definition, health, last error and evaluation time. Filters (health,
// search) live in the query string; the page refreshes itself.
import { api } from '../api.js';
import { autoRefresh, choiceButtons, errorText, formatDuration, formatTime, h, labelChips, labelPairs, setChildren, setQueryParams, searchBox } from '../util.js';
import { formatEvalTime, ruleExpr, timeCell } from './rule_parts.js';

export const title = 'Rules';

const REFRESH_MS = 15_000;
const HEALTHS = ['all', 'ok', 'err', 'unknown'];
const HEALTH_LABELS = { all: 'All', ok: 'OK', err: 'Error', unknown: 'Unknown' };

function readFilters() {
  const q = new URLSearchParams(location.search);
  const health = (q.get('health') || 'all').toLowerCase();
  return { health: HEALTHS.includes(health) ? health : 'all', search: q.get('search') || '' };
}

function writeFilters(f) {
  setQueryParams({ health: f.health === 'all' ? '' : f.health, search: f.search });
}

function healthOf(r) {
  const v = String(r.health || 'unknown').toLowerCase();
  return v === 'ok' || v === 'err' ? v : 'unknown';
}

/** The rule as its file writes it: `record:`/`alert:`, `expr:`, and the rest. */
function ruleCell(r) {
  const alerting = r.type === 'alerting';
  const lines = [
    h('div', {}, h('span', { class: 'muted' }, alerting ? 'alert: ' : 'record: '), h('strong', { class: 'rule-name' }, String(r.name))),
    h('div', { class: 'rule-line' }, h('span', { class: 'muted' }, 'expr: '), ruleExpr(r.query)),
  ];
  if (alerting && r.duration) lines.push(h('div', {}, h('span', { class: 'muted' }, 'for: '), formatDuration(r.duration)));
  if (alerting && r.keepFiringFor) {
    lines.push(h('div', {}, h('span', { class: 'muted' }, 'keep_firing_for: '), formatDuration(r.keepFiringFor)));
  }
  if (labelPairs(r.labels).length > 0) lines.push(h('div', { class: 'rule-line' }, h('span', { class: 'muted' }, 'labels: '), labelChips(r.labels)));
  const annotations = labelPairs(r.annotations);
  if (alerting && annotations.length > 0) {
    lines.push(
      h(
        'div',
        {},
        h('span', { class: 'muted' }, 'annotations:'),
        h('dl', { class: 'annotations' }, annotations.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])),
      ),
    );
  }
  return h('td', { class: 'rule-cell' }, lines);
}

function ruleRow(r) {
  const health = healthOf(r);
  return h(
    'tr',
    { class: 'rule-row', dataset: { health, rule: String(r.name) } },
    ruleCell(r),
    h('td', {}, h('span', { class: `badge ${health}` }, health)),
    h('td', {}, r.lastError ? h('span', { class: 'error-text target-error' }, String(r.lastError)) : null),
    timeCell(r.lastEvaluation),
    h('td', { class: 'num' }, formatEvalTime(r.evaluationTime)),
  );
}

export function render(root) {
  const filters = readFilters();
  let groups = null;
  let loader = null;

  const healthButtons = choiceButtons(HEALTHS, HEALTH_LABELS, 'health', filters.health, (value) => {
    filters.health = value;
    writeFilters(filters);
    draw();
  });
  const searchInput = searchBox('rules-search', 'Search rule names, expressions and labels', 32, filters.search, (text) => {
    filters.search = text;
    writeFilters(filters);
    draw();
  });
  const status = h('span', { class: 'muted' });
  const toolbar = h(
    'div',
    { class: 'toolbar' },
    h('div', { class: 'segmented', role: 'group', 'aria-label': 'Health' }, healthButtons),
    h('label', { for: 'rules-search' }, h('span', { class: 'visually-hidden' }, 'Search'), searchInput),
    h('span', { class: 'spacer' }),
    status,
    h('button', { type: 'button', onclick: () => loader?.load() }, 'Refresh'),
  );
  const errorBox = h('div', { role: 'alert' });
  const content = h('div', { class: 'rules-page' }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h1', {}, title), toolbar, errorBox, content);

  function matches(r, terms) {
    if (terms.length === 0) return true;
    const parts = [String(r.name || ''), String(r.query || '')];
    for (const [k, v] of labelPairs(r.labels)) parts.push(`${k}="${v}"`, `${k}=${v}`);
    const text = parts.join('\n').toLowerCase();
    return terms.every((t) => text.includes(t));
  }

  function draw() {
    if (!groups) return;
    if (groups.length === 0) {
      setChildren(content, h('p', { class: 'muted' }, 'No rules are loaded (see rule_files in the configuration).'));
      return;
    }
    const terms = filters.search.toLowerCase().split(/\s+/).filter(Boolean);
    const sections = [];
    for (const g of groups) {
      const rules = Array.isArray(g.rules) ? g.rules : [];
      const shown = rules.filter((r) => filters.health === 'all' || healthOf(r) === filters.health).filter((r) => matches(r, terms));
      if (shown.length === 0) continue;
      const bad = rules.filter((r) => healthOf(r) === 'err').length;
      const at = Date.parse(String(g.lastEvaluation ?? ''));
      const evaluated = Number.isFinite(at) && at > 0;
      sections.push(
        h(
          'section',
          { class: 'card rule-group', dataset: { group: String(g.name) } },
          h(
            'div',
            { class: 'pool-header' },
            h('h2', {}, String(g.name)),
            h('span', { class: 'muted mono' }, String(g.file ?? '')),
            h('span', { class: `badge ${bad ? 'bad' : 'ok'}` }, bad ? `${bad} failing` : `${rules.length} ok`),
          ),
          h(
            'p',
            { class: 'muted group-facts' },
            `interval ${formatDuration(Number(g.interval) || 0)}`,
            g.limit ? `, limit ${g.limit}` : '',
            ', last evaluation ',
            evaluated ? h('span', { title: `${formatTime(at)} (local), ${new Date(at).toISOString()}` }, formatTime(at)) : 'never',
            evaluated ? `, took ${formatEvalTime(g.evaluationTime)}` : '',
          ),
          h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'data rules-table' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  h('th', { scope: 'col' }, 'Rule'),
                  h('th', { scope: 'col' }, 'Health'),
                  h('th', { scope: 'col' }, 'Last error'),
                  h('th', { scope: 'col' }, 'Last evaluation'),
                  h('th', { scope: 'col', class: 'num' }, 'Evaluation time'),
                ),
              ),
              h('tbody', {}, shown.map(ruleRow)),
            ),
          ),
        ),
      );
    }
    if (sections.length === 0) setChildren(content, h('p', { class: 'muted' }, 'No rules match the filters.'));
    else setChildren(content, sections);
  }

  // The definitions and health, not every alert: the Alerts page shows those.
  loader = autoRefresh({
    fetchData: (signal) => api('rules', { exclude_alerts: 'true' }, { signal }),
    show: (res) => {
      groups = res && res.data && Array.isArray(res.data.groups) ? res.data.groups.filter((g) => g && typeof g === 'object') : [];
      setChildren(errorBox);
      status.textContent = `Updated ${formatTime(Date.now())}`;
      draw();
    },
    fail: (e) => {
      setChildren(errorBox, h('div', { class: 'alert error' }, `Cannot load the rules: ${errorText(e)}`));
      if (!groups) setChildren(content);
    },
    busy: content,
    every: REFRESH_MS,
  });
  return loader.stop;
}
