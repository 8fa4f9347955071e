// Configuration: the loaded configuration file as the server prints it back, with a button
// that copies it.
import { api } from '../api.js';
import { errorText, h, isAbort, setChildren } from '../util.js';

export const title = 'Configuration';

export function render(root) {
  const controller = new AbortController();
  let stopped = false;
  let yaml = null;
  let resetTimer = null;

  const copyStatus = h('span', { class: 'muted', role: 'status' });
  const copyButton = h(
    'button',
    {
      type: 'button',
      disabled: true,
      onclick: () => {
        copy().catch(() => {});
      },
    },
    'Copy',
  );
  const content = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(
    h('h1', {}, title),
    h('div', { class: 'toolbar' }, copyButton, copyStatus),
    content,
  );

  function say(text, ms = 2000) {
    clearTimeout(resetTimer);
    copyStatus.textContent = text;
    resetTimer = setTimeout(() => {
      copyStatus.textContent = '';
      copyButton.textContent = 'Copy';
    }, ms);
  }

  async function copy() {
    if (yaml === null) return;
    const clip = typeof navigator !== 'undefined' ? navigator.clipboard : undefined;
    if (!clip || typeof clip.writeText !== 'function') {
      say('Copying is not available here (it needs HTTPS or localhost): select the text and copy it.', 6000);
      return;
    }
    try {
      await clip.writeText(yaml);
      if (stopped) return;
      copyButton.textContent = 'Copied';
      say('Copied to the clipboard.');
    } catch (e) {
      if (stopped) return;
      say(`Could not copy: ${errorText(e)}`, 6000);
    }
  }

  api('status/config', {}, { signal: controller.signal })
    .then((res) => {
      if (stopped) return;
      const data = res && res.data && typeof res.data === 'object' ? res.data : {};
      yaml = typeof data.yaml === 'string' ? data.yaml : '';
      copyButton.disabled = false;
      setChildren(
        content,
        yaml === ''
          ? h('p', { class: 'muted' }, 'The configuration is empty.')
          : h('pre', { class: 'config-yaml', tabindex: '0', 'aria-label': 'Configuration (YAML)' }, yaml),
      );
    })
    .catch((e) => {
      if (isAbort(e) || stopped) return;
      setChildren(content, h('div', { class: 'alert error', role: 'alert' }, `Cannot load the configuration: ${errorText(e)}`));
    });

  return () => {
    stopped = true;
    clearTimeout(resetTimer);
    controller.abort();
  };
}
