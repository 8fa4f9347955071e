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

  // What the server evaluates and notifies: its rule files and Alertmanagers.
  const filesBody = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const amBody = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const rwBody = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(
    h('section', { class: 'card', id: 'status-rule-files' }, h('h2', {}, 'Rule files'), filesBody),
    h('section', { class: 'card', id: 'status-alertmanagers' }, h('h2', {}, 'Alertmanagers'), amBody),
    h('section', { class: 'card', id: 'status-remote-write' }, h('h2', {}, 'Remote write'), rwBody),
  );
  const failed = (body, what) => (e) => {
    if (isAbort(e) || stopped) return;
    setChildren(body, h('div', { class: 'alert error', role: 'alert' }, `Cannot load ${what}: ${errorText(e)}`));
  };
  api('rules', { exclude_alerts: 'true' }, { signal: controller.signal })
    .then((res) => {
      if (stopped) return;
      setChildren(filesBody, ruleFilesTable(res && res.data && Array.isArray(res.data.groups) ? res.data.groups : []));
    })
    .catch(failed(filesBody, 'the rule files'));
  api('alertmanagers', {}, { signal: controller.signal })
    .then((res) => {
      if (stopped) return;
      setChildren(amBody, alertmanagersTable(res && res.data ? res.data : {}));
    })
    .catch(failed(amBody, 'the Alertmanagers'));
  api('status/remote_write', {}, { signal: controller.signal })
    .then((res) => {
      if (stopped) return;
      setChildren(rwBody, remoteWriteTable(res && res.data ? res.data : {}));
    })
    .catch(failed(rwBody, 'the remote-write queues'));

  return () => {
    stopped = true;
    controller.abort();
  };
}

/** One row per rule file: its groups and rules, and how many rules fail. */
function ruleFilesTable(groups) {
  const files = new Map();
  for (const g of groups) {
    const file = String(g.file ?? '');
    const f = files.get(file) || { groups: 0, rules: 0, failing: 0 };
    const rules = Array.isArray(g.rules) ? g.rules : [];
    f.groups++;
    f.rules += rules.length;
    f.failing += rules.filter((r) => r && r.health === 'err').length;
    files.set(file, f);
  }
  if (files.size === 0) return h('p', { class: 'muted' }, 'No rule files are loaded.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'File'),
          h('th', { scope: 'col', class: 'num' }, 'Groups'),
          h('th', { scope: 'col', class: 'num' }, 'Rules'),
          h('th', { scope: 'col' }, 'Health'),
        ),
      ),
      h(
        'tbody',
        {},
        [...files.entries()].map(([file, f]) =>
          h(
            'tr',
            { dataset: { file } },
            h('td', { class: 'mono' }, file),
            h('td', { class: 'num' }, String(f.groups)),
            h('td', { class: 'num' }, String(f.rules)),
            h('td', {}, h('span', { class: `badge ${f.failing ? 'bad' : 'ok'}` }, f.failing ? `${f.failing} failing` : 'ok')),
          ),
        ),
      ),
    ),
  );
}

/** The Alertmanagers alerts go to, and those discovered but dropped by relabeling. */
function alertmanagersTable(data) {
  const rows = [];
  for (const [list, state] of [
    [data.activeAlertmanagers, 'active'],
    [data.droppedAlertmanagers, 'dropped'],
  ]) {
    for (const am of Array.isArray(list) ? list : []) {
      rows.push(
        h(
          'tr',
          { dataset: { state } },
          h('td', { class: 'mono' }, String(am && am.url ? am.url : '')),
          h('td', {}, h('span', { class: `badge ${state === 'active' ? 'ok' : 'unknown'}` }, state)),
        ),
      );
    }
  }
  if (rows.length === 0) return h('p', { class: 'muted' }, 'No Alertmanagers are configured.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Endpoint'), h('th', { scope: 'col' }, 'State'))),
      h('tbody', {}, rows),
    ),
  );
}

/** Remote-write queues: where each sends, how far behind it is, and its last error. */
function remoteWriteTable(data) {
  const queues = Array.isArray(data.queues) ? data.queues : [];
  if (queues.length === 0) return h('p', { class: 'muted' }, 'No remote_write endpoints are configured.');
  const count = (n) => Number(n || 0).toLocaleString();
  const bytes = (n) => {
    const v = Number(n || 0);
    return v >= 1 << 30 ? `${(v / (1 << 30)).toFixed(1)} GiB` : v >= 1 << 20 ? `${(v / (1 << 20)).toFixed(1)} MiB` : `${Math.round(v / 1024)} KiB`;
  };
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Name', 'Endpoint', 'Message', 'Shards', 'Sent', 'Pending', 'Failed', 'Dropped', 'Lag', 'WAL held', 'State'].map((t) =>
            h('th', { scope: 'col', class: ['Name', 'Endpoint', 'Message', 'State'].includes(t) ? '' : 'num' }, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        queues.flatMap((q) => [
          h(
            'tr',
            { dataset: { remote: String(q.remoteName ?? '') } },
            h('td', {}, String(q.remoteName ?? '')),
            h('td', { class: 'mono' }, String(q.url ?? '')),
            h('td', { class: 'mono' }, String(q.protobufMessage ?? '')),
            h('td', { class: 'num' }, `${q.shards ?? 0} (${q.shardsMin ?? 0}–${q.shardsMax ?? 0})`),
            h('td', { class: 'num' }, count(q.samplesSent)),
            h('td', { class: 'num' }, count(q.samplesPending)),
            h('td', { class: 'num' }, count(q.samplesFailed)),
            h('td', { class: 'num' }, count(q.samplesDropped)),
            h('td', { class: 'num' }, q.lagSeconds == null ? 'nothing sent' : `${Number(q.lagSeconds).toFixed(0)} s`),
            h('td', { class: 'num' }, bytes(q.walHeldBytes)),
            h(
              'td',
              {},
              q.lastError ? h('span', { class: 'badge bad' }, 'failing') : h('span', { class: 'badge ok' }, 'ok'),
            ),
          ),
          // The last error on a row of its own: it is long, and the table must stay readable.
          q.lastError
            ? h('tr', { class: 'detail', dataset: { errorOf: String(q.remoteName ?? '') } }, h('td', { colspan: '11', class: 'muted mono wrap' }, String(q.lastError)))
            : null,
        ].filter(Boolean)),
      ),
    ),
  );
}
