// Status: what the server says about its runtime and its build, every key it sends, with
// friendly names for the keys Prometheus documents.
import { api } from '../api.js';
import { errorText, formatTime, h, isAbort, keyValueTable, relativeTime, setChildren } from '../util.js';

export const title = 'Status';

const RUNTIME_NAMES = {
  startTime: 'Start time',
  CWD: 'Working directory',
  hostname: 'Hostname',
  serverTime: 'Server time',
  reloadConfigSuccess: 'Configuration reload',
  lastConfigTime: 'Last successful configuration reload',
  corruptionCount: 'WAL corruptions',
  goroutineCount: 'Threads (goroutineCount)',
  GOMAXPROCS: 'CPUs used (GOMAXPROCS)',
  GOMEMLIMIT: 'Memory limit (GOMEMLIMIT)',
  GOGC: 'GOGC',
  GODEBUG: 'GODEBUG',
  storageRetention: 'Storage retention',
};
const RUNTIME_TIMES = new Set(['startTime', 'serverTime', 'lastConfigTime']);

const BUILD_NAMES = {
  version: 'Version',
  revision: 'Revision',
  branch: 'Branch',
  buildUser: 'Build user',
  buildDate: 'Build date',
  goVersion: 'Compiler version (goVersion)',
};

function notSet() {
  return h('span', { class: 'muted' }, 'not set');
}

/** An RFC 3339 time as local time plus how long ago; the raw text in the tooltip. */
function timeValue(text) {
  const t = Date.parse(String(text));
  if (!Number.isFinite(t) || t <= 0) return h('span', { class: 'muted', title: String(text) }, 'never');
  return h('span', { title: String(text) }, `${formatTime(t)} (${relativeTime(t)})`);
}

function plainValue(v) {
  if (v === null || v === undefined || v === '') return notSet();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'object') return h('span', { class: 'mono' }, JSON.stringify(v));
  return String(v);
}

function runtimeValue(key, v) {
  if (RUNTIME_TIMES.has(key) && typeof v === 'string' && v) return timeValue(v);
  if (key === 'reloadConfigSuccess' && typeof v === 'boolean') {
    return h('span', { class: `badge ${v ? 'ok' : 'bad'}` }, v ? 'Successful' : 'Failed');
  }
  if (key === 'GOMEMLIMIT' && typeof v === 'number' && v >= 9e18) {
    // math.MaxInt64 (which JSON numbers cannot even hold exactly): no limit.
    return h('span', { class: 'muted' }, 'no limit');
  }
  if (key === 'CWD' && typeof v === 'string' && v) return h('span', { class: 'mono' }, v);
  return plainValue(v);
}

function buildValue(key, v) {
  if (key === 'revision' && typeof v === 'string' && v) return h('span', { class: 'mono' }, v);
  return plainValue(v);
}

/** Known keys first, in their documented order, then anything else the server sent. */
function orderedKeys(data, names) {
  const known = Object.keys(names).filter((k) => k in data);
  const rest = Object.keys(data).filter((k) => !(k in names));
  return known.concat(rest);
}

/** The friendly name shows; the raw key stays in the tooltip. */
function kvTable(data, names, valueOf) {
  const keys = orderedKeys(data, names);
  if (keys.length === 0) return h('p', { class: 'muted' }, 'The server sent nothing.');
  return keyValueTable(keys.map((k) => [names[k] || k, valueOf(k, data[k]), k, k]));
}

export function render(root) {
  const controller = new AbortController();
  let stopped = false;

  const cards = [
    ['status/runtimeinfo', 'Runtime information', RUNTIME_NAMES, runtimeValue, 'runtime'],
    ['status/buildinfo', 'Build information', BUILD_NAMES, buildValue, 'build'],
  ];
  root.append(h('h1', {}, title));
  for (const [path, heading, names, valueOf, id] of cards) {
    const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
    root.append(h('section', { class: 'card', id: `status-${id}` }, h('h2', {}, heading), body));
    api(path, {}, { signal: controller.signal })
      .then((res) => {
        if (stopped) return;
        const data = res && res.data && typeof res.data === 'object' ? res.data : {};
        setChildren(body, kvTable(data, names, valueOf));
      })
      .catch((e) => {
        if (isAbort(e) || stopped) return;
        setChildren(body, h('div', { class: 'alert error', role: 'alert' }, `Cannot load ${heading.toLowerCase()}: ${errorText(e)}`));
      });
  }

  return () => {
    stopped = true;
    controller.abort();
  };
}
