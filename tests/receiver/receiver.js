// The webhook receiver of segmentd's integration tests. Every delivery is verified with the
// reference Standard Webhooks library (the `standardwebhooks` npm package, pinned in
// package.json) and logged as one JSON line to LOG, so the C tests can read what arrived.
//
// Listens on 127.0.0.1:PORT. What it answers is chosen by the path, so that one receiver serves
// every scenario:
//   /ok/...                  200
//   /seq/500,500,200/...     the statuses in turn, per path; the last one repeats
//   /status/410/...          always that status
//   /slow/2000/...           waits 2000 ms, then 200
//   /retry-after/2/...       503 with "Retry-After: 2" on the first call of the path, then 200
// Secrets arrive by POST /_secret {"path": "/ok/a", "secrets": ["whsec_..."]}; a delivery to a
// path without a secret is logged with verified = null.
// Every body is also validated against the webhook payload schema of openapi.yaml (`webhooks:`
// customerEvent, i.e. components/schemas/WebhookEvent) with ajv: each line carries
// schema_valid (true | false; null when the validator could not be set up) and schema_error
// (the first error, or the set-up failure; null when valid). OPENAPI overrides the document.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const nodePath = require('node:path');
const { Webhook } = require('standardwebhooks');

const OPENAPI = process.env.OPENAPI || nodePath.join(__dirname, '..', '..', 'openapi.yaml');

// Returns validate(body) -> {valid, error}. Set-up problems (a missing dependency, an unreadable
// document) are reported on every line rather than crashing the receiver.
function schemaValidator() {
  try {
    const YAML = require('yaml');
    const Ajv2020 = require('ajv/dist/2020').default;
    const addFormats = require('ajv-formats').default;
    const spec = YAML.parse(fs.readFileSync(OPENAPI, 'utf8'));
    const ajv = new Ajv2020({ strict: false, allErrors: false });
    addFormats(ajv);
    for (const f of ['int32', 'int64', 'float', 'double']) ajv.addFormat(f, true);
    ajv.addSchema({ $id: 'openapi.json', components: spec.components });
    const hook = spec.webhooks.customerEvent.post.requestBody.content['application/json'].schema;
    const check = ajv.compile({ $ref: 'openapi.json' + hook.$ref });
    return (body) => {
      if (check(body)) return { valid: true, error: null };
      const e = check.errors[0];
      return { valid: false, error: `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}` };
    };
  } catch (err) {
    const why = `schema validator unavailable: ${err.message}`;
    return () => ({ valid: null, error: why });
  }
}
const validateBody = schemaValidator();

const PORT = Number(process.env.PORT) || 0;
const LOG = process.env.LOG || '/dev/stdout';
const secrets = new Map(); // path -> [whsec_...]
const calls = new Map();   // path -> calls so far

function verify(path, raw, headers) {
  const list = secrets.get(path);
  if (!list) return null;
  for (const s of list) {
    try {
      new Webhook(s).verify(raw, headers);
      return true;
    } catch {
      // try the next secret
    }
  }
  return false;
}

function answer(path) {
  const n = calls.get(path) || 0;
  calls.set(path, n + 1);
  const parts = path.split('/');
  const kind = parts[1];
  const arg = parts[2] || '';
  if (kind === 'seq') {
    const seq = arg.split(',').map(Number);
    return { status: seq[Math.min(n, seq.length - 1)] };
  }
  if (kind === 'status') return { status: Number(arg) };
  if (kind === 'slow') return { status: 200, delay: Number(arg) };
  if (kind === 'retry-after') {
    return n === 0 ? { status: 503, headers: { 'Retry-After': arg } } : { status: 200 };
  }
  return { status: 200 };
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    if (req.url === '/_secret') {
      const { path, secrets: list } = JSON.parse(raw);
      secrets.set(path, list);
      res.writeHead(204).end();
      return;
    }
    const path = req.url.split('?')[0];
    const plan = answer(path);
    const headers = {
      'webhook-id': req.headers['webhook-id'],
      'webhook-timestamp': req.headers['webhook-timestamp'],
      'webhook-signature': req.headers['webhook-signature'],
    };
    let body = null;
    try {
      body = JSON.parse(raw);
    } catch {
      body = null;
    }
    const schema = validateBody(body);
    const line = {
      received_at_ms: Date.now(),
      method: req.method,
      path,
      status: plan.status,
      verified: verify(path, raw, headers),
      schema_valid: schema.valid,
      schema_error: schema.error,
      content_type: req.headers['content-type'] || null,
      ...headers,
      body,
    };
    fs.appendFileSync(LOG, JSON.stringify(line) + '\n');
    const reply = () => res.writeHead(plan.status, plan.headers || {}).end();
    if (plan.delay) setTimeout(reply, plan.delay);
    else reply();
  });
});

server.keepAliveTimeout = 60000;
server.listen(PORT, '127.0.0.1', () => {
  // the C harness reads the port from the first line of stdout
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
