// The metrics explorer: every metric name the server knows, with its type and help from the
// targets' metadata, filtered as you type; picking one puts it in the editor.
import { api } from '../api.js';
import { errorText, h, setChildren } from '../util.js';

const SHOWN = 500;

/** Opens the explorer as a modal dialog; `onPick(name)` gets the chosen metric. */
export function openMetricsExplorer(onPick) {
  const controller = new AbortController();
  const filter = h('input', {
    type: 'search',
    placeholder: 'Filter metric names',
    'aria-label': 'Filter metric names',
    autocomplete: 'off',
  });
  const list = h('ul', { class: 'explorer-list', role: 'listbox', 'aria-label': 'Metric names' });
  const status = h('p', { class: 'muted', 'aria-live': 'polite' }, 'Loading…');
  const dialog = h(
    'dialog',
    { class: 'explorer', 'aria-label': 'Metrics explorer' },
    h(
      'div',
      { class: 'explorer-head' },
      h('h2', {}, 'Metrics explorer'),
      h('button', { type: 'button', class: 'link', onclick: () => dialog.close() }, 'Close'),
    ),
    filter,
    status,
    list,
  );
  let names = [];
  let metadata = {};
  const draw = () => {
    const terms = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const matching = names.filter((n) => terms.every((t) => n.toLowerCase().includes(t)));
    status.textContent =
      matching.length > SHOWN
        ? `${matching.length} metrics; showing the first ${SHOWN}, filter to narrow down.`
        : `${matching.length} metric${matching.length === 1 ? '' : 's'}`;
    setChildren(
      list,
      matching.slice(0, SHOWN).map((name) => {
        const meta = (metadata[name] || [])[0];
        return h(
          'li',
          { role: 'presentation' },
          h(
            'button',
            {
              type: 'button',
              role: 'option',
              class: 'explorer-item',
              onclick: () => {
                dialog.close();
                onPick(name);
              },
            },
            h('span', { class: 'mono explorer-name' }, name),
            meta?.type ? h('span', { class: 'badge unknown' }, meta.type) : null,
            meta?.help ? h('span', { class: 'muted explorer-help' }, meta.help) : null,
          ),
        );
      }),
    );
  };
  filter.addEventListener('input', draw);
  // Enter picks the first match.
  filter.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      list.querySelector('button')?.click();
    }
  });
  dialog.addEventListener('close', () => {
    controller.abort();
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
  filter.focus();
  Promise.all([
    api('label/__name__/values', {}, { signal: controller.signal }),
    api('metadata', {}, { signal: controller.signal }).catch(() => ({ data: {} })),
  ]).then(
    ([values, meta]) => {
      names = values.data || [];
      metadata = meta.data || {};
      draw();
    },
    (e) => {
      if (e.name === 'AbortError') return;
      status.replaceChildren(h('span', { class: 'alert error' }, errorText(e)));
    },
  );
}
