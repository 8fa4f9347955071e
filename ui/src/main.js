// The app shell: navigation, theme, and a page per path (the server serves this page for
// every UI path; links change pages without reloading).
import './style.css';
import { prefix } from './api.js';
import { h, setChildren } from './util.js';
import * as query from './pages/query.js';
import * as alerts from './pages/alerts.js';
import * as rules from './pages/rules.js';
import * as targets from './pages/targets.js';
import * as discovery from './pages/discovery.js';
import * as status from './pages/status.js';
import * as flags from './pages/flags.js';
import * as config from './pages/config.js';
import * as tsdb from './pages/tsdb.js';

/** Path (after the prefix) → page module with `title` and `render(root) → cleanup?`. */
const pages = {
  '/query': query,
  '/alerts': alerts,
  '/rules': rules,
  '/targets': targets,
  '/service-discovery': discovery,
  '/status': status,
  '/flags': flags,
  '/config': config,
  '/tsdb-status': tsdb,
};

const navItems = [
  ['/query', 'Query'],
  ['/alerts', 'Alerts'],
  ['/rules', 'Rules'],
  ['/targets', 'Targets'],
  ['/service-discovery', 'Service discovery'],
  ['/status', 'Status'],
  ['/flags', 'Flags'],
  ['/config', 'Configuration'],
  ['/tsdb-status', 'TSDB'],
];

// ---- Theme: the system's, unless the user picked one (kept in localStorage).
const THEME_KEY = 'promethium.theme';
function applyTheme() {
  const chosen = localStorage.getItem(THEME_KEY);
  const dark = chosen ? chosen === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  window.dispatchEvent(new CustomEvent('themechange'));
}
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
applyTheme();

function currentPath() {
  let path = location.pathname;
  if (prefix && path.startsWith(prefix)) path = path.slice(prefix.length);
  if (path === '' || path === '/' || path === '/graph') return '/query';
  return path.replace(/\/$/, '');
}

const main = h('main', { id: 'page', tabindex: '-1' });
const navLinks = navItems.map(([path, label]) =>
  h('a', { href: `${prefix}${path}`, dataset: { path } }, label),
);
const themeButton = h(
  'button',
  {
    class: 'theme-toggle',
    type: 'button',
    title: 'Switch between light and dark theme',
    onclick: () => {
      const dark = document.documentElement.dataset.theme === 'dark';
      localStorage.setItem(THEME_KEY, dark ? 'light' : 'dark');
      applyTheme();
      themeButton.setAttribute('aria-pressed', String(!dark));
    },
  },
  h('span', { 'aria-hidden': 'true' }, '◐'),
  h('span', { class: 'visually-hidden' }, 'Toggle dark theme'),
);
const menuButton = h(
  'button',
  {
    class: 'menu-toggle',
    type: 'button',
    'aria-expanded': 'false',
    'aria-controls': 'nav-links',
    onclick: () => {
      const open = header.classList.toggle('open');
      menuButton.setAttribute('aria-expanded', String(open));
    },
  },
  '☰',
  h('span', { class: 'visually-hidden' }, 'Menu'),
);
const header = h(
  'header',
  { class: 'topbar' },
  h('a', { class: 'brand', href: `${prefix}/query` }, 'Promethium'),
  menuButton,
  h('nav', { id: 'nav-links', 'aria-label': 'Pages' }, navLinks),
  themeButton,
);
document.body.append(h('a', { class: 'skip-link', href: '#page' }, 'Skip to content'), header, main);

let cleanup = null;
function route() {
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  let path = currentPath();
  if (location.pathname !== `${prefix}${path}` && pages[path]) {
    // `/`, `/graph`: show the query page under its own address, keeping the panels.
    history.replaceState(null, '', `${prefix}${path}${location.search}${location.hash}`);
  }
  const page = pages[path];
  for (const a of navLinks) a.classList.toggle('active', a.dataset.path === path);
  header.classList.remove('open');
  menuButton.setAttribute('aria-expanded', 'false');
  const root = h('div', { class: 'page' });
  setChildren(main, root);
  if (!page) {
    document.title = 'Not found - Promethium';
    root.append(h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: `${prefix}/query` }, 'Go to the query page')));
    return;
  }
  document.title = `${page.title} - Promethium`;
  cleanup = page.render(root);
}

// Same-app links change the page without a reload.
document.addEventListener('click', (e) => {
  const a = e.target.closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  let path = url.pathname;
  if (prefix && path.startsWith(prefix)) path = path.slice(prefix.length);
  if (!pages[path] || url.hash && url.pathname === location.pathname) return;
  e.preventDefault();
  history.pushState(null, '', url.pathname + url.search);
  route();
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
});
window.addEventListener('popstate', route);
route();
