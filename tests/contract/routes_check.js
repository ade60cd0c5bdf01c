#!/usr/bin/env node
// Every endpoint of src/api/routes.c is in openapi.yaml and every operation of openapi.yaml is
// in routes.c (same method, same path template; parameter names may differ). Exits 1 and lists
// the difference otherwise. No dependency: routes.c rows are `{"METHOD", "/path", ...}` and the
// paths of openapi.yaml are the two-space-indented keys under `paths:`, their operations the
// four-space-indented method keys below them.
//
// Usage: node routes_check.js [SOURCE_DIR]   (default: the repository of this file)
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(process.argv[2] || path.join(__dirname, '..', '..'));
const norm = (p) => p.replace(/\{[^}]+\}/g, '{}');

const routesC = fs.readFileSync(path.join(ROOT, 'src', 'api', 'routes.c'), 'utf8')
  .replace(/\/\*[\s\S]*?\*\//g, '');
const inCode = new Set();
for (const m of routesC.matchAll(/\{\s*"([A-Z]+)"\s*,\s*"([^"]+)"/g)) inCode.add(`${m[1]} ${norm(m[2])}`);

const yaml = fs.readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8').split('\n');
const inSpec = new Set();
let inPaths = false;
let current = null;
for (const line of yaml) {
  if (/^\S/.test(line)) { inPaths = line.startsWith('paths:'); current = null; continue; }
  if (!inPaths) continue;
  let m = /^ {2}(\/\S*?):\s*$/.exec(line) || /^ {2}'(\/[^']*)':\s*$/.exec(line);
  if (m) { current = norm(m[1]); continue; }
  m = /^ {4}(get|put|post|patch|delete|head|options|trace):\s*$/.exec(line);
  if (m && current) inSpec.add(`${m[1].toUpperCase()} ${current}`);
}

const missingInSpec = [...inCode].filter((r) => !inSpec.has(r)).sort();
const missingInCode = [...inSpec].filter((r) => !inCode.has(r)).sort();
if (inCode.size === 0 || inSpec.size === 0) {
  console.error(`routes_check: parsed nothing (routes.c: ${inCode.size}, openapi.yaml: ${inSpec.size})`);
  process.exit(1);
}
for (const r of missingInSpec) console.error(`in src/api/routes.c but not in openapi.yaml: ${r}`);
for (const r of missingInCode) console.error(`in openapi.yaml but not in src/api/routes.c: ${r}`);
if (missingInSpec.length || missingInCode.length) process.exit(1);
console.log(`routes_check: ${inCode.size} operations, routes.c and openapi.yaml agree`);
