// The benchmark's webhook receiver: answers 200 at once, verifies every request with the reference
// `standardwebhooks` library (installed for the tests in tests/receiver), and keeps arrival times in
// memory. GET /stats answers {count, unique, unverified, first_ms, last_ms, arrivals_ms[],
// customers[]} (arrival i was for customers[i]). POST /_secret sets the secret (raw body);
// POST /_reset forgets what arrived. Listens on 127.0.0.1:PORT; prints "listening PORT".
'use strict';

const http = require('node:http');
const path = require('node:path');
const { Webhook } = require(path.join(__dirname, '../tests/receiver/node_modules/standardwebhooks'));

let verifier = null;
const seen = new Set();
let arrivals = [];
let customers = [];
let count = 0;
let unverified = 0;

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    if (req.url === '/_secret') {
      verifier = new Webhook(raw.trim());
      res.writeHead(204).end();
      return;
    }
    if (req.url === '/_reset') {
      seen.clear();
      arrivals = [];
      customers = [];
      count = 0;
      unverified = 0;
      res.writeHead(204).end();
      return;
    }
    if (req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        count, unique: seen.size, unverified,
        first_ms: arrivals.length ? Math.min(...arrivals) : null,
        last_ms: arrivals.length ? Math.max(...arrivals) : null,
        arrivals_ms: arrivals, customers,
      }));
      return;
    }
    const now = Date.now();
    count++;
    seen.add(req.headers['webhook-id']);
    arrivals.push(now);
    try {
      if (!verifier) throw new Error('no secret');
      const event = verifier.verify(raw, req.headers);
      customers.push(event.data.customer.customer_id);
    } catch {
      unverified++;
      customers.push(null);
    }
    res.writeHead(200).end();
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.env.PORT) || 0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
