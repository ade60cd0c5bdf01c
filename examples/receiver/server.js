// An example webhook receiver for segmentd: logs every delivery and answers 204.
// Dependency-free (Node 20+). Listens on PORT (default 9000), all interfaces.
//
// Each POST is logged as one JSON line with the Standard Webhooks headers (webhook-id,
// webhook-timestamp, webhook-signature) and the JSON body. It does not verify signatures: a real
// receiver must (with the campaign's whsec_ secret and a Standard Webhooks library) and must
// deduplicate on webhook-id, since delivery is at least once.
'use strict';

const http = require('node:http');

const PORT = Number(process.env.PORT) || 9000;
const MAX_BODY_BYTES = 1024 * 1024;

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405, { Allow: 'POST' });
    res.end();
    return;
  }
  const chunks = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      tooLarge = true;
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (tooLarge) {
      res.writeHead(413);
      res.end();
      return;
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      body = { unparsed: raw };
    }
    console.log(JSON.stringify({
      received_at: new Date().toISOString(),
      path: req.url,
      'webhook-id': req.headers['webhook-id'] ?? null,
      'webhook-timestamp': req.headers['webhook-timestamp'] ?? null,
      'webhook-signature': req.headers['webhook-signature'] ?? null,
      body,
    }));
    res.writeHead(204);
    res.end();
  });
  req.on('error', (err) => {
    console.error(`request error: ${err.message}`);
  });
});

server.listen(PORT, () => {
  console.log(`webhook receiver listening on port ${PORT}`);
});

// As PID 1 in a container, node ignores SIGTERM unless it is handled: stop promptly.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
