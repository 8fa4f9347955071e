// The UI in a real browser (Debian's chromium driven by playwright-core), against a real
// promethium behind basic auth that scrapes itself every second:
//   - without credentials the page is refused (401); with them it loads;
//   - a query typed with autocompletion runs, its row shows in the table and its series is
//     drawn in the graph;
//   - a native histogram scraped (protobuf, from a target served here) shows as bucket bars
//     in the table tab and as a heatmap in the graph tab;
//   - the targets page shows the scraped target as up;
//   - the alerts page shows a firing and a pending rule, their alerts' labels, active time and
//     rendered annotations, and keeps its state filter in the address; the rules page shows a
//     failing rule's error and a recording rule's evaluation; the status page lists the rule
//     file and the Alertmanager;
//   - every page loads without console errors; a screenshot of each is saved for review in
//     target/ui-screenshots/.
// Run by scripts/test after the cargo tests (which build target/debug/promethium).
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, createWriteStream, readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const bin = (name) => process.env[`${name.toUpperCase()}_BIN`] || join(repo, 'target/debug', name);
const shots = join(repo, 'target/ui-screenshots');
const USER = 'admin';
const PASSWORD = 'ui-test-password';

// The whole run stops by itself.
const deadline = setTimeout(() => fail('the UI test took longer than 3 minutes'), 180_000);
deadline.unref();

let server = null;
let browser = null;
const dir = mkdtempSync(join(tmpdir(), 'promethium-ui-'));

function fail(message) {
  console.error(`FAIL: ${message}`);
  cleanup();
  process.exit(1);
}

function cleanup() {
  try {
    server?.kill('SIGKILL');
  } catch {}
  try {
    histogramTarget?.close();
  } catch {}
  rmSync(dir, { recursive: true, force: true });
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

async function waitFor(what, fn, ms = 30_000) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (e) {
      if (e.fatal) throw e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// ---- A protobuf target with one native histogram (io.prometheus.client.MetricFamily,
// length-delimited), encoded by hand: the test depends on no protobuf library.
function varint(n) {
  const out = [];
  let v = BigInt(n);
  while (v >= 0x80n) {
    out.push(Number((v & 0x7fn) | 0x80n));
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
const zigzag = (n) => (n >= 0 ? 2 * n : -2 * n - 1);
const key = (tag, wire) => varint((tag << 3) | wire);
const lenField = (tag, bytes) => Buffer.concat([key(tag, 2), varint(bytes.length), bytes]);
const intField = (tag, n) => Buffer.concat([key(tag, 0), varint(n)]);
const doubleField = (tag, x) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return Buffer.concat([key(tag, 1), b]);
};
const BUCKET_SHARES = [1, 3, 6, 3, 1];
/** ui_latency_seconds at `step`: five schema-0 buckets (1,2] .. (16,32] growing 1:3:6:3:1. */
function histogramBody(step) {
  const k = step + 1;
  const counts = BUCKET_SHARES.map((s) => s * k);
  const deltas = counts.map((c, i) => c - (i ? counts[i - 1] : 0));
  const histogram = Buffer.concat([
    intField(1, counts.reduce((a, b) => a + b, 0)),
    doubleField(2, 7.5 * k),
    intField(5, zigzag(0)),
    doubleField(6, 2 ** -128),
    lenField(12, Buffer.concat([intField(1, zigzag(1)), intField(2, counts.length)])),
    lenField(13, Buffer.concat(deltas.map((d) => varint(zigzag(d))))),
  ]);
  const metric = Buffer.concat([lenField(1, Buffer.concat([lenField(1, Buffer.from('path')), lenField(2, Buffer.from('/api'))])), lenField(7, histogram)]);
  const family = Buffer.concat([lenField(1, Buffer.from('ui_latency_seconds')), lenField(2, Buffer.from('Latency.')), intField(3, 4), lenField(4, metric)]);
  return Buffer.concat([varint(family.length), family]);
}
let histogramTarget = null;

const t0 = Date.now();
function step(name) {
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${name}`);
}

async function main() {
  mkdirSync(shots, { recursive: true });
  const hash = execFileSync(bin('pmtool'), ['hash-password', '--cost', '4'], { input: `${PASSWORD}\n` })
    .toString()
    .trim();
  writeFileSync(join(dir, 'web.yml'), `basic_auth_users:\n  ${USER}: ${hash}\n`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  histogramTarget = createHttpServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited' });
    res.end(histogramBody(Math.floor(Date.now() / 5000) % 1000));
  });
  await new Promise((r) => histogramTarget.listen(0, '127.0.0.1', r));
  const histogramPort = histogramTarget.address().port;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'rule_files: [rules.yml]',
      // Nothing listens there: the Alertmanager is listed, its sends fail (and are only logged).
      'alerting:',
      '  alertmanagers:',
      "    - static_configs: [{targets: ['127.0.0.1:1']}]",
      // Nothing listens there either: the queue is listed, failing, with its error.
      'remote_write:',
      '  - url: http://127.0.0.1:1/api/v1/write',
      '    name: nowhere',
      '    queue_config: {batch_send_deadline: 100ms, min_backoff: 50ms}',
      'scrape_configs:',
      '  - job_name: promethium',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${port}']`,
      '    basic_auth:',
      `      username: ${USER}`,
      `      password: ${PASSWORD}`,
      '  - job_name: histograms',
      '    scrape_native_histograms: true',
      `    static_configs: [{targets: ['127.0.0.1:${histogramPort}']}]`,
      // An HTTP SD endpoint nothing serves: the Service discovery page says it is failing.
      '  - job_name: failing-sd',
      "    http_sd_configs: [{url: 'http://127.0.0.1:1/sd', refresh_interval: 1s}]",
      '',
    ].join('\n'),
  );
  // An alert that fires at once, one that stays pending, a recording rule, and one that fails
  // at every evaluation (two series with the same labels once both are named dup_names).
  writeFileSync(
    join(dir, 'rules.yml'),
    [
      'groups:',
      '  - name: ui-alerts',
      '    rules:',
      '      - alert: AlwaysFiring',
      '        expr: up == 1',
      '        labels: {severity: page}',
      '        annotations:',
      '          summary: "Target {{ $labels.instance }} is up ({{ $value }})"',
      '      - alert: PendingForever',
      '        expr: up == 1',
      '        for: 1h',
      '  - name: ui-records',
      '    rules:',
      '      - record: job:up:sum',
      '        expr: sum by (job) (up)',
      '      - record: dup_names',
      '        expr: \'{__name__=~"up|scrape_samples_scraped"}\'',
      '',
    ].join('\n'),
  );
  const log = createWriteStream(join(dir, 'server.log'));
  server = spawn(
    bin('promethium'),
    [
      '--config.file=prometheus.yml',
      '--web.config.file=web.yml',
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.path=data',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stdout.pipe(log);
  server.stderr.pipe(log);
  let exited = null;
  server.on('exit', (code) => {
    exited = code;
  });
  const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  await waitFor('the server', async () => {
    if (exited !== null) throw Object.assign(new Error(`the server exited (${exited})`), { fatal: true });
    return (await fetch(`${base}/-/ready`, { headers: { Authorization: auth } })).ok;
  });
  await waitFor('the first self-scrape', async () => {
    const r = await fetch(`${base}/api/v1/query?query=up`, { headers: { Authorization: auth } });
    const j = await r.json();
    return j.data.result.some((s) => s.value[1] === '1');
  });

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });

  step('browser started');
  // 1. No credentials: refused.
  {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const seen = [];
    page.on('response', (r) => seen.push([r.url(), r.status(), r.headers()['www-authenticate']]));
    // Headless, nobody answers the browser's credentials prompt: the navigation fails.
    const error = await page.goto(`${base}/query`).then(
      (r) => `loaded with ${r.status()}`,
      (e) => e.message,
    );
    check(/ERR_INVALID_AUTH_CREDENTIALS/.test(error), `without credentials: ${error}`);
    const first = seen.find(([url]) => url === `${base}/query`);
    check(first && first[1] === 401 && first[2] === 'Basic', `without credentials /query answered ${JSON.stringify(first)}`);
    await ctx.close();
  }

  // 2. With credentials: every page, watching the console.
  const ctx = await browser.newContext({
    httpCredentials: { username: USER, password: PASSWORD },
    viewport: { width: 1280, height: 800 },
  });
  const errors = [];
  const page = await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${page.url()}: console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`${page.url()}: page error: ${e.message}`));
  // Requests cut short by leaving a page are fine; any other failure is not.
  page.on('requestfailed', (r) => {
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') errors.push(`${page.url()}: request failed: ${r.url()} ${r.failure()?.errorText}`);
  });

  const res = await page.goto(`${base}/query`);
  check(res.status() === 200, `with credentials /query answered ${res.status()}`);
  const editor = page.locator('.cm-content').first();
  await editor.waitFor();
  await page.screenshot({ path: join(shots, 'query-empty.png') });

  step('query page loaded');
  // Type part of a metric name; accept the suggestion from our API with Enter.
  await editor.click();
  await page.keyboard.type('prometheus_build_inf', { delay: 30 });
  const option = page.locator('.cm-tooltip-autocomplete li', { hasText: 'prometheus_build_info' }).first();
  await option.waitFor({ timeout: 15_000 });
  await page.screenshot({ path: join(shots, 'query-autocomplete.png') });
  // CodeMirror ignores Enter for 75 ms after a completion list (re)appears, so that a key
  // pressed just as it shows does not pick something: wait as a person would.
  await page.waitForTimeout(300);
  await page.keyboard.press('Enter');
  const text = await editor.textContent();
  check(text === 'prometheus_build_info', `the completion gave ${JSON.stringify(text)}`);
  await page.keyboard.press('Escape');
  await page.keyboard.press('Enter');
  const row = page.locator('.result-table tbody tr').first();
  await row.waitFor({ timeout: 15_000 });
  const rowText = await row.textContent();
  check(rowText.includes('prometheus_build_info{') && rowText.includes('job="promethium"'), `table row: ${rowText}`);
  check((await row.locator('td').last().textContent()).trim() === '1', `value cell: ${rowText}`);
  const stats = await page.locator('.panel .stats').first().textContent();
  check(/Result series: 1/.test(stats), `stats line: ${stats}`);
  check(/expr=prometheus_build_info/.test(decodeURIComponent(page.url())), `the address keeps the query: ${page.url()}`);
  await page.screenshot({ path: join(shots, 'query-table.png') });

  step('table checked');

  // Format rewrites the query with format_query; an info annotation shows; history lists
  // what ran.
  const setQuery = async (q) => {
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type(q);
    await page.keyboard.press('Escape');
  };
  await setQuery('sum(rate(up[1m]))by(job)');
  await page.getByRole('button', { name: 'Format' }).first().click();
  await page.waitForFunction(
    () => document.querySelector('.cm-content').textContent === 'sum by (job) (rate(up[1m]))',
    null,
    { timeout: 10_000 },
  );
  await page.getByRole('button', { name: 'Execute' }).first().click();
  const info = page.locator('.alert.info', { hasText: 'might not be a counter' }).first();
  await info.waitFor({ timeout: 15_000 });
  await page.getByRole('button', { name: 'History' }).first().click();
  const remembered = await page.locator('.history-list .history-item').allTextContents();
  check(
    remembered[0] === 'sum by (job) (rate(up[1m]))' && remembered.includes('prometheus_build_info'),
    `history: ${JSON.stringify(remembered)}`,
  );
  await page.screenshot({ path: join(shots, 'query-history.png') });
  // Back to the first query from the history.
  await page.locator('.history-list .history-item', { hasText: 'prometheus_build_info' }).first().click();
  await page.locator('.result-table tbody tr', { hasText: 'prometheus_build_info{' }).first().waitFor({ timeout: 15_000 });
  step('format, annotations and history checked');

  // The metrics explorer lists names with their metadata; Enter picks the first match.
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Backspace');
  await page.getByRole('button', { name: 'Metrics' }).first().click();
  const explorerFilter = page.getByLabel('Filter metric names');
  await explorerFilter.fill('build_info');
  await page.locator('.explorer-item', { hasText: 'prometheus_build_info' }).first().waitFor({ timeout: 10_000 });
  const help = await page.locator('.explorer-item', { hasText: 'prometheus_build_info' }).first().textContent();
  check(/gauge/.test(help) && /version/.test(help), `explorer entry without metadata: ${help}`);
  await page.screenshot({ path: join(shots, 'query-metrics-explorer.png') });
  await explorerFilter.press('Enter');
  await page.waitForFunction(() => document.querySelector('.cm-content').textContent === 'prometheus_build_info', null, { timeout: 5_000 });
  check((await page.locator('dialog.explorer').count()) === 0, 'the explorer stayed open');
  step('metrics explorer checked');
  // The graph tab draws it. The line needs several self-scrapes inside the last minute: on a
  // busy machine the browser can get here a second or two after the first one.
  await waitFor('five self-scrapes', async () => {
    const q = encodeURIComponent('count_over_time(prometheus_build_info[1m])');
    const j = await (await fetch(`${base}/api/v1/query?query=${q}`, { headers: { Authorization: auth } })).json();
    return j.data.result.some((s) => Number(s.value[1]) >= 5);
  });
  await page.getByRole('tab', { name: 'Graph' }).first().click();
  // The last minute at 1 s resolution: the self-scrape's few seconds make a line.
  await page.locator('input[aria-label="Range"]').fill('1m');
  await page.locator('input[aria-label="Range"]').press('Enter');
  await page.waitForFunction(() => document.querySelector('.graph') && location.search.includes('range_input=1m'));
  const legend = page.locator('.graph .u-legend .u-series', { hasText: 'prometheus_build_info' }).first();
  await legend.waitFor({ timeout: 15_000 });
  const countLinePixels = () => {
    const canvas = document.querySelector('.graph canvas');
    const g = canvas.getContext('2d');
    const { data } = g.getImageData(0, 0, canvas.width, canvas.height);
    // Pixels in the first series' colour (#3b82f6), give or take anti-aliasing.
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - 0x3b) < 30 && Math.abs(data[i + 1] - 0x82) < 30 && Math.abs(data[i + 2] - 0xf6) < 30 && data[i + 3] > 100) n++;
    }
    return n;
  };
  // uPlot draws on an animation frame after the legend appears: give it a moment.
  await page.waitForFunction(`(${countLinePixels})() > 50`, null, { timeout: 5_000, polling: 100 }).catch(() => {});
  const drawn = await page.evaluate(countLinePixels);
  check(drawn > 50, `the series line is not drawn (${drawn} pixels of its colour)`);
  await page.screenshot({ path: join(shots, 'query-graph.png') });

  // A second panel from the address reproduces the view on reload.
  const rangeQueries = [];
  const countRangeQueries = (r) => r.url().includes('/api/v1/query_range') && rangeQueries.push(r.url());
  page.on('request', countRangeQueries);
  await page.reload();
  await page.locator('.graph .u-legend .u-series', { hasText: 'prometheus_build_info' }).first().waitFor({ timeout: 15_000 });
  page.off('request', countRangeQueries);
  check(rangeQueries.length === 1, `loading the page ran its query ${rangeQueries.length} times`);
  // The legend's rows are toggles that say whether their series is shown.
  const legendRow = page.locator('.graph .u-legend .u-series[role="button"]').first();
  check((await legendRow.getAttribute('aria-pressed')) === 'true', 'legend row not pressed');
  await legendRow.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('.graph .u-legend .u-series[role="button"]').getAttribute('aria-pressed') === 'false');
  await page.keyboard.press('Enter');

  step('graph checked');

  // A native histogram: bucket bars in the table tab, a heatmap in the graph tab.
  await page.goto(`${base}/query?g0.expr=ui_latency_seconds&g0.tab=table`);
  const bars = page.locator('.result-table .histogram-bars .histogram-bar');
  await bars.first().waitFor({ timeout: 15_000 });
  check((await bars.count()) === BUCKET_SHARES.length, `bucket bars: ${await bars.count()}`);
  const summary = await page.locator('.result-table .histogram-summary').first().textContent();
  check(/count: \d+ sum: [\d.]+/.test(summary), `histogram summary: ${summary}`);
  // The tallest bar is the middle bucket, (4, 8], and each says its bucket and count.
  const heights = await bars.evaluateAll((els) => els.map((e) => e.firstElementChild.getBoundingClientRect().height));
  check(heights.indexOf(Math.max(...heights)) === 2 && heights[0] < heights[1], `bar heights: ${heights}`);
  const title = await bars.nth(2).getAttribute('title');
  check(/^\(4, 8\]: \d+$/.test(title), `bar title: ${title}`);
  await page.screenshot({ path: join(shots, 'query-histogram-table.png') });
  await page.goto(`${base}/query?g0.expr=${encodeURIComponent('rate(ui_latency_seconds[30s])')}&g0.tab=graph&g0.range_input=1m`);
  const heat = page.locator('.heatmap canvas');
  await heat.waitFor({ timeout: 15_000 });
  const caption = await page.locator('.heatmap figcaption').textContent();
  check(caption.includes('job="histograms"'), `heatmap caption: ${caption}`);
  // The canvas is painted once the range query answers (and a rate needs two scrapes):
  // polled for a while rather than read once.
  const painted = () =>
    heat.evaluate((canvas) => {
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
      return n;
    });
  let shaded = await painted();
  for (let tries = 0; shaded <= 500 && tries < 20; tries++) {
    await page.waitForTimeout(500);
    if (tries % 4 === 3) {
      // Ask again: the first answer may have come before the second scrape.
      await page.reload();
      await heat.waitFor({ timeout: 15_000 });
    }
    shaded = await painted();
  }
  check(shaded > 500, `the heatmap is blank (${shaded} painted pixels)`);
  // Hovering the right edge, halfway up, names the time, a bucket and its count.
  const box = await heat.boundingBox();
  await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
  const tip = await page.locator('.heatmap-tip').textContent();
  check(/\(\d+, \d+\]: [\d.e+-]+/.test(tip), `heatmap tip: ${tip}`);
  await page.screenshot({ path: join(shots, 'query-histogram-heatmap.png') });
  step('histograms checked');
  // Targets: the scraped target is up.
  await page.goto(`${base}/targets`);
  await page.locator('tr.target-row[data-health="up"]').first().waitFor({ timeout: 20_000 });
  await page.screenshot({ path: join(shots, 'targets.png'), fullPage: true });

  // Alerts: grouped by rule, state filters, labels and annotations, active since.
  await page.goto(`${base}/alerts`);
  const firingRule = page.locator('details.alert-rule[data-rule="AlwaysFiring"][data-state="firing"]');
  await firingRule.waitFor({ timeout: 20_000 });
  await page.locator('details.alert-rule[data-rule="PendingForever"][data-state="pending"]').waitFor({ timeout: 20_000 });
  await firingRule.locator('summary').click();
  const firingRow = firingRule.locator('tr.alert-row[data-state="firing"]').first();
  await firingRow.waitFor();
  const firingText = await firingRow.textContent();
  check(firingText.includes('alertname="AlwaysFiring"') && firingText.includes('severity="page"'), `firing alert row: ${firingText}`);
  check(/ago/.test(firingText), `no active-since time: ${firingText}`);
  await page.locator('#alerts-annotations').check();
  await page.waitForFunction(() => /Target 127\.0\.0\.1:\d+ is up \(1\)/.test(document.querySelector('tr.annotations-row')?.textContent || ''), null, { timeout: 20_000 });
  await page.screenshot({ path: join(shots, 'alerts.png'), fullPage: true });
  await page.locator('.segmented button[data-state="firing"]').click();
  await page.waitForFunction(() => location.search.includes('state=firing') && !document.querySelector('details.alert-rule[data-rule="PendingForever"]'));
  check((await page.locator('details.alert-rule[data-rule="AlwaysFiring"]').count()) === 1, 'the firing filter hid the firing rule');
  await page.reload();
  await firingRule.waitFor({ timeout: 20_000 });
  check((await page.locator('details.alert-rule[data-rule="PendingForever"]').count()) === 0, 'the state filter was not kept in the address');
  step('/alerts checked');

  // Rules: health, last error, evaluation time.
  await page.goto(`${base}/rules`);
  const failing = page.locator('tr.rule-row[data-rule="dup_names"][data-health="err"]');
  await failing.waitFor({ timeout: 20_000 });
  const failingText = await failing.textContent();
  check(/same labelset/.test(failingText), `the failing rule shows no error: ${failingText}`);
  const recording = page.locator('tr.rule-row[data-rule="job:up:sum"][data-health="ok"]');
  await recording.waitFor({ timeout: 20_000 });
  const recordingText = await recording.textContent();
  check(/ago/.test(recordingText) && /\d(\.\d+)?(ms|s)$/.test(recordingText.trim()), `recording rule row: ${recordingText}`);
  await page.screenshot({ path: join(shots, 'rules.png'), fullPage: true });
  await page.locator('.segmented button[data-health="err"]').click();
  await page.waitForFunction(() => document.querySelectorAll('tr.rule-row').length === 1);
  step('/rules checked');

  for (const [path, name] of [
    ['/service-discovery', 'service-discovery'],
    ['/status', 'status'],
    ['/flags', 'flags'],
    ['/config', 'config'],
    ['/tsdb-status', 'tsdb-status'],
  ]) {
    const r = await page.goto(`${base}${path}`);
    check(r.status() === 200, `${path} answered ${r.status()}`);
    await page.locator('h1').first().waitFor();
    await page.waitForFunction(() => !document.querySelector('main').textContent.includes('Loading'), null, { timeout: 15_000 });
    step(`${path} checked`);
    const shown = await page.locator('.alert.error:not(.sd-failing)').allTextContents();
    if (path === '/service-discovery') {
      // The failing mechanism, under its pool, with the refused connection.
      const failing = page.locator('section.pool[data-pool="failing-sd"] .sd-failing');
      await failing.waitFor({ timeout: 15_000 });
      const text = await failing.textContent();
      check(/http: refresh: .*(refused|connect)/i.test(text), `failing discovery on /service-discovery: ${text}`);
      const others = await page.locator('section.pool:not([data-pool="failing-sd"]) .sd-failing').count();
      check(others === 0, `${others} healthy pools shown as failing`);
    }
    check(shown.length === 0, `${path} shows an error: ${shown.join(' | ')}`);
    if (path === '/status') {
      // The rule file and the Alertmanager the configuration names.
      const files = await page.locator('#status-rule-files tbody tr').allTextContents();
      check(files.length === 1 && /rules\.yml/.test(files[0]) && /2.*4/.test(files[0]), `rule files on /status: ${files.join(' | ')}`);
      const ams = await page.locator('#status-alertmanagers tbody tr').allTextContents();
      check(ams.length === 1 && ams[0].includes('http://127.0.0.1:1/api/v2/alerts') && /active/.test(ams[0]), `Alertmanagers on /status: ${ams.join(' | ')}`);
      const queues = await page.locator('#status-remote-write tbody tr[data-remote]').allTextContents();
      const errors = await page.locator('#status-remote-write tbody tr[data-error-of]').allTextContents();
      check(
        queues.length === 1 && queues[0].includes('nowhere') && queues[0].includes('http://127.0.0.1:1/api/v1/write') && /failing/.test(queues[0]),
        `remote write on /status: ${queues.join(' | ')}`,
      );
      check(errors.length === 1 && /refused|connect/i.test(errors[0]), `remote write error on /status: ${errors.join(' | ')}`);
    }
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  }

  step('targets checked');
  // Dark theme, and a phone-sized screen.
  await page.goto(`${base}/query?g0.expr=up&g0.tab=graph&g0.range_input=5m`);
  await page.locator('.theme-toggle').click();
  await page.locator('.graph canvas').first().waitFor({ timeout: 15_000 });
  await page.screenshot({ path: join(shots, 'query-dark.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/query?g0.expr=up&g0.tab=table`);
  await page.locator('.result-table tbody tr').first().waitFor({ timeout: 15_000 });
  await page.screenshot({ path: join(shots, 'query-phone.png'), fullPage: true });

  check(errors.length === 0, `console errors:\n${errors.join('\n')}`);
  await browser.close();
  console.log(`ui e2e: ok (screenshots in ${shots})`);
}

main()
  .then(() => {
    cleanup();
    process.exit(0);
  })
  .catch(async (e) => {
    let serverLog = '';
    try {
      serverLog = readFileSync(join(dir, 'server.log'), 'utf8').split('\n').slice(-30).join('\n');
    } catch {}
    try {
      await browser?.close();
    } catch {}
    fail(`${e.stack || e}\n--- server log (tail) ---\n${serverLog}`);
  });
