#!/usr/bin/env node
// The dashboard (GET /) in a real browser: Debian's headless Chromium, driven by playwright-core
// (pinned in package-lock.json; `make test` runs `npm ci` here and installs chromium).
//
// Starts its own segmentd on an embedded PostgreSQL in a temporary directory, bound to
// 127.0.0.1 on a free port, after `segmentd demo --customers 5000` filled the `demo` workspace;
// a small webhook receiver (also on 127.0.0.1) lets a scheduled campaign deliver, so the
// campaigns table has counts. Then it checks, against the API fetched by the test itself:
//   - the page and its files: headers (CSP, nosniff, no-cache, ETag, types), no key needed;
//   - the page loads with no console error and no CSP violation;
//   - the heat map's numbers equal GET /v1/segments, for b2c and after switching to b2b;
//   - KPIs, dynamics and flows show their data, or a clear "not available" panel on a 404;
//   - a cell's customer list pages (the next page differs, and both equal the API's pages);
//   - the CSV download holds the segment (rows = customers of the monetary filter / the cell);
//   - the campaigns table shows the delivery counts of the API;
//   - a wrong key, and a key that may not choose a workspace, get "This key was refused";
//   - "forget key" forgets it;
// and saves screenshots at desktop (1280×800) and phone (390×844) widths in screenshots/
// (the desktop one also goes to docs/dashboard.png when that is missing, or with
// UPDATE_SCREENSHOTS=1). The server is stopped with SIGTERM and everything removed on exit.
//
// Env: SEGMENTD_BINARY (required: the segmentd to test), CHROMIUM (default /usr/bin/chromium),
// KEEP_TMP=1 keeps the temporary directory (logs) for a post-mortem.
'use strict';

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const BINARY = process.env.SEGMENTD_BINARY;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ADMIN_KEY = 'browser-test-admin-key';
const SHOTS = path.join(__dirname, 'screenshots');
const OPTIONAL = ['/v1/kpis', '/v1/kpi-targets', '/v1/segments/history', '/v1/segments/flows'];
const PAGE_SIZE = 25;

let tmp = null;
let server = null;
let receiver = null;
let browser = null;
let passed = 0;
let failed = 0;

const t0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

async function step(name, fn) {
  try {
    await fn();
    passed++;
    log(`ok - ${name}`);
  } catch (err) {
    failed++;
    log(`not ok - ${name}\n${err && err.stack ? err.stack : err}`);
  }
}

/* ---- the server ---- */

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// segmentd refuses unknown SEGMENTD_* variables (SEGMENTD_BINARY is ours), and a DATABASE_URL
// from the caller's shell would send the demo into a real database: both are left out.
function serverEnv(port) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SEGMENTD_') && k !== 'DATABASE_URL') env[k] = v;
  }
  return Object.assign(env, {
    SEGMENTD_DATABASE_EMBEDDED_DIR: path.join(tmp, 'pg'),
    SEGMENTD_HTTP_BIND: '127.0.0.1',
    SEGMENTD_HTTP_PORT: String(port),
    SEGMENTD_ADMIN_KEY: ADMIN_KEY,
    SEGMENTD_LOG_LEVEL: 'warn',
    SEGMENTD_SCHEDULER_INTERVAL: '1s',
    SEGMENTD_WEBHOOKS_ALLOW_PRIVATE: 'true', // the receiver below is on 127.0.0.1
  });
}

const CONFIG = path.join(ROOT, 'config', 'segmentd.ini');

function fillDemo(env) {
  const r = spawnSync(BINARY, ['--config', CONFIG, 'demo', '--customers', '5000'], {
    env, encoding: 'utf8', timeout: 300000, stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) {
    throw new Error(`segmentd demo failed (${r.status} ${r.signal || ''}):\n${r.stdout}\n${r.stderr}`);
  }
  log(r.stdout.trim().split('\n')[0]);
}

async function startServer(env, base) {
  const out = fs.openSync(path.join(tmp, 'segmentd.log'), 'a');
  server = spawn(BINARY, ['--config', CONFIG], { env, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exited = null;
  server.once('exit', (code, sig) => { exited = `${code} ${sig || ''}`; });
  for (let i = 0; i < 1200; i++) {
    if (exited) throw new Error(`segmentd exited during start-up (${exited}):\n${serverLog()}`);
    try {
      const r = await fetch(base + '/readyz');
      if (r.status === 200) return;
    } catch (e) { /* not listening yet */ }
    await sleep(100);
  }
  throw new Error('segmentd was not ready after 120 s:\n' + serverLog());
}

function serverLog() {
  try {
    return fs.readFileSync(path.join(tmp, 'segmentd.log'), 'utf8').split('\n').slice(-30).join('\n');
  } catch (e) {
    return '';
  }
}

async function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return null;
  const done = new Promise((resolve) => server.once('exit', (code, sig) => resolve({ code, sig })));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 60000);
  const r = await done;
  clearTimeout(timer);
  return r;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* ---- the API, as the test sees it ---- */

function apiClient(base) {
  return async function api(method, p, body, extra) {
    const headers = Object.assign({
      Authorization: `Bearer ${ADMIN_KEY}`, 'Segmentd-Workspace': 'demo',
    }, extra || {});
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(base + p, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) { json = null; }
    return { status: r.status, json, text, headers: r.headers };
  };
}

// A CSV's records (RFC 4180: quoted fields may hold commas, quotes and line breaks).
function csvRecords(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += ch;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/* ---- the page ---- */

// Console errors that are not failures: an optional endpoint an older server lacks (the panel
// says "not available"), which Chromium reports as a failed resource load.
function unexpectedConsole(messages) {
  return messages.filter((m) => {
    if (!/Failed to load resource: .*404/.test(m.text)) return true;
    try {
      return !OPTIONAL.includes(new URL(m.url).pathname);
    } catch (e) {
      return true;
    }
  });
}

async function newPage(context) {
  const page = await context.newPage();
  page.consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.consoleErrors.push({ text: m.text(), url: m.location().url });
  });
  page.on('pageerror', (e) => page.consoleErrors.push({ text: 'uncaught: ' + e.message, url: '' }));
  return page;
}

async function connect(page, key, workspace) {
  await page.fill('#key', key);
  await page.fill('#workspace', workspace || '');
  await page.click('#connect-btn');
}

const panelSettled = (id) => `#${id}:not([data-state="loading"]):not([data-state="idle"])`;

async function waitSettled(page) {
  for (const id of ['matrix', 'kpis', 'dynamics', 'flows', 'campaigns']) {
    await page.waitForSelector(panelSettled(id), { timeout: 30000 });
  }
  await page.waitForFunction(() =>
    ![...document.querySelectorAll('#campaigns td.count')].some((td) => td.textContent === '…'),
  null, { timeout: 30000 });
}

async function heatCells(page, kind) {
  await page.waitForSelector(`#matrix[data-state="ready"][data-kind="${kind}"]`, { timeout: 30000 });
  return page.$$eval('#matrix .cell[data-key]', (els) => els.map((e) => ({
    key: e.dataset.key,
    customers: Number(e.dataset.customers),
    share: Number(e.dataset.share),
    revenue: e.dataset.revenue,
    shown: e.querySelector('.cell-customers').textContent,
    shownShare: e.querySelector('.cell-share').textContent,
    pressed: e.getAttribute('aria-pressed'),
  })));
}

// The heat map equals the report. Customers can move cells as time passes (the scheduler), so a
// mismatch is retried with a fresh report and a refresh of the page.
async function expectHeatMatches(page, api, kind) {
  let lastErr = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const rep = (await api('GET', `/v1/segments?kind=${kind}`)).json;
    const cells = await heatCells(page, kind);
    try {
      assert.equal(cells.length, rep.cells.length, 'one button per cell');
      for (const c of rep.cells) {
        const shown = cells.find((x) => x.key === c.key);
        assert.ok(shown, `cell ${c.key} shown`);
        assert.equal(shown.customers, c.customers, `${c.key} customers`);
        assert.equal(Number(shown.shown.replace(/[^\d]/g, '')), c.customers, `${c.key} text`);
        assert.ok(Math.abs(shown.share - c.share) < 1e-9, `${c.key} share`);
        assert.ok(Math.abs(parseFloat(shown.shownShare) - c.share * 100) <= 0.051,
          `${c.key} share text ${shown.shownShare} vs ${c.share}`);
        assert.equal(shown.revenue, c.revenue, `${c.key} revenue`);
      }
      return rep;
    } catch (err) {
      lastErr = err;
      await page.click('#refresh');
      await sleep(500);
    }
  }
  throw lastErr;
}

/* ---- main ---- */

async function main() {
  assert.ok(BINARY, 'SEGMENTD_BINARY must name the segmentd binary to test');
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`make browser-deps\` ` +
    '(Debian packages chromium and chromium-driver)');
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    throw new Error('playwright-core is missing: run `npm ci` in tests/browser (make browser-deps)');
  }

  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sdbrowser-'));
  fs.chmodSync(tmp, 0o755); // as root the cluster runs as the postgres user, who must get in
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = serverEnv(port);
  const api = apiClient(base);

  log('filling the demo shop (5000 customers)…');
  fillDemo(env);
  await startServer(env, base);
  log(`segmentd ready on ${base}`);

  // A webhook receiver answering 204, and two campaigns: one scheduled (it delivers at once to
  // everyone in its cell), one on entering (no delivery yet).
  let hooks = 0;
  receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => { hooks++; res.writeHead(204); res.end(); });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${receiver.address().port}/hooks`;
  for (const c of [
    { name: 'Weekly nudge to promising sleepers', kind: 'b2c', cells: ['promising/sleeping'],
      trigger: { type: 'schedule', every: '7d' }, channel: 'email', webhook_url: hookUrl + '/a' },
    { name: 'Win back regulars', kind: 'b2c', cells: ['regular/sleeping', 'regular/asleep'],
      trigger: { type: 'enter' }, channel: 'call', webhook_url: hookUrl + '/b' },
  ]) {
    const r = await api('POST', '/v1/campaigns', c);
    assert.equal(r.status, 201, `campaign created: ${r.text}`);
  }

  await step('GET /, /app.js, /app.css: no key, right types, strict headers', async () => {
    for (const [p, type] of [['/', 'text/html'], ['/app.js', 'text/javascript'],
      ['/app.css', 'text/css']]) {
      const r = await fetch(base + p);
      assert.equal(r.status, 200, p);
      assert.ok(r.headers.get('content-type').startsWith(type), `${p} content-type`);
      assert.equal(r.headers.get('cache-control'), 'no-cache', `${p} cache-control`);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', `${p} nosniff`);
      assert.match(r.headers.get('etag') || '', /^"[0-9a-f]{16}"$/, `${p} etag`);
      const csp = r.headers.get('content-security-policy') || '';
      assert.ok(csp.startsWith("default-src 'self'; img-src 'self' data:; style-src 'self'; " +
        "script-src 'self'; connect-src 'self'"), `${p} csp: ${csp}`);
      const body = await r.text();
      assert.ok(body.length > 500, `${p} has a body`);
      if (p === '/') {
        assert.ok(!/<script>|<script [^>]*>[^<]/.test(body), 'no inline script');
        assert.ok(!/<style|style="/.test(body), 'no inline style');
      }
    }
  });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const desktop = await browser.newContext({
    viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: 'UTC', acceptDownloads: true,
  });
  const page = await newPage(desktop);

  await step('the page loads without a key and asks for one', async () => {
    await page.goto(base + '/');
    await page.waitForSelector('#matrix[data-state="idle"]');
    const text = await page.textContent('#matrix');
    assert.match(text, /Enter an API key/);
  });

  let b2c;
  await step('the heat map equals GET /v1/segments (b2c)', async () => {
    await connect(page, ADMIN_KEY, 'demo');
    b2c = await expectHeatMatches(page, api, 'b2c');
    assert.ok(b2c.total_customers > 0, 'the demo has b2c customers');
    const gauge = await page.textContent('#active-share');
    assert.match(gauge, /Active share/);
  });

  await step('KPIs, dynamics and flows show data, or "not available" on a 404', async () => {
    await waitSettled(page);
    const checks = [
      ['kpis', '/v1/kpis?kind=b2c'], ['dynamics', '/v1/segments/history?kind=b2c'],
      ['flows', '/v1/segments/flows?kind=b2c'],
    ];
    for (const [id, p] of checks) {
      const r = await api('GET', p);
      const state = await page.getAttribute(`#${id}`, 'data-state');
      if (r.status === 404) {
        assert.equal(state, 'unavailable', `${id} with a 404`);
        assert.match(await page.textContent(`#${id}`), /Not available/);
      } else {
        assert.equal(r.status, 200, `${p}: ${r.text}`);
        assert.ok(['ready', 'empty'].includes(state), `${id} state ${state}`);
      }
      log(`  ${id}: ${state}`);
    }
    if ((await page.getAttribute('#kpis', 'data-state')) === 'ready') {
      const labels = await page.$$eval('#kpis .kpi', (els) => els.map((e) => e.dataset.kpi));
      assert.ok(labels.includes('orders') && labels.includes('retention_rate'), labels.join());
    }
    if ((await page.getAttribute('#dynamics', 'data-state')) === 'ready') {
      assert.ok(await page.$('#dynamics svg polygon, #dynamics svg rect'), 'a stacked chart');
    }
  });

  await step('the page has no console error and no CSP violation', async () => {
    const bad = unexpectedConsole(page.consoleErrors);
    assert.deepEqual(bad, [], JSON.stringify(bad, null, 1));
  });

  await step('switching kind shows b2b\'s figures', async () => {
    await page.click('button.kind[data-kind="b2b"]');
    const b2b = await expectHeatMatches(page, api, 'b2b');
    const pressed = await page.getAttribute('button.kind[data-kind="b2b"]', 'aria-pressed');
    assert.equal(pressed, 'true');
    const same = b2b.cells.every((c) => {
      const o = b2c.cells.find((x) => x.key === c.key);
      return o && o.customers === c.customers;
    });
    assert.ok(!same, 'b2b figures differ from b2c');
    await page.click('button.kind[data-kind="b2c"]');
    b2c = await expectHeatMatches(page, api, 'b2c');
  });

  let cell;
  await step('a cell\'s customer list pages (the next page differs, both equal the API)', async () => {
    cell = b2c.cells.filter((c) => c.customers > 2 * PAGE_SIZE).sort((a, b) =>
      b.customers - a.customers)[0];
    assert.ok(cell, 'a cell with more than two pages');
    await page.focus(`.cell[data-key="${cell.key}"]`);
    await page.keyboard.press('Enter'); // cells are buttons: the keyboard selects them
    assert.equal(await page.getAttribute(`.cell[data-key="${cell.key}"]`, 'aria-pressed'), 'true');
    await page.waitForSelector('#customers[data-state="ready"]');
    const ids = () => page.$$eval('#customers tbody tr', (rs) => rs.map((r) => r.dataset.id));
    const p1 = await ids();
    const cellPath = `/v1/segments/${cell.frequency}/${cell.recency}/customers?kind=b2c&limit=${PAGE_SIZE}`;
    const a1 = (await api('GET', cellPath)).json;
    assert.deepEqual(p1, a1.items.map((i) => i.customer_id), 'page 1 = the API\'s');
    assert.ok(a1.next, 'the API has a next page');
    assert.match(await page.textContent('#page'), /Page 1/);
    await page.click('#next');
    await page.waitForFunction(() => /Page 2/.test(document.querySelector('#page').textContent) &&
      document.querySelector('#customers').dataset.state === 'ready');
    const p2 = await ids();
    assert.equal(p2.length, PAGE_SIZE);
    assert.ok(p2.every((id) => !p1.includes(id)), 'page 2 differs from page 1');
    const a2 = (await api('GET', `${cellPath}&after=${encodeURIComponent(a1.next)}`)).json;
    assert.deepEqual(p2, a2.items.map((i) => i.customer_id), 'page 2 = the API\'s');
    await page.click('#prev');
    await page.waitForFunction(() => /Page 1/.test(document.querySelector('#page').textContent) &&
      document.querySelector('#customers').dataset.state === 'ready');
    assert.deepEqual(await ids(), p1, 'back to page 1');
  });

  async function downloadCount(expectFn) {
    let lastErr = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }),
        page.click('#csv')]);
      const file = path.join(tmp, `dl-${Date.now()}.csv`);
      await dl.saveAs(file);
      const rows = csvRecords(fs.readFileSync(file, 'utf8'));
      try {
        assert.deepEqual(rows[0].slice(0, 2), ['customer_id', 'name'], 'the CSV header');
        await expectFn(rows.length - 1, dl.suggestedFilename());
        return;
      } catch (err) {
        lastErr = err; // a customer may have moved meanwhile: try again
        await page.waitForFunction(() => !document.querySelector('#csv').disabled);
      }
    }
    throw lastErr;
  }

  await step('the CSV download holds the segment (monetary filter, then the whole cell)', async () => {
    const fresh = async () => (await api('GET', '/v1/segments?kind=b2c')).json.cells
      .find((c) => c.key === cell.key);
    const label = Object.entries(cell.monetary).sort((a, b) => b[1].customers - a[1].customers)[0][0];
    await page.selectOption('#monetary', label);
    await page.waitForSelector('#customers[data-state="ready"]');
    await downloadCount(async (n, name) => {
      assert.equal(n, (await fresh()).monetary[label].customers, `rows of ${label}`);
      assert.equal(name, `b2c-${cell.frequency}-${cell.recency}-${label}.csv`);
    });
    await page.selectOption('#monetary', '');
    await page.waitForSelector('#customers[data-state="ready"]');
    await downloadCount(async (n) => assert.equal(n, (await fresh()).customers, 'rows of the cell'));
    await page.waitForFunction(() => /Saved/.test(document.querySelector('#csv-status').textContent));
  });

  await step('the campaigns table shows the API\'s delivery counts', async () => {
    const list = (await api('GET', '/v1/campaigns')).json.items;
    const scheduled = list.find((c) => c.trigger.type === 'schedule');
    for (let i = 0; i < 150; i++) { // the scheduler runs every second here
      const r = await api('GET', `/v1/campaigns/${scheduled.id}/deliveries?status=delivered&limit=500`);
      if (r.json.deliveries.length > 0) break;
      await sleep(200);
    }
    await sleep(1500); // let the dispatcher drain its batch
    await page.click('#refresh');
    await waitSettled(page);
    const shown = await page.$$eval('#campaigns tbody tr', (rs) => rs.map((r) => ({
      id: r.dataset.id,
      counts: Object.fromEntries([...r.querySelectorAll('td.count')].map((td) =>
        [td.dataset.status, td.textContent])),
    })));
    assert.equal(shown.length, list.length, 'one row per campaign');
    let anyDelivered = false;
    for (const row of shown) {
      for (const st of ['delivered', 'dead', 'suppressed']) { // states that do not move back
        const r = await api('GET', `/v1/campaigns/${row.id}/deliveries?status=${st}&limit=500`);
        const want = r.json.next_cursor ? `${r.json.deliveries.length}+` : String(r.json.deliveries.length);
        const got = row.counts[st].replace(/,/g, '');
        if (st === 'delivered') {
          // deliveries may still be finishing: the page saw at most what the API sees now
          assert.ok(Number(got.replace('+', '')) <= Number(want.replace('+', '')), `${st}: ${got} vs ${want}`);
          anyDelivered = anyDelivered || Number(got.replace('+', '')) > 0;
        } else {
          assert.equal(got, want, `campaign ${row.id} ${st}`);
        }
      }
    }
    assert.ok(anyDelivered, `some deliveries shown (receiver got ${hooks})`);
  });

  await step('desktop screenshot (1280×800)', async () => {
    await page.click('#refresh');
    await waitSettled(page);
    await page.waitForSelector('#customers[data-state="ready"]');
    await page.mouse.move(0, 0);
    fs.mkdirSync(SHOTS, { recursive: true });
    const file = path.join(SHOTS, 'desktop.png');
    await page.screenshot({ path: file, fullPage: true });
    const docs = path.join(ROOT, 'docs', 'dashboard.png');
    if (!fs.existsSync(docs) || process.env.UPDATE_SCREENSHOTS === '1') {
      fs.mkdirSync(path.dirname(docs), { recursive: true });
      fs.copyFileSync(file, docs);
      log(`  copied to ${docs}`);
    }
  });

  await step('phone screenshot (390×844): one column, no horizontal scroll', async () => {
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 }, locale: 'en-US', timezoneId: 'UTC', isMobile: true,
      hasTouch: true, deviceScaleFactor: 2,
    });
    const p = await newPage(phone);
    await p.goto(base + '/');
    await connect(p, ADMIN_KEY, 'demo');
    await heatCells(p, 'b2c');
    await waitSettled(p);
    await p.click(`.cell[data-key="${cell.key}"]`);
    await p.waitForSelector('#customers[data-state="ready"]');
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `page width ${width} px at a 390 px viewport`);
    await p.screenshot({ path: path.join(SHOTS, 'phone.png'), fullPage: true });
    const bad = unexpectedConsole(p.consoleErrors);
    assert.deepEqual(bad, [], JSON.stringify(bad, null, 1));
    await phone.close();
  });

  await step('a wrong key gets "This key was refused"', async () => {
    const ctx = await browser.newContext({ locale: 'en-US' });
    const p = await newPage(ctx);
    await p.goto(base + '/');
    await connect(p, 'not-a-key', '');
    await p.waitForSelector('#banner[data-kind="error"]');
    assert.match(await p.textContent('#banner'), /This key was refused.*401/);
    assert.notEqual(await p.getAttribute('#matrix', 'data-state'), 'ready');
    await ctx.close();
  });

  await step('a read key works in its own workspace, and is refused another one (403)', async () => {
    const k = await api('POST', '/v1/keys', { name: 'dashboard', scopes: ['read'] });
    assert.equal(k.status, 201, k.text);
    const ctx = await browser.newContext({ locale: 'en-US' });
    const p = await newPage(ctx);
    await p.goto(base + '/');
    await connect(p, k.json.key, '');
    await expectHeatMatches(p, api, 'b2c');
    await connect(p, k.json.key, 'demo'); // only the bootstrap key may choose a workspace
    await p.waitForSelector('#banner[data-kind="error"]');
    assert.match(await p.textContent('#banner'), /This key was refused.*403/);
    await ctx.close();
  });

  // The states a healthy server never shows, staged in the browser: the page's own handling.
  await step('database down (503), network error and a missing endpoint (404) are explained', async () => {
    const ctx = await browser.newContext({ locale: 'en-US' });
    const p = await newPage(ctx);
    const report = (r) => new URL(r).pathname === '/v1/segments';
    await p.route(report, (r) => r.fulfill({
      status: 503, contentType: 'application/problem+json', headers: { 'Retry-After': '1' },
      body: JSON.stringify({ type: 'about:blank', title: 'Service Unavailable', status: 503,
        detail: 'The database is unreachable.' }),
    }));
    await p.route((u) => new URL(u).pathname === '/v1/kpis', (r) => r.fulfill({
      status: 404, contentType: 'application/problem+json',
      body: JSON.stringify({ title: 'Not Found', status: 404 }),
    }));
    await p.goto(base + '/');
    await connect(p, ADMIN_KEY, 'demo');
    await p.waitForSelector('#banner[data-kind="warn"]');
    assert.match(await p.textContent('#banner'), /The database is unreachable, retrying/);
    await p.unroute(report);
    await p.route(report, (r) => r.abort('connectionrefused'));
    await p.waitForFunction(() => /network error/.test(document.querySelector('#banner').textContent),
      null, { timeout: 15000 });
    await p.unroute(report); // the server is back: the page recovers by itself
    await p.waitForSelector('#matrix[data-state="ready"]', { timeout: 30000 });
    await p.waitForSelector('#banner', { state: 'hidden' });
    await p.waitForSelector('#kpis[data-state="unavailable"]');
    assert.match(await p.textContent('#kpis'), /Not available.*GET \/v1\/kpis/s);
    await ctx.close();
  });

  await step('"forget key" forgets it', async () => {
    await page.click('#forget');
    await page.waitForSelector('#matrix[data-state="idle"]');
    const stored = await page.evaluate(() => sessionStorage.getItem('segmentd.key'));
    assert.equal(stored, null);
    assert.equal(await page.inputValue('#key'), '');
    await page.reload();
    await page.waitForSelector('#matrix[data-state="idle"]');
  });
}

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  browser = null;
  if (receiver) receiver.close();
  receiver = null;
  const r = await stopServer();
  if (r) log(`segmentd stopped: exit ${r.code}${r.sig ? ' ' + r.sig : ''}`);
  if (tmp && process.env.KEEP_TMP !== '1') {
    // the embedded cluster is stopped by segmentd on SIGTERM; after a SIGKILL it may linger
    const pid = path.join(tmp, 'pg', 'data', 'postmaster.pid');
    if (fs.existsSync(pid)) {
      const n = Number(fs.readFileSync(pid, 'utf8').split('\n')[0]);
      try { if (n > 0) process.kill(n, 'SIGINT'); } catch (e) { /* gone */ }
      await sleep(2000);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  } else if (tmp) {
    log(`kept ${tmp}`);
  }
  tmp = null;
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    cleanup().finally(() => process.exit(1));
  });
}

main()
  .catch((err) => {
    failed++;
    log(`not ok - setup\n${err && err.stack ? err.stack : err}`);
    if (tmp) log('segmentd log:\n' + serverLog());
  })
  .then(async () => {
    if (failed && tmp) log('segmentd log (tail):\n' + serverLog());
    await cleanup();
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  });
