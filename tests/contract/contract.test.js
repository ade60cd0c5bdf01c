#!/usr/bin/env node
// The contract suite: real traffic through a Prism validating proxy in front of a real segmentd.
//
// Starts its own segmentd on an embedded PostgreSQL in a temporary directory (127.0.0.1, a free
// port), then `prism proxy openapi.yaml http://127.0.0.1:PORT --errors` on another free port of
// 127.0.0.1, and sends through the proxy valid requests for EVERY operation of openapi.yaml, plus
// the documented errors Prism lets through (401 with a wrong key, 403 wrong scope, 404 unknown
// ids, 409). Prism checks each request and each response against openapi.yaml: a request it
// refuses (4xx from Prism itself) or a response with an `sl-violations` header fails the test,
// whatever its status. Each answer that Prism passes is checked again with ajv (documented
// status and media type, body schema, response headers). At the end every operation of
// openapi.yaml must have been exercised, and every webhook body received by the test's receiver
// (enter, schedule and date triggers) must match `webhooks:` (WebhookEvent).
// Hostile input stays in the C tests: with --errors Prism refuses invalid requests itself.
//
// Env: SEGMENTD_BINARY (required), KEEP_TMP=1 keeps the temporary directory (segmentd and prism
// logs), OPENAPI=file tests another document (to check this test). Everything is stopped at the
// end (SIGTERM, then SIGKILL after 60 s).
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const YAML = require('yaml');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;

const ROOT = path.resolve(__dirname, '..', '..');
const SPEC_FILE = process.env.OPENAPI || path.join(ROOT, 'openapi.yaml'); // OPENAPI: for testing this test
const CONFIG = path.join(ROOT, 'config', 'segmentd.ini');
const BINARY = process.env.SEGMENTD_BINARY;
const PRISM = path.join(__dirname, 'node_modules', '.bin', 'prism');
const ADMIN_KEY = 'contract-test-admin-key';
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

const spec = YAML.parse(fs.readFileSync(SPEC_FILE, 'utf8'));
const t0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let tmp = null;
let server = null;
let prism = null;
let receiver = null;
let failures = 0;
let requests = 0;
const covered = new Set();  // "METHOD /template" seen with a response validated by Prism
const received = [];        // webhook bodies

function fail(msg) {
  failures++;
  log(`FAIL ${msg}`);
}

/* ---- which operation a request is ---- */

const templates = Object.keys(spec.paths).map((p) => ({
  p,
  re: new RegExp('^' + p.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+') + '$'),
  literal: p.split('/').filter((s) => !s.startsWith('{')).length,
})).sort((a, b) => b.literal - a.literal); // /v1/segments/history before /v1/segments/{f}/{r}/...

function operationOf(method, url) {
  const p = url.split('?')[0];
  for (const t of templates) {
    if (t.re.test(p) && spec.paths[t.p][method.toLowerCase()]) return `${method} ${t.p}`;
  }
  return null;
}

/* ---- processes ---- */

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

// segmentd refuses unknown SEGMENTD_* variables (SEGMENTD_BINARY is ours), and a DATABASE_URL of
// the caller's shell must not send it into a real database: both are left out.
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
    SEGMENTD_WEBHOOKS_RETRY_SCHEDULE: '1s',  // a failing endpoint is dead after 2 attempts
    SEGMENTD_WEBHOOKS_POLL_INTERVAL: '200ms',
  });
}

function tail(file) {
  try {
    return fs.readFileSync(path.join(tmp, file), 'utf8').split('\n').slice(-30).join('\n');
  } catch (e) {
    return '';
  }
}

function startProcess(cmd, args, env, logName) {
  const out = fs.openSync(path.join(tmp, logName), 'a');
  const child = spawn(cmd, args, { env, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  child.exitedWith = null;
  child.once('exit', (code, sig) => { child.exitedWith = `${code} ${sig || ''}`; });
  return child;
}

async function waitReady(child, url, logName, want) {
  for (let i = 0; i < 1200; i++) {
    if (child.exitedWith) throw new Error(`${logName} exited (${child.exitedWith}):\n${tail(logName)}`);
    try {
      const r = await fetch(url);
      if (want(r.status)) return;
    } catch (e) { /* not listening yet */ }
    await sleep(100);
  }
  throw new Error(`${url} not ready after 120 s:\n${tail(logName)}`);
}

async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return null;
  const done = new Promise((resolve) => child.once('exit', (code, sig) => resolve({ code, sig })));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
  const r = await done;
  clearTimeout(timer);
  return r;
}

/* ---- the webhook receiver: /ok/... 200, /fail/... 500 ---- */

function webhookValidator() {
  return schemaCheck(spec.webhooks.customerEvent.post.requestBody.content['application/json'].schema);
}

function startReceiver() {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body = null;
        try { body = JSON.parse(raw); } catch (e) { body = raw; }
        received.push({ path: req.url, body });
        res.writeHead(req.url.startsWith('/fail/') ? 500 : 200).end();
      });
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

/* ---- a second opinion on every answer (ajv on the documented schemas) ---- */

// Prism checks the answers; this checks them again, independently: the media type is one the
// operation documents for that status, a JSON body matches its schema, and every documented
// response header that is present matches its schema (required ones must be present).
const ajv = new Ajv2020({ strict: false, allErrors: false });
addFormats(ajv);
for (const f of ['int32', 'int64', 'double', 'float']) ajv.addFormat(f, true);
ajv.addSchema({ $id: 'openapi.json', components: spec.components });
const compiled = new Map();
function schemaCheck(schema) {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) {
    // local refs of the document resolve against it; inline schemas are wrapped
    const wrapped = JSON.parse(key.replace(/"\$ref":"#\//g, '"$ref":"openapi.json#/'));
    compiled.set(key, ajv.compile(wrapped));
  }
  return compiled.get(key);
}
const deref = (o) => (o && o.$ref
  ? deref(o.$ref.slice(2).split('/').reduce((a, k) => a[k.replace(/~1/g, '/').replace(/~0/g, '~')], spec))
  : o);

function secondOpinion(op, status, headers, text, json) {
  const [method, p] = op.split(' ');
  const responses = spec.paths[p][method.toLowerCase()].responses;
  const r = deref(responses[String(status)] || responses[`${String(status)[0]}XX`] || responses.default);
  if (!r) return `status ${status} is not documented`;
  const problems = [];
  for (const [name, h0] of Object.entries(r.headers || {})) {
    const h = deref(h0);
    const v = headers.get(name);
    if (v === null) {
      if (h.required) problems.push(`header ${name} missing`);
      continue;
    }
    if (h.schema) {
      const sch = deref(h.schema);
      const val = sch.type === 'integer' && /^-?\d+$/.test(v) ? Number(v) : v;
      const check = schemaCheck(h.schema);
      if (!check(val)) problems.push(`header ${name}: ${JSON.stringify(v)} ${check.errors[0].message}`);
    }
  }
  const ct = (headers.get('content-type') || '').split(';')[0].trim().toLowerCase();
  const content = r.content || {};
  if (Object.keys(content).length === 0) {
    if (text.length) problems.push(`a body (${ct}) where none is documented`);
    return problems.join('; ');
  }
  const media = content[ct];
  if (!media) return problems.concat(`media type ${ct || '(none)'} not in ${Object.keys(content)}`).join('; ');
  if (media.schema && /json$/.test(ct)) {
    const check = schemaCheck(media.schema);
    if (!check(json)) {
      const e = check.errors[0];
      problems.push(`body ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
    }
  }
  return problems.join('; ');
}

/* ---- requests through the proxy ---- */

let PROXY = null;

// Sends one request through Prism and checks: the status is one of `want`, Prism passed the
// request on (no Prism error document) and found nothing wrong in the answer (no sl-violations).
async function call(method, url, { body, key = ADMIN_KEY, headers = {}, want, raw, type } = {}) {
  requests++;
  const h = Object.assign({}, headers);
  if (key !== null) h.Authorization = `Bearer ${key}`;
  let payload;
  if (raw !== undefined) {
    payload = raw;
    h['Content-Type'] = type;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['Content-Type'] = 'application/json';
  }
  const r = await fetch(PROXY + url, { method, headers: h, body: payload });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
  const op = operationOf(method, url);
  const where = `${method} ${url} -> ${r.status}`;
  const wanted = Array.isArray(want) ? want : [want];
  const violations = r.headers.get('sl-violations');
  const prismError = json && typeof json.type === 'string' && json.type.includes('stoplight.io/prism');
  if (prismError) {
    fail(`${where}: Prism error (refused request or invalid response): ${json.title} ${json.detail || ''} ` +
         `${JSON.stringify(json.validation || '')}`);
  } else if (violations) {
    fail(`${where}: sl-violations: ${violations}`);
  } else if (!wanted.includes(r.status)) {
    fail(`${where}: wanted ${wanted.join('|')}: ${text.slice(0, 400)}`);
  } else if (op) {
    const second = secondOpinion(op, r.status, r.headers, text, json);
    if (second) fail(`${where}: ${second}`);
    else covered.add(op);
  }
  if (!op) fail(`${where}: no operation of openapi.yaml matches`);
  return { status: r.status, json, text, headers: r.headers };
}

async function waitFor(what, fn, seconds, soft) {
  for (let i = 0; i < seconds * 5; i++) {
    const v = await fn();
    if (v) return v;
    await sleep(200);
  }
  if (soft) log(`note: no ${what} after ${seconds} s (fewer webhook bodies checked)`);
  else fail(`timed out waiting for ${what}`);
  return null;
}

// Direct to segmentd (not through Prism): only for polling, so the polls are not counted.
let DIRECT = null;
async function direct(url) {
  const r = await fetch(DIRECT + url, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
  return r.status === 200 ? r.json() : null;
}

/* ---- the traffic ---- */

const B2B_MATRIX = {
  frequency: { bounds: [1, 5], labels: ['new', 'promising', 'regular'] },
  recency: { bounds: [90, '180d'], labels: ['active', 'sleeping', 'asleep'] },
  monetary: { bounds: [1000, '10000.00'], labels: ['low', 'mid', 'high'] },
};

async function traffic(receiverPort) {
  const WRONG = 'sdk_1_' + 'x'.repeat(43);
  const hook = (p) => `http://127.0.0.1:${receiverPort}${p}`;
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const day = (ms) => iso(ms).slice(0, 10);

  log('operations and the dashboard');
  for (const p of ['/healthz', '/readyz', '/metrics', '/openapi.yaml', '/', '/app.js', '/app.css']) {
    await call('GET', p, { key: null, want: 200 });
  }

  log('workspaces');
  await call('POST', '/v1/workspaces', { body: { name: 'brand-b', display_name: 'Brand B' }, want: 201 });
  await call('POST', '/v1/workspaces', { body: { name: 'brand-b' }, want: 409 });
  await call('GET', '/v1/workspaces', { want: 200 });
  await call('GET', '/v1/workspaces/brand-b', { want: 200 });
  await call('GET', '/v1/workspaces/nosuchshop', { want: 404 });
  // a key made inside brand-b acts there (ingest, read) without the header
  const bk = await call('POST', '/v1/keys', {
    headers: { 'Segmentd-Workspace': 'brand-b' }, body: { name: 'brand-b shop', scopes: ['ingest', 'read'] }, want: 201,
  });
  const bkey = bk.json && bk.json.key;
  await call('POST', '/v1/purchases', {
    key: bkey, body: { order_id: 'W-1', customer_id: 'w-1', amount: 5, customer: { kind: 'b2b', name: 'Acme' } }, want: 200,
  });
  await call('GET', '/v1/segments?kind=b2b', { key: bkey, headers: { 'X-Request-Id': 'contract-1' }, want: 200 });
  await call('GET', '/v1/customers/w-1', { key: bkey, want: 200 });
  await call('PUT', '/v1/matrices/b2b', { key: bkey, body: B2B_MATRIX, want: 403 });
  await call('GET', '/v1/keys', { headers: { 'Segmentd-Workspace': 'brand-b' }, want: 200 });
  await call('PATCH', '/v1/workspaces/brand-b', { body: { display_name: 'Brand B (EU)' }, want: 200 });
  await call('GET', '/v1/workspaces', { key: WRONG, want: 401 });
  await call('GET', '/v1/segments', { headers: { 'Segmentd-Workspace': 'brand-b' }, want: 200 });
  await call('GET', '/v1/segments', { headers: { 'Segmentd-Workspace': 'nosuchshop' }, want: 404 });

  log('keys');
  const k = await call('POST', '/v1/keys', { body: { name: 'crm', scopes: ['read'] }, want: 201 });
  const readKey = k.json && k.json.key;
  await call('GET', '/v1/keys', { want: 200 });
  await call('GET', '/v1/segments', { key: readKey, want: 200 });
  await call('GET', '/v1/keys', { key: readKey, want: 403 });
  await call('GET', '/v1/workspaces', { key: readKey, want: 403 });
  await call('GET', '/v1/segments', { key: readKey, headers: { 'Segmentd-Workspace': 'default' }, want: 403 });
  await call('DELETE', `/v1/keys/${k.json && k.json.id}`, { want: 204 });
  await call('DELETE', `/v1/keys/${k.json && k.json.id}`, { want: 404 });
  await call('GET', '/v1/segments', { key: readKey, want: 401 });

  log('contact policy, KPI targets, matrices');
  await call('GET', '/v1/contact-policy', { want: 200 });
  await call('PUT', '/v1/contact-policy', {
    body: { max_messages: { count: 100, per_days: 1 }, quiet_hours: null }, want: 200,
  });
  await call('GET', '/v1/kpi-targets', { want: 200 });
  await call('PUT', '/v1/kpi-targets', {
    body: { active_share: 0.3, repeat_sales_share: 0.4, retention_rate: 0.6 }, want: 200,
  });
  await call('GET', '/v1/kpi-targets', { want: 200 });
  await call('GET', '/v1/matrices/b2c', { want: 200 });
  await call('PUT', '/v1/matrices/b2c?notify=false', {
    body: {
      frequency: { bounds: [1, 3], labels: ['new', 'promising', 'regular'] },
      recency: { bounds: ['30d', '90d'], labels: ['active', 'sleeping', 'asleep'], sleeping: ['sleeping', 'asleep'] },
      monetary: { bounds: ['100', '1000'], labels: ['low', 'mid', 'high'] },
      names: { 'regular/asleep': 'Lost regulars' },
    },
    want: 200,
  });
  await call('GET', '/v1/matrices/b2b', { want: 200 });
  await call('PUT', '/v1/matrices/b2b', { body: B2B_MATRIX, want: 200 });
  await call('GET', '/v1/matrices/b2c/versions', { want: 200 });
  await call('GET', '/v1/matrices/b2c/suggestion', { want: 200 });

  log('campaigns');
  const tpl = await call('GET', '/v1/campaign-templates', { want: 200 });
  const okC = await call('POST', '/v1/campaigns', {
    body: {
      name: 'Welcome', kind: 'b2c', cells: ['new/active'], trigger: { type: 'enter' }, channel: 'email',
      strategy: 'retention', action: 'Say hello', webhook_url: hook('/ok/welcome'),
    },
    want: 201,
  });
  const failC = await call('POST', '/v1/campaigns', {
    body: { name: 'Down', cells: ['promising/active'], channel: 'sms', webhook_url: hook('/fail/down') },
    want: 201,
  });
  const templates = tpl.json && (tpl.json.templates || tpl.json.data || tpl.json.items || tpl.json);
  const first = Array.isArray(templates) && templates[0];
  if (first && first.id) {
    const fromTpl = await call('POST', '/v1/campaigns', {
      body: { template: first.id, webhook_url: hook('/ok/template'), active: false }, want: 201,
    });
    if (fromTpl.json) await call('DELETE', `/v1/campaigns/${fromTpl.json.id}`, { want: 204 });
  } else {
    fail(`GET /v1/campaign-templates: no template in ${tpl.text.slice(0, 200)}`);
  }
  const okId = okC.json && okC.json.id;
  const failId = failC.json && failC.json.id;
  await call('GET', '/v1/campaigns', { want: 200 });
  await call('GET', `/v1/campaigns/${okId}`, { want: 200 });
  await call('GET', '/v1/campaigns/999999', { want: 404 });
  await call('PATCH', `/v1/campaigns/${okId}`, { body: { action: 'Say hello again' }, want: 200 });
  await call('POST', `/v1/campaigns/${okId}/rotate-secret`, { want: 200 });
  // the other triggers, so that every kind of webhook body is checked against WebhookEvent
  const mmdd = day(now).slice(5);
  const extra = [
    { name: 'Weekly', cells: ['new/active', 'promising/active'], trigger: { type: 'schedule', every: '1m' },
      channel: 'messenger', webhook_url: hook('/ok/scheduled'), max_messages: { count: 5, per_days: 1 },
      reentry: 'after_exit' },
    { name: 'Today', cells: ['new/active'], trigger: { type: 'date', month_day: mmdd }, channel: 'call',
      webhook_url: hook('/ok/occasion'), strategy: null, action: null },
    { name: 'Birthday', kind: 'b2c', cells: ['new/active'], trigger: { type: 'date', field: 'birthday', days_before: 3 },
      channel: 'email', webhook_url: hook('/ok/birthday'), active: true },
  ];
  for (const body of extra) await call('POST', '/v1/campaigns', { body, want: 201 });
  await call('PATCH', `/v1/campaigns/${okId}`, {
    body: { cells: ['new/active'], trigger: { type: 'enter' }, max_messages: null }, want: 200,
  });

  log('purchases, cancellations, imports');
  const p1 = {
    order_id: 'A-1001', customer_id: 'c-42', amount: '129.90', purchased_at: iso(now - 3600e3),
    customer: { kind: 'b2c', name: 'Anna', phone: '+33 6 12 34 56 78', email: 'anna@example.org', birthday: '1990-03-08' },
  };
  await call('POST', '/v1/purchases', { body: p1, want: 200 });
  await call('POST', '/v1/purchases', {
    body: [p1, { ...p1, order_id: 'A-1002', amount: 19.5 }, { ...p1, amount: '1.00' },
      { order_id: 'B-1', customer_id: 'c-7', amount: '10.00', purchased_at: iso(now - 7200e3) },
      { order_id: 'B-2', customer_id: 'c-7', amount: '20.00', purchased_at: iso(now - 3600e3) }],
    want: 200,
  });
  await call('POST', '/v1/cancellations', { body: { customer_id: 'c-42', order_id: 'A-1002' }, want: 200 });
  await call('POST', '/v1/cancellations', {
    body: [{ customer_id: 'c-42', order_id: 'A-1002' }, { customer_id: 'c-42', order_id: 'A-0999' }], want: 200,
  });
  const csv = 'order_id,customer_id,amount,purchased_at,kind,name,phone,email\n' +
    `I-1,imp-1,50.00,${iso(now - 40 * 86400e3)},b2c,Ivan,,ivan@example.org\n` +
    `I-2,imp-1,60.00,${iso(now - 20 * 86400e3)},,,,\n` +
    `I-3,imp-2,500.00,${iso(now - 100 * 86400e3)},b2b,Acme,,\n`;
  const imp = await call('POST', '/v1/imports', { raw: csv, type: 'text/csv', want: 202 });
  const nd = JSON.stringify({ order_id: 'N-1', customer_id: 'imp-3', amount: '9.99', purchased_at: iso(now - 5 * 86400e3) }) + '\n';
  const imp2 = await call('POST', '/v1/imports', { raw: nd, type: 'application/x-ndjson', want: 202 });
  for (const i of [imp, imp2]) {
    const id = i.json && i.json.id;
    await waitFor(`import ${id}`, async () => {
      const d = await direct(`/v1/imports/${id}`);
      return d && d.status !== 'running';
    }, 60);
    await call('GET', `/v1/imports/${id}`, { want: 200 });
  }
  await call('GET', '/v1/imports/999999', { want: 404 });

  log('segments, customers, KPIs');
  await call('GET', '/v1/segments', { want: 200 });
  await call('GET', '/v1/segments?kind=b2b', { want: 200 });
  const page = await call('GET', '/v1/segments/new/active/customers?limit=1', { want: 200 });
  const cursor = page.json && page.json.next_cursor;
  if (cursor) await call('GET', `/v1/segments/new/active/customers?limit=1&after=${encodeURIComponent(cursor)}`, { want: 200 });
  await call('GET', '/v1/segments/new/active/customers?monetary=mid', { want: 200 });
  await call('GET', '/v1/segments/new/active/customers', { headers: { Accept: 'text/csv' }, want: 200 });
  await call('GET', '/v1/segments/nosuch/active/customers', { want: 404 });
  const from = day(now - 120 * 86400e3);
  const to = day(now + 86400e3);
  await call('GET', `/v1/segments/history?kind=b2c&from=${from}&to=${to}`, { want: 200 });
  await call('GET', `/v1/segments/flows?kind=b2c&from=${from}&to=${to}`, { want: 200 });
  await call('GET', `/v1/segments/flows?reason=purchase`, { want: 200 });
  await call('GET', '/v1/customers/c-42', { want: 200 });
  await call('GET', '/v1/customers/nobody', { want: 404 });
  await call('PATCH', '/v1/customers/c-42', {
    body: { phone: '+44 20 7946 0958', birthday: null, contact_opt_out: false }, want: 200,
  });
  await call('PATCH', '/v1/customers/nobody', { body: { name: 'X' }, want: 404 });
  await call('GET', `/v1/kpis?kind=b2c&from=${from}&to=${to}`, { want: 200 });
  await call('GET', `/v1/kpis?kind=b2b&from=${encodeURIComponent(iso(now - 7 * 86400e3))}`, { want: 200 });
  await call('GET', `/v1/segments/history?from=${encodeURIComponent(iso(now - 86400e3))}&to=${encodeURIComponent(iso(now + 3600e3))}`, { want: 200 });
  await call('GET', '/v1/segments/regular/asleep/customers?kind=b2b', { want: 200 });
  await call('GET', '/v1/segments/new/asleep/customers?kind=b2b&monetary=mid', { want: 200 });
  const mapped = 'Номер;Дата;Телефон;Сумма\n00017;05.03.2026 9:05;+7 912 345-67-89;1 234,50\n';
  const imp3 = await call('POST', `/v1/imports?map=${encodeURIComponent('order_id:Номер,customer_id:Телефон,amount:Сумма,purchased_at:Дата')}` +
    '&timezone=Europe%2FMoscow', { raw: mapped, type: 'text/csv; charset=utf-8', want: 202 });
  if (imp3.json) {
    await waitFor(`import ${imp3.json.id}`, async () => {
      const d = await direct(`/v1/imports/${imp3.json.id}`);
      return d && d.status !== 'running';
    }, 60);
    await call('GET', `/v1/imports/${imp3.json.id}`, { want: 200 });
  }
  await call('PATCH', '/v1/customers/imp-3', { body: { kind: 'b2b', name: null, email: 'I3@Example.org' }, want: 200 });
  await call('GET', '/v1/customers/imp-3', { want: 200 });
  await call('GET', `/v1/segments/flows?kind=b2b&reason=profile&from=${from}`, { want: 200 });
  await call('GET', '/v1/kpis', { want: 200 });

  log('deliveries');
  // c-42 entered new/active (campaign Welcome, delivered); c-7 promising/active (Down, dead)
  const delivered = await waitFor('a delivered delivery', async () => {
    const d = await direct(`/v1/campaigns/${okId}/deliveries?status=delivered`);
    return d && d.deliveries && d.deliveries[0];
  }, 30);
  const dead = await waitFor('a dead delivery', async () => {
    const d = await direct(`/v1/campaigns/${failId}/deliveries?status=dead`);
    return d && d.deliveries && d.deliveries[0];
  }, 30);
  await call('GET', `/v1/campaigns/${okId}/deliveries`, { want: 200 });
  const pg1 = await call('GET', `/v1/campaigns/${okId}/deliveries?limit=1`, { want: 200 });
  if (pg1.json && pg1.json.next_cursor) {
    await call('GET', `/v1/campaigns/${okId}/deliveries?limit=1&cursor=${encodeURIComponent(pg1.json.next_cursor)}`, { want: 200 });
  }
  await call('GET', '/v1/customers/c-42', { want: 200 }); // now with its deliveries
  await waitFor('scheduled and occasion webhooks', async () => {
    const types = new Set(received.map((w) => w.body && w.body.type));
    return types.has('customer.scheduled') && types.has('customer.occasion');
  }, 20, true); // a bonus: they only widen the check of webhook bodies
  await call('GET', `/v1/campaigns/${failId}/deliveries?status=dead&limit=1`, { want: 200 });
  await call('GET', '/v1/campaigns/999999/deliveries', { want: 404 });
  if (dead) {
    await call('POST', `/v1/deliveries/${dead.id}/retry`, { want: 202 });
  }
  if (delivered) await call('POST', `/v1/deliveries/${delivered.id}/retry`, { want: 409 });
  await call('POST', '/v1/deliveries/999999/retry', { want: 404 });

  log('deletes');
  await call('DELETE', '/v1/customers/c-7', { want: 204 });
  await call('DELETE', '/v1/customers/c-7', { want: 404 });
  await call('DELETE', `/v1/campaigns/${failId}`, { want: 204 });
  await call('DELETE', `/v1/campaigns/${failId}`, { want: 404 });
  await call('DELETE', '/v1/workspaces/default', { want: 409 });
  await call('DELETE', '/v1/workspaces/brand-b', { want: 204 });
  await call('DELETE', '/v1/workspaces/brand-b', { want: 404 });
}

async function main() {
  if (!BINARY) throw new Error('SEGMENTD_BINARY is not set');
  if (!fs.existsSync(PRISM)) throw new Error(`${PRISM} missing: run \`npm ci\` in tests/contract (make contract-deps)`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'segmentd-contract-'));
  fs.chmodSync(tmp, 0o755); // the embedded PostgreSQL runs as another user when we are root
  const port = await freePort();
  DIRECT = `http://127.0.0.1:${port}`;
  log(`segmentd on ${DIRECT} (${tmp})`);
  server = startProcess(BINARY, ['--config', CONFIG], serverEnv(port), 'segmentd.log');
  await waitReady(server, DIRECT + '/readyz', 'segmentd.log', (s) => s === 200);
  const pport = await freePort();
  PROXY = `http://127.0.0.1:${pport}`;
  log(`prism proxy on ${PROXY}`);
  prism = startProcess(PRISM, ['proxy', SPEC_FILE, DIRECT, '--errors', '--host', '127.0.0.1',
    '--port', String(pport)], process.env, 'prism.log');
  await waitReady(prism, PROXY + '/healthz', 'prism.log', () => true); // listening
  receiver = await startReceiver();
  await traffic(receiver.address().port);

  const all = [];
  for (const [p, ops] of Object.entries(spec.paths)) {
    for (const m of METHODS) if (ops[m]) all.push(`${m.toUpperCase()} ${p}`);
  }
  for (const op of all) if (!covered.has(op)) fail(`operation not exercised (or failed): ${op}`);

  const validate = webhookValidator();
  if (received.length === 0) fail('no webhook received');
  for (const w of received) {
    if (!validate(w.body)) {
      fail(`webhook to ${w.path} does not match WebhookEvent: ${JSON.stringify(validate.errors[0])}`);
    }
  }
  const types = {};
  for (const w of received) types[w.body && w.body.type] = (types[w.body && w.body.type] || 0) + 1;
  log(`${requests} requests through Prism, ${covered.size}/${all.length} operations, ` +
      `${received.length} webhooks checked ${JSON.stringify(types)}`);
}

async function cleanup() {
  if (receiver) receiver.close();
  const p = await stop(prism);
  const s = await stop(server);
  if (s && s.code !== 0) fail(`segmentd exited with ${s.code} ${s.sig || ''}:\n${tail('segmentd.log')}`);
  if (p) log(`prism stopped (${p.code} ${p.sig || ''})`);
  if (tmp && process.env.KEEP_TMP !== '1') fs.rmSync(tmp, { recursive: true, force: true });
  else if (tmp) log(`kept ${tmp}`);
}

// Leaving by a crash (an uncaught error, EPIPE on stdout): no child outlives the test; segmentd
// gets SIGTERM so that it still stops its PostgreSQL.
process.on('exit', () => {
  for (const c of [prism, server]) {
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  }
});

// Interrupted (Ctrl-C, a ctest timeout's SIGTERM): stop segmentd and Prism before leaving.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    fail(`interrupted by ${sig}`);
    cleanup().finally(() => process.exit(1));
  });
}

main()
  .catch((err) => fail(err && err.stack ? err.stack : String(err)))
  .then(cleanup)
  .catch((err) => fail(String(err)))
  .then(() => {
    log(failures ? `${failures} failure(s)` : 'contract suite passed');
    process.exit(failures ? 1 : 0);
  });
