// Targets: the active scrape targets, grouped by scrape pool, with their health and last
// scrape. Filters (pool, health, search) live in the query string so a link keeps the view.
import { api } from '../api.js';
import { autoRefresh, choiceButtons, errorText, formatTime, h, labelChips, labelPairs, poolSelect, quote, relativeTime, setChildren, setQueryParams, searchBox } from '../util.js';

export const title = 'Targets';

const REFRESH_MS = 10_000;
const HEALTHS = ['all', 'up', 'down', 'unknown'];
const HEALTH_LABELS = { all: 'All', up: 'Up', down: 'Down', unknown: 'Unknown' };

/** The labels of a target as sorted `[name, value]` pairs, without `__`-prefixed ones. */
function visibleLabels(labels) {
  return labelPairs(labels, { hideInternal: true });
}

/** Scrape durations: "12.3ms" under a second, "1.234s" above. */
function formatScrapeDuration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '';
  if (seconds < 1) {
    const ms = seconds * 1000;
    return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)}ms`;
  }
  return `${seconds.toFixed(3)}s`;
}

function healthOf(t) {
  const v = String(t.health || 'unknown').toLowerCase();
  return v === 'up' || v === 'down' ? v : 'unknown';
}

function readFilters() {
  const q = new URLSearchParams(location.search);
  const health = (q.get('health') || 'all').toLowerCase();
  return {
    pool: q.get('pool') || '',
    health: HEALTHS.includes(health) ? health : 'all',
    search: q.get('search') || '',
  };
}

/** "all" is the default health, so it is left out of the URL. */
function writeFilters(f) {
  setQueryParams({ pool: f.pool, health: f.health === 'all' ? '' : f.health, search: f.search });
}

/** Lowercased text the search box matches against: the endpoint and `name="value"` labels. */
function searchText(t) {
  const parts = [String(t.scrapeUrl || '')];
  for (const [k, v] of visibleLabels(t.labels)) parts.push(`${k}=${quote(String(v))}`, `${k}=${v}`);
  return parts.join('\n').toLowerCase();
}

function matchesSearch(t, terms) {
  if (terms.length === 0) return true;
  const text = searchText(t);
  return terms.every((term) => text.includes(term));
}

function endpointCell(url, pool) {
  const text = String(url || '');
  // Only real web addresses become links.
  if (/^https?:\/\//i.test(text)) {
    return h(
      'a',
      { href: text, target: '_blank', rel: 'noopener noreferrer', class: 'mono', dataset: { focusKey: `link\n${pool}\n${text}` } },
      text,
    );
  }
  return h('span', { class: 'mono' }, text || '—');
}

function targetRow(t) {
  const health = healthOf(t);
  const at = Date.parse(t.lastScrape || '');
  const scraped = Number.isFinite(at) && at > 0;
  const interval = t.scrapeInterval ? `interval ${t.scrapeInterval}` : '';
  const timeout = t.scrapeTimeout ? `timeout ${t.scrapeTimeout}` : '';
  return h(
    'tr',
    { class: 'target-row', dataset: { health } },
    h('td', {}, endpointCell(t.scrapeUrl, String(t.scrapePool ?? ''))),
    h('td', {}, h('span', { class: `badge ${health}` }, health)),
    h('td', {}, labelChips(t.labels, { hideInternal: true })),
    h(
      'td',
      { title: scraped ? `${formatTime(at)} (local), ${new Date(at).toISOString()}` : null },
      scraped ? relativeTime(at) : h('span', { class: 'muted' }, 'never'),
    ),
    h(
      'td',
      { class: 'num', title: [interval, timeout].filter(Boolean).join(', ') || null },
      scraped ? formatScrapeDuration(t.lastScrapeDuration) : '—',
    ),
    h('td', {}, t.lastError ? h('span', { class: 'error-text target-error' }, String(t.lastError)) : null),
  );
}

function compareTargets(a, b) {
  const ua = String(a.scrapeUrl || '');
  const ub = String(b.scrapeUrl || '');
  if (ua !== ub) return ua < ub ? -1 : 1;
  const la = JSON.stringify(visibleLabels(a.labels));
  const lb = JSON.stringify(visibleLabels(b.labels));
  return la < lb ? -1 : la > lb ? 1 : 0;
}

export function render(root) {
  const filters = readFilters();
  const collapsed = new Set();
  let targets = null; // the last answer's active targets
  let loader = null;

  // ---- Controls (built once, so focus and typing survive refreshes).
  const poolFilter = poolSelect('targets-pool', (pool) => {
    filters.pool = pool;
    writeFilters(filters);
    draw();
  });
  const healthButtons = choiceButtons(HEALTHS, HEALTH_LABELS, 'health', filters.health, (value) => {
    filters.health = value;
    writeFilters(filters);
    draw();
  });
  const searchInput = searchBox('targets-search', 'Search endpoints and labels', 28, filters.search, (text) => {
    filters.search = text;
    writeFilters(filters);
    draw();
  });
  const status = h('span', { class: 'muted' });
  const refreshButton = h('button', { type: 'button', onclick: () => loader?.load() }, 'Refresh');

  const toolbar = h(
    'div',
    { class: 'toolbar' },
    h('label', { for: 'targets-pool' }, 'Pool', poolFilter.el),
    h('div', { class: 'segmented', role: 'group', 'aria-label': 'Health' }, healthButtons),
    h('label', { for: 'targets-search' }, h('span', { class: 'visually-hidden' }, 'Search'), searchInput),
    h('span', { class: 'spacer' }),
    status,
    refreshButton,
  );
  const errorBox = h('div', { role: 'alert' });
  const content = h('div', { class: 'targets' }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h1', {}, title), toolbar, errorBox, content);

  function draw() {
    if (!targets) return;
    const byPool = new Map();
    for (const t of targets) {
      const pool = String(t.scrapePool ?? '');
      if (!byPool.has(pool)) byPool.set(pool, []);
      byPool.get(pool).push(t);
    }
    poolFilter.setPools([...byPool.keys()], filters.pool);

    if (targets.length === 0) {
      setChildren(content, h('p', { class: 'muted' }, 'No active targets.'));
      return;
    }
    const terms = filters.search.toLowerCase().split(/\s+/).filter(Boolean);
    const sections = [];
    let poolIndex = 0;
    for (const pool of [...byPool.keys()].sort()) {
      poolIndex++;
      if (filters.pool && pool !== filters.pool) continue;
      const all = byPool.get(pool);
      const shown = all
        .filter((t) => filters.health === 'all' || healthOf(t) === filters.health)
        .filter((t) => matchesSearch(t, terms))
        .sort(compareTargets);
      if (shown.length === 0) continue;
      const up = all.filter((t) => healthOf(t) === 'up').length;
      const isCollapsed = collapsed.has(pool);
      const bodyId = `targets-pool-${poolIndex}`;
      const arrow = h('span', { 'aria-hidden': 'true' }, isCollapsed ? '▸ ' : '▾ ');
      const toggle = h(
        'button',
        {
          type: 'button',
          class: 'link pool-toggle',
          'aria-expanded': String(!isCollapsed),
          'aria-controls': bodyId,
          dataset: { focusKey: `toggle\n${pool}` },
          onclick: () => {
            const nowCollapsed = !collapsed.has(pool);
            if (nowCollapsed) collapsed.add(pool);
            else collapsed.delete(pool);
            toggle.setAttribute('aria-expanded', String(!nowCollapsed));
            arrow.textContent = nowCollapsed ? '▸ ' : '▾ ';
            table.hidden = nowCollapsed;
          },
        },
        arrow,
        pool || '(no pool)',
      );
      const table = h(
        'div',
        { class: 'table-wrap', id: bodyId, hidden: isCollapsed },
        h(
          'table',
          { class: 'data' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, 'Endpoint'),
              h('th', { scope: 'col' }, 'State'),
              h('th', { scope: 'col' }, 'Labels'),
              h('th', { scope: 'col' }, 'Last scrape'),
              h('th', { scope: 'col', class: 'num' }, 'Scrape duration'),
              h('th', { scope: 'col' }, 'Error'),
            ),
          ),
          h('tbody', {}, shown.map(targetRow)),
        ),
      );
      const filtered = shown.length !== all.length ? h('span', { class: 'muted' }, `showing ${shown.length}`) : null;
      sections.push(
        h(
          'section',
          { class: 'card pool', dataset: { pool } },
          h(
            'div',
            { class: 'pool-header' },
            h('h2', {}, toggle),
            h('span', { class: `badge ${up === all.length ? 'ok' : 'bad'}` }, `${up}/${all.length} up`),
            filtered,
          ),
          table,
        ),
      );
    }
    // Redrawing replaces the elements: keep keyboard focus on the same toggle or link.
    const focused = document.activeElement;
    const focusKey = focused && content.contains(focused) ? focused.dataset.focusKey : undefined;
    if (sections.length === 0) setChildren(content, h('p', { class: 'muted' }, 'No targets match the filters.'));
    else setChildren(content, sections);
    if (focusKey !== undefined) {
      const again = [...content.querySelectorAll('[data-focus-key]')].find((el) => el.dataset.focusKey === focusKey);
      if (again) again.focus({ preventScroll: true });
    }
  }

  loader = autoRefresh({
    fetchData: (signal) => {
      if (targets) status.textContent = 'Refreshing…';
      return api('targets', { state: 'active' }, { signal });
    },
    show: (res) => {
      const data = res && res.data ? res.data : {};
      targets = Array.isArray(data.activeTargets) ? data.activeTargets.filter((t) => t && typeof t === 'object') : [];
      setChildren(errorBox);
      status.textContent = `Updated ${formatTime(Date.now())}`;
      draw();
    },
    fail: (e) => {
      setChildren(errorBox, h('div', { class: 'alert error' }, `Cannot load the targets: ${errorText(e)}`));
      status.textContent = '';
      if (!targets) setChildren(content);
    },
    busy: content,
    every: REFRESH_MS,
  });
  return loader.stop;
}
