// Small DOM and formatting helpers shared by every page.

/**
 * Creates an element: h('div', {class: 'x', onclick: fn}, child, 'text', [more]).
 * Attributes starting with "on" become listeners; `null`/`false` children are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'class') {
      el.className = v;
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k in el && typeof v !== 'string') {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces an element's children. */
export function setChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** Quotes a label value as PromQL and the API print it. */
export function quote(s) {
  return JSON.stringify(s);
}

/** `name{a="b", c="d"}`, the metric name first and the rest sorted. */
export function formatSeries(metric) {
  const name = metric.__name__ || '';
  const rest = Object.keys(metric)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${quote(metric[k])}`);
  if (rest.length === 0) return name || '{}';
  return `${name}{${rest.join(', ')}}`;
}

/** Seconds as Prometheus durations print (`1h30m`, `15s`, `250ms`). */
export function formatDuration(seconds) {
  let ms = Math.round(seconds * 1000);
  if (ms === 0) return '0s';
  const units = [
    ['y', 365 * 24 * 3600 * 1000],
    ['w', 7 * 24 * 3600 * 1000],
    ['d', 24 * 3600 * 1000],
    ['h', 3600 * 1000],
    ['m', 60 * 1000],
    ['s', 1000],
    ['ms', 1],
  ];
  let out = ms < 0 ? '-' : '';
  ms = Math.abs(ms);
  for (const [u, n] of units) {
    if (ms >= n) {
      out += Math.floor(ms / n) + u;
      ms %= n;
    }
  }
  return out;
}

/** Parses a Prometheus duration (`1h30m`, `15s`); `null` if it is not one. */
export function parseDuration(text) {
  const s = String(text).trim();
  if (s === '') return null;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+)(ms|y|w|d|h|m|s)/g;
  const mult = { y: 31536000, w: 604800, d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    if (m.index !== consumed) return null;
    total += Number(m[1]) * mult[m[2]];
    consumed += m[0].length;
  }
  return consumed === s.length && consumed > 0 ? total : null;
}

/** "3.2s ago", "in 5m", for a Date or ISO string. */
export function relativeTime(when, now = Date.now()) {
  const t = typeof when === 'string' ? Date.parse(when) : +when;
  if (!Number.isFinite(t) || t <= 0) return 'never';
  const diff = (now - t) / 1000;
  const abs = Math.abs(diff);
  const text = abs < 1 ? `${Math.round(abs * 1000)}ms` : abs < 60 ? `${abs.toFixed(1)}s` : formatDuration(Math.round(abs));
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** `2026-11-27 14:03:05` in UTC or local time. */
export function formatTime(ms, utc = false) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  const [Y, M, D, hh, mm, ss] = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${Y}-${p(M)}-${p(D)} ${p(hh)}:${p(mm)}:${p(ss)}`;
}

/** A number as the API's strings show it, but shortened for axes and legends. */
export function formatValue(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
  const abs = Math.abs(v);
  if (abs !== 0 && (abs >= 1e15 || abs < 1e-4)) return v.toExponential(3);
  return String(Number(v.toPrecision(6)));
}

/** Bytes as "1.5 MiB". */
export function formatBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** True for the rejection a fetch gives when its page aborted it on leaving: not an error to show. */
export function isAbort(e) {
  return e && e.name === 'AbortError';
}

/** The message of an error (or whatever was thrown), for an alert. */
export function errorText(e) {
  return (e && e.message) || String(e);
}

/** A label set as `[name, value]` pairs sorted by name; `hideInternal` drops `__`-prefixed names. */
export function labelPairs(labels, { hideInternal = false } = {}) {
  return Object.entries(labels && typeof labels === 'object' ? labels : {})
    .filter(([k]) => !hideInternal || !k.startsWith('__'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A label set as `name="value"` chips sorted by name, or a muted "none" when it is empty. */
export function labelChips(labels, { hideInternal = false } = {}) {
  const pairs = labelPairs(labels, { hideInternal });
  if (pairs.length === 0) return h('span', { class: 'muted' }, 'none');
  return h(
    'div',
    { class: 'labels' },
    pairs.map(([k, v]) => h('span', { class: 'label' }, `${k}=${quote(String(v))}`)),
  );
}

/**
 * Writes page filters into the query string without a new history entry, so a link keeps the
 * view: a non-empty value sets its key, '' / null / undefined removes it; other keys and the
 * hash stay.
 */
export function setQueryParams(values) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(values)) {
    if (v === '' || v === null || v === undefined) q.delete(k);
    else q.set(k, String(v));
  }
  const qs = q.toString();
  history.replaceState(history.state, '', `${location.pathname}${qs ? `?${qs}` : ''}${location.hash}`);
}

/**
 * A two-column name/value table from `[[name, value, key, title], ...]`: each row carries
 * `data-key` so tests and styles can find it; `title` (optional) is the name cell's tooltip.
 */
export function keyValueTable(rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data kv' },
      h(
        'tbody',
        {},
        rows.map(([name, value, key, title]) =>
          h('tr', { dataset: { key } }, h('th', { scope: 'row', title }, name), h('td', {}, value)),
        ),
      ),
    ),
  );
}

/**
 * A scrape pool `<select>` ("All pools" first) for the pages that filter by pool.
 * `onChange(pool)` gets the chosen pool ('' for all); `setPools(names, selected)` lists the
 * pools, keeping `selected` (a pool from the address may be gone) and rebuilding the options
 * only when the list changed, so focus and an open list survive refreshes.
 */
export function poolSelect(id, onChange) {
  const el = h('select', { id, onchange: () => onChange(el.value) }, h('option', { value: '' }, 'All pools'));
  const setPools = (pools, selected) => {
    const wanted = new Set(pools);
    if (selected) wanted.add(selected);
    const names = [...wanted].sort();
    const current = [...el.options].slice(1).map((o) => o.value);
    if (current.length !== names.length || current.some((n, i) => n !== names[i])) {
      setChildren(el, h('option', { value: '' }, 'All pools'), names.map((n) => h('option', { value: n }, n)));
    }
    el.value = selected;
  };
  return { el, setPools };
}

/**
 * A page's data loader: `fetchData(signal)` is run now and, with `every` (ms), again while
 * the tab is visible; a newer load aborts an older one, and an aborted or outdated answer is
 * dropped. `show(data)` and `fail(error)` get the outcome; `busy` (an element) carries
 * aria-busy while loading. Returns `{ load, stop }`; `stop` is the page's cleanup.
 */
export function autoRefresh({ fetchData, show, fail, busy, every = 0 }) {
  let controller = null;
  let stopped = false;
  async function load() {
    if (stopped) return;
    if (controller) controller.abort();
    const mine = new AbortController();
    controller = mine;
    busy?.setAttribute('aria-busy', 'true');
    try {
      const data = await fetchData(mine.signal);
      if (stopped || controller !== mine) return;
      show(data);
    } catch (e) {
      if (isAbort(e) || stopped || controller !== mine) return;
      fail(e);
    } finally {
      if (controller === mine) {
        controller = null;
        busy?.removeAttribute('aria-busy');
      }
    }
  }
  load().catch(() => {});
  const timer = every > 0 ? setInterval(() => !document.hidden && load().catch(() => {}), every) : null;
  return {
    load: () => load().catch(() => {}),
    stop: () => {
      stopped = true;
      if (timer) clearInterval(timer);
      if (controller) controller.abort();
      controller = null;
    },
  };
}

/**
 * A filter's one-of choice as toggle buttons (`aria-pressed`, `data-<key>` = value):
 * pressing one moves the press to it, then `onPick(value)`.
 */
export function choiceButtons(values, labels, key, selected, onPick) {
  const buttons = values.map((value) =>
    h(
      'button',
      {
        type: 'button',
        dataset: { [key]: value },
        'aria-pressed': String(selected === value),
        onclick: () => {
          for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset[key] === value));
          onPick(value);
        },
      },
      labels[value],
    ),
  );
  return buttons;
}

/** A filter toolbar's search box; `onInput(text)` on every change. */
export function searchBox(id, placeholder, size, value, onInput) {
  const input = h('input', {
    type: 'search',
    id,
    placeholder,
    size,
    value,
    autocomplete: 'off',
    oninput: () => onInput(input.value),
  });
  return input;
}
