// Command-line flags: every flag the server was started with (defaults included), sorted by
// name, with a filter on name or value kept in the query string (`?search=`).
import { api } from '../api.js';
import { errorText, h, isAbort, setChildren, setQueryParams } from '../util.js';

export const title = 'Command-line flags';

function valueText(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function render(root) {
  const controller = new AbortController();
  let stopped = false;
  let flags = null; // [[name, value]] sorted by name

  const searchInput = h('input', {
    type: 'search',
    id: 'flags-search',
    placeholder: 'Filter by name or value',
    autocomplete: 'off',
    value: new URLSearchParams(location.search).get('search') || '',
    oninput: () => {
      setQueryParams({ search: searchInput.value });
      draw();
    },
  });
  const count = h('span', { class: 'muted', 'aria-live': 'polite' });
  const content = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(
    h('h1', {}, title),
    h(
      'div',
      { class: 'toolbar' },
      h('label', { for: 'flags-search' }, 'Filter', searchInput),
      h('span', { class: 'spacer' }),
      count,
    ),
    content,
  );

  function draw() {
    if (!flags) return;
    const needle = searchInput.value.trim().toLowerCase();
    const shown = needle
      ? flags.filter(([name, value]) => `--${name}`.toLowerCase().includes(needle) || value.toLowerCase().includes(needle))
      : flags;
    count.textContent = needle ? `${shown.length} of ${flags.length} flags` : `${flags.length} flags`;
    if (flags.length === 0) {
      setChildren(content, h('p', { class: 'muted' }, 'The server reported no flags.'));
      return;
    }
    setChildren(
      content,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'data flags' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Flag'), h('th', { scope: 'col' }, 'Value'))),
          h(
            'tbody',
            {},
            shown.length === 0
              ? h('tr', {}, h('td', { colspan: '2', class: 'muted' }, 'No flag matches the filter.'))
              : shown.map(([name, value]) =>
                  h(
                    'tr',
                    { dataset: { flag: name } },
                    h('td', { class: 'mono' }, name),
                    h('td', { class: 'mono flag-value' }, value === '' ? h('span', { class: 'muted' }, '(empty)') : value),
                  ),
                ),
          ),
        ),
      ),
    );
  }

  api('status/flags', {}, { signal: controller.signal })
    .then((res) => {
      if (stopped) return;
      const data = res && res.data && typeof res.data === 'object' ? res.data : {};
      flags = Object.entries(data)
        .map(([k, v]) => [k, valueText(v)])
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      draw();
    })
    .catch((e) => {
      if (isAbort(e) || stopped) return;
      setChildren(content, h('div', { class: 'alert error', role: 'alert' }, `Cannot load the flags: ${errorText(e)}`));
    });

  return () => {
    stopped = true;
    controller.abort();
  };
}
