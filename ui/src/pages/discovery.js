// Service discovery: per scrape pool, every discovered target with its labels before
// relabeling and what relabeling made of them (or that it dropped the target), and the
// discovery mechanisms failing now (their targets stay as last discovered).
import { api } from '../api.js';
import { autoRefresh, errorText, h, labelChips, poolSelect, setChildren, setQueryParams } from '../util.js';

export const title = 'Service discovery';

/** Targets drawn per pool before a "Show all" button (pools can hold thousands). */
const PAGE = 200;

function readFilters() {
  const q = new URLSearchParams(location.search);
  return { pool: q.get('pool') || '', dropped: q.get('dropped') !== '0' };
}

/** Showing dropped targets is the default, so only `dropped=0` is written. */
function writeFilters(f) {
  setQueryParams({ pool: f.pool, dropped: f.dropped ? null : '0' });
}

export function render(root) {
  const filters = readFilters();
  const expanded = new Set(); // pools whose whole list is shown
  let data = null;
  /** job → [{mechanism, what, error, since}] of the mechanisms failing now. */
  let failing = new Map();
  let loader = null;

  const poolFilter = poolSelect('sd-pool', (pool) => {
    filters.pool = pool;
    writeFilters(filters);
    draw();
  });
  const droppedBox = h('input', {
    type: 'checkbox',
    id: 'sd-dropped',
    checked: filters.dropped,
    onchange: () => {
      filters.dropped = droppedBox.checked;
      writeFilters(filters);
      draw();
    },
  });
  const refreshButton = h('button', { type: 'button', onclick: () => loader?.load() }, 'Refresh');
  const toolbar = h(
    'div',
    { class: 'toolbar' },
    h('label', { for: 'sd-pool' }, 'Pool', poolFilter.el),
    h('label', { for: 'sd-dropped' }, droppedBox, 'Show dropped targets'),
    h('span', { class: 'spacer' }),
    refreshButton,
  );
  const errorBox = h('div', { role: 'alert' });
  const content = h('div', { class: 'discovery' }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h1', {}, title), toolbar, errorBox, content);

  function targetItem(t, dropped) {
    return h(
      'div',
      { class: `sd-target${dropped ? ' sd-dropped' : ''}` },
      h(
        'div',
        { class: 'sd-col' },
        h('div', { class: 'sd-caption muted' }, 'Discovered labels'),
        labelChips(t.discoveredLabels),
      ),
      h(
        'div',
        { class: 'sd-col' },
        h('div', { class: 'sd-caption muted' }, 'Target labels'),
        dropped ? h('span', { class: 'badge unknown' }, 'Dropped') : labelChips(t.labels, { hideInternal: true }),
      ),
    );
  }

  function failureBox(failures) {
    if (!failures || failures.length === 0) return null;
    return h(
      'div',
      { class: 'alert error sd-failing', role: 'status' },
      h('strong', {}, 'Discovery failing; the targets shown are the last discovered.'),
      h(
        'ul',
        {},
        failures.map((f) =>
          h('li', {}, `${f.mechanism}: ${f.what ? `${f.what}: ` : ''}${f.error} (since ${f.since})`),
        ),
      ),
    );
  }

  function draw() {
    if (!data) return;
    const active = Array.isArray(data.activeTargets) ? data.activeTargets.filter((t) => t && typeof t === 'object') : [];
    const dropped = Array.isArray(data.droppedTargets) ? data.droppedTargets.filter((t) => t && typeof t === 'object') : [];
    const counts = data.droppedTargetCounts && typeof data.droppedTargetCounts === 'object' ? data.droppedTargetCounts : {};

    const pools = new Map();
    const pool = (name) => {
      const key = String(name ?? '');
      if (!pools.has(key)) pools.set(key, { active: [], dropped: [] });
      return pools.get(key);
    };
    for (const t of active) pool(t.scrapePool).active.push(t);
    for (const t of dropped) pool(t.scrapePool).dropped.push(t);
    for (const name of Object.keys(counts)) pool(name);
    for (const name of failing.keys()) pool(name);

    const names = [...pools.keys()].sort();
    poolFilter.setPools(names, filters.pool);

    if (names.length === 0) {
      setChildren(content, h('p', { class: 'muted' }, 'No targets discovered.'));
      return;
    }
    const sections = [];
    for (const name of names) {
      if (filters.pool && name !== filters.pool) continue;
      const p = pools.get(name);
      const droppedCount = Number.isFinite(counts[name]) ? counts[name] : p.dropped.length;
      const items = p.active.map((t) => [t, false]);
      if (filters.dropped) items.push(...p.dropped.map((t) => [t, true]));
      const limit = expanded.has(name) ? items.length : PAGE;
      const more = items.length - limit;
      sections.push(
        h(
          'section',
          { class: 'card pool', dataset: { pool: name } },
          h(
            'div',
            { class: 'pool-header' },
            h('h2', {}, name || '(no pool)'),
            h('span', { class: 'muted' }, `${p.active.length} active, ${droppedCount} dropped`),
          ),
          failureBox(failing.get(name)),
          items.length === 0
            ? h('p', { class: 'muted' }, p.active.length === 0 && droppedCount > 0 ? 'Only dropped targets (hidden).' : 'No targets.')
            : h(
                'div',
                { class: 'sd-list' },
                h(
                  'div',
                  { class: 'sd-target sd-head', 'aria-hidden': 'true' },
                  h('div', { class: 'sd-col' }, 'Discovered labels'),
                  h('div', { class: 'sd-col' }, 'Target labels'),
                ),
                items.slice(0, limit).map(([t, isDropped]) => targetItem(t, isDropped)),
              ),
          more > 0
            ? h(
                'button',
                {
                  type: 'button',
                  onclick: () => {
                    expanded.add(name);
                    draw();
                  },
                },
                `Show all ${items.length} targets (${more} more)`,
              )
            : null,
        ),
      );
    }
    if (sections.length === 0) setChildren(content, h('p', { class: 'muted' }, 'No targets in this pool.'));
    else setChildren(content, sections);
  }

  loader = autoRefresh({
    fetchData: async (signal) => {
      // The mechanisms' health is ours alone: a server without it still shows targets.
      const [targets, health] = await Promise.all([
        api('targets', { state: 'any' }, { signal }),
        api('status/service_discovery', {}, { signal }).catch(() => null),
      ]);
      return { targets, health };
    },
    show: ({ targets: res, health }) => {
      data = res && res.data && typeof res.data === 'object' ? res.data : {};
      failing = new Map();
      for (const m of Array.isArray(health?.data) ? health.data : []) {
        if (!m || !Array.isArray(m.failures) || m.failures.length === 0) continue;
        const list = failing.get(String(m.job)) || [];
        for (const f of m.failures) list.push({ mechanism: String(m.mechanism), what: String(f?.what ?? ''), error: String(f?.error ?? ''), since: String(f?.since ?? '') });
        failing.set(String(m.job), list);
      }
      setChildren(errorBox);
      draw();
    },
    fail: (e) => {
      setChildren(errorBox, h('div', { class: 'alert error' }, `Cannot load the targets: ${errorText(e)}`));
      if (!data) setChildren(content);
    },
    busy: content,
  });
  return loader.stop;
}
