/*
 * segmentd dashboard: hand-written JavaScript, no framework, no build step.
 *
 * Why the charts are our own few functions of inline SVG rather than a chart library:
 *  - no dependency: the page is compiled into the segmentd binary; there is nothing to fetch,
 *    pin, audit or update, and no build step between this file and what the browser runs;
 *  - it works offline: segmentd often runs where the internet is not reachable, so no CDN and
 *    no external font;
 *  - it keeps to a strict Content-Security-Policy (script-src 'self'; style-src 'self'): no
 *    inline script, no eval, no style attribute. Colours and sizes are set through the CSSOM
 *    (element.style.x = …) or as SVG presentation attributes, which the policy allows.
 *
 * The page reads only the public /v1 API, with the key its user types in (kept in
 * sessionStorage: it dies with the tab) as `Authorization: Bearer KEY`, plus the
 * `Segmentd-Workspace` header when a workspace is given (the bootstrap admin key only).
 * Endpoints that an older server lacks (404) leave their panel saying so; the rest still works.
 * Data is always put in the page as text (textContent), never as HTML.
 */
'use strict';

(function () {
  const DAY = 86400000;
  const STORE = { key: 'segmentd.key', workspace: 'segmentd.workspace', kind: 'segmentd.kind' };
  const PAGE_SIZE = 25;
  const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'suppressed', 'dead'];
  const DEFAULT_ACTIVE_TARGET = 0.3;

  /* ---- small DOM helpers ---- */

  const $ = (sel) => document.querySelector(sel);

  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    setProps(el, props);
    appendKids(el, kids);
    return el;
  }

  function s(tag, props, ...kids) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    setProps(el, props);
    appendKids(el, kids);
    return el;
  }

  function setProps(el, props) {
    if (!props) return;
    for (const [k, v] of Object.entries(props)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.setAttribute('class', v);
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }

  function appendKids(el, kids) {
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : String(kid));
    }
  }

  function setPanel(id, state, ...content) {
    const panel = document.getElementById(id);
    panel.dataset.state = state;
    const body = document.getElementById(id + '-body');
    if (content.length) body.replaceChildren(...content.flat());
    panel.setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
  }

  const note = (cls, ...kids) => h('p', { class: cls }, ...kids);
  const loading = () => note('loading', 'Loading…');

  function unavailable(what, path) {
    return h('div', { class: 'unavailable', role: 'note' },
      h('strong', { text: 'Not available' }),
      h('p', {}, `This server does not offer ${what} yet (`, h('code', { text: 'GET ' + path }),
        ' answered 404). The other panels work without it.'));
  }

  /* ---- formatting ---- */

  const nf = {
    int: new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 }),
    num: new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    money: new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    compact: new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 }),
    pct: new Intl.NumberFormat(undefined, {
      style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1,
    }),
    pct0: new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 0 }),
  };
  const fmtInt = (n) => nf.int.format(n);
  const fmtPct = (x) => (x === null || x === undefined ? '—' : nf.pct.format(x));
  const fmtMoney = (v) => (v === null || v === undefined ? '—' : nf.money.format(Number(v)));
  const fmtCompact = (v) => nf.compact.format(Number(v));
  const fmtBytes = (n) => (n < 1000 ? `${n} bytes` : n < 1e6 ? `${nf.num.format(n / 1e3)} kB`
    : `${nf.num.format(n / 1e6)} MB`);
  const fmtDay = (t) => (t ? String(t).slice(0, 10) : '—');
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

  /* ---- state ---- */

  const S = {
    key: sessionStorage.getItem(STORE.key) || '',
    workspace: sessionStorage.getItem(STORE.workspace) || '',
    kind: sessionStorage.getItem(STORE.kind) === 'b2b' ? 'b2b' : 'b2c',
    days: 30,
    custom: null, // {from, to} in ms when a custom period is applied
    report: null, // GET /v1/segments of S.kind
    targets: null, // {name: value} from /v1/kpis or /v1/kpi-targets
    cell: null, // selected cell key
    monetary: '',
    list: { cursors: [null], index: 0, next: null },
    history: null, // the last {cells, days} drawn, to redraw on a resize
    gen: 0, // bumped by every reload: answers of an older generation are dropped
    retry: { timer: null, delay: 0 },
    fatalGen: -1,
  };

  function period() {
    if (S.custom) return S.custom;
    const to = Math.floor(Date.now() / 1000) * 1000;
    return { from: to - S.days * DAY, to };
  }

  /* Each panel's latest load holds a token: an answer to an earlier one (another page, another
   * period, another kind) is dropped instead of overwriting the newer one. */
  const tokens = {};
  function claim(id) {
    const t = {};
    tokens[id] = t;
    return t;
  }
  const current = (id, tok, gen) => tokens[id] === tok && gen === S.gen;

  const previousPeriod = (p) => ({ from: p.from - (p.to - p.from), to: p.from });
  const periodQuery = (p) => `kind=${S.kind}&from=${encodeURIComponent(iso(p.from))}` +
    `&to=${encodeURIComponent(iso(p.to))}`;

  /* ---- the API ---- */

  class ApiError extends Error {
    constructor(status, problem, retryAfter) {
      super(problem && (problem.detail || problem.title) ? (problem.detail || problem.title)
        : status ? `HTTP ${status}` : 'network error');
      this.status = status; // 0: the request never got an answer
      this.problem = problem;
      this.retryAfter = retryAfter;
    }
  }

  async function api(path, accept) {
    const headers = { Authorization: 'Bearer ' + S.key, Accept: accept || 'application/json' };
    if (S.workspace) headers['Segmentd-Workspace'] = S.workspace;
    let resp;
    try {
      resp = await fetch(path, { headers, cache: 'no-store', credentials: 'omit' });
    } catch (e) {
      throw new ApiError(0, null, 0);
    }
    if (!resp.ok) {
      let problem = null;
      try {
        problem = await resp.json();
      } catch (e) {
        problem = null;
      }
      throw new ApiError(resp.status, problem, parseInt(resp.headers.get('Retry-After'), 10) || 0);
    }
    return accept === 'text/csv' ? resp : resp.json();
  }

  /* Errors that concern the whole page (the key, the workspace, the database, the network). */
  function isPageError(err) {
    return err instanceof ApiError && [0, 401, 403, 503].includes(err.status);
  }

  /* ---- the banner: key refused, database down, network ---- */

  function banner(kind, ...text) {
    const b = $('#banner');
    if (!kind) {
      b.hidden = true;
      b.replaceChildren();
      delete b.dataset.kind;
      return;
    }
    b.dataset.kind = kind;
    b.replaceChildren(...text);
    b.hidden = false;
  }

  function clearRetry() {
    if (S.retry.timer) clearTimeout(S.retry.timer);
    S.retry.timer = null;
  }

  function scheduleRetry(err) {
    clearRetry();
    S.retry.delay = Math.min(30, Math.max(2, err.retryAfter || S.retry.delay * 2 || 2));
    S.retry.timer = setTimeout(loadAll, S.retry.delay * 1000);
    return S.retry.delay;
  }

  /* One page-level error per reload is shown; panels answer "see above". */
  function pageError(err, gen) {
    if (gen !== S.gen || S.fatalGen === gen) return;
    S.fatalGen = gen;
    const ws = S.workspace ? `the workspace “${S.workspace}”` : 'its workspace';
    if (err.status === 401 || err.status === 403) clearData(); // nothing stays from before
    if (err.status === 401) {
      banner('error', h('strong', { text: 'This key was refused' }),
        ' (401): segmentd does not know it. Check the key (was it deleted?) and connect again.');
    } else if (err.status === 403) {
      banner('error', h('strong', { text: 'This key was refused' }),
        ` (403): it may not read ${ws}. A key needs the read scope, and only the bootstrap ` +
        'admin key may choose a workspace.');
    } else if (err.status === 503) {
      const d = scheduleRetry(err);
      banner('warn', h('strong', { text: 'The database is unreachable, retrying…' }),
        ` segmentd answered 503; next try in ${d} s.`);
    } else {
      const d = scheduleRetry(err);
      banner('warn', h('strong', { text: 'Cannot reach segmentd (network error).' }),
        ` Is the service running? Retrying in ${d} s…`);
    }
    for (const id of ['matrix', 'kpis', 'dynamics', 'flows', 'customers', 'campaigns']) {
      if (document.getElementById(id).dataset.state === 'loading') {
        setPanel(id, 'error', note('empty', err.status === 503 || err.status === 0
          ? 'Waiting for segmentd…' : 'Nothing to show with this key.'));
      }
    }
  }

  function panelError(id, err, gen) {
    if (gen !== S.gen) return;
    if (isPageError(err)) {
      pageError(err, gen);
      return;
    }
    setPanel(id, 'error', h('p', { class: 'error', role: 'alert' },
      h('strong', { text: `Error ${err.status || ''}: ` }), err.message));
  }

  /* ---- loading everything ---- */

  /* Forgets what was shown: another key, or a refused one, must not see the previous data. */
  function clearData() {
    S.report = null;
    S.cell = null;
    S.monetary = '';
    S.history = null;
    S.targets = null;
    $('#matrix-total').textContent = '';
    $('#active-share').hidden = true;
    renderCellDetail();
    resetList();
  }

  function resetPanels() {
    clearData();
    setPanel('matrix', 'idle', h('div', { class: 'empty' },
      h('p', { text: 'Enter an API key above to see your customers.' }),
      h('p', { class: 'muted' }, 'Running ', h('code', { text: 'make run' }),
        '? Paste the admin key (SEGMENTD_ADMIN_KEY) and use the workspace ',
        h('code', { text: 'demo' }), '.')));
    for (const id of ['kpis', 'dynamics', 'flows', 'campaigns']) setPanel(id, 'idle', []);
  }

  async function loadAll() {
    const gen = ++S.gen;
    clearRetry();
    updatePeriodText();
    if (!S.key) {
      banner(null);
      resetPanels();
      return;
    }
    if (S.report) setPanel('matrix', 'loading');
    else setPanel('matrix', 'loading', loading());
    let ok = false;
    try {
      ok = await loadMatrix(gen);
    } catch (err) {
      if (gen !== S.gen) return;
      if (isPageError(err)) {
        pageError(err, gen);
      } else if (err.status === 404 && S.workspace) {
        banner('error', h('strong', { text: `No workspace “${S.workspace}”` }),
          ` (404): ${err.message} Check the workspace name, or leave it empty for the key's own.`);
        setPanel('matrix', 'error', note('empty', 'Nothing to show.'));
      } else {
        panelError('matrix', err, gen);
      }
      for (const id of ['kpis', 'dynamics', 'flows', 'campaigns']) setPanel(id, 'idle', []);
      return;
    }
    if (!ok) return;
    S.retry.delay = 0;
    banner(null);
    loadPeriodPanels(gen);
    loadCampaigns(gen);
    if (S.cell) loadList(gen);
  }

  function loadPeriodPanels(gen) {
    loadKpis(gen);
    loadHistory(gen);
    loadFlows(gen);
  }

  /* ---- the matrix (heat map) ---- */

  async function loadMatrix(gen) {
    const rep = await api(`/v1/segments?kind=${S.kind}`);
    if (gen !== S.gen) return false;
    S.report = rep;
    if (S.cell && !rep.cells.some((c) => c.key === S.cell)) {
      S.cell = null;
      resetList();
    }
    renderMatrix();
    return true;
  }

  function axes(rep) {
    const freq = [], rec = [];
    for (const c of rep.cells) {
      if (!freq.includes(c.frequency)) freq.push(c.frequency);
      if (!rec.includes(c.recency)) rec.push(c.recency);
    }
    return { freq, rec };
  }

  /* Heat: light to deep blue by share (relative to the largest cell, so small shops show too).
   * Returns the colour and whether white text reads better on it than dark text (WCAG
   * contrast against each). */
  function heat(t) {
    const a = [238, 244, 251], b = [23, 64, 122];
    const k = Math.pow(Math.max(0, Math.min(1, t)), 0.75);
    const rgb = a.map((v, i) => Math.round(v + (b[i] - v) * k));
    const lin = rgb.map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    const lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    const onWhite = 1.05 / (lum + 0.05), onInk = (lum + 0.05) / 0.0165;
    return { colour: `rgb(${rgb.join(',')})`, dark: onWhite > onInk };
  }

  const MONETARY_COLOURS = ['#f3d08b', '#e39a4a', '#b5541f', '#7a2e12', '#4a1a0a'];

  function monetarySplitText(cell) {
    return Object.entries(cell.monetary || {}).map(([label, m]) =>
      `${label}: ${fmtInt(m.customers)} customers, revenue ${fmtMoney(m.revenue)}`).join('\n');
  }

  function renderMatrix() {
    const rep = S.report;
    const { freq, rec } = axes(rep);
    const maxShare = Math.max(0, ...rep.cells.map((c) => c.share));
    const sleeping = new Set(rep.cells.filter((c) => c.sleeping).map((c) => c.recency));
    $('#matrix-total').textContent = `${fmtInt(rep.total_customers)} ${S.kind.toUpperCase()} ` +
      `customers in a cell`;

    const grid = h('div', {
      class: 'heat', role: 'group',
      'aria-label': `Lifecycle matrix of ${S.kind}: rows are purchase frequency, columns are ` +
        'time since the last purchase. Arrow keys move between cells.',
    });
    grid.style.gridTemplateColumns = `minmax(4.2rem, auto) repeat(${rec.length}, minmax(0, 1fr))`;
    grid.append(h('div', { class: 'corner', 'aria-hidden': 'true' },
      h('span', { text: 'frequency ↓' }), h('span', { text: 'recency →' })));
    for (const r of rec) {
      grid.append(h('div', { class: 'col-head', 'aria-hidden': 'true' },
        h('span', { text: r }), sleeping.has(r) ? h('small', { text: 'sleeping' }) : null));
    }
    freq.forEach((f, fi) => {
      grid.append(h('div', { class: 'row-head', 'aria-hidden': 'true', text: f }));
      rec.forEach((r, ri) => {
        const c = rep.cells.find((x) => x.frequency === f && x.recency === r);
        grid.append(c ? cellButton(c, fi, ri, maxShare) : h('div', { class: 'cell void' }));
      });
    });

    const legend = h('div', { class: 'heat-legend', 'aria-hidden': 'true' },
      h('span', { text: 'share of customers' }), h('span', { class: 'ramp' }),
      h('span', { class: 'mlegend' }, Object.keys(rep.cells[0] ? rep.cells[0].monetary : {})
        .map((label, i) => {
          const sw = h('i');
          sw.style.background = MONETARY_COLOURS[i % MONETARY_COLOURS.length];
          return h('span', {}, sw, label);
        })));
    const parts = [grid, legend];
    if (!rep.total_customers) {
      parts.unshift(note('empty', `No ${S.kind.toUpperCase()} customer is in a cell yet: post ` +
        'purchases (POST /v1/purchases) or import a history (POST /v1/imports).'));
    }
    setPanel('matrix', 'ready', parts);
    $('#matrix').dataset.kind = rep.kind || S.kind;
    renderGauge();
    renderCellDetail();
  }

  function cellButton(c, fi, ri, maxShare) {
    const bg = heat(maxShare > 0 ? c.share / maxShare : 0);
    const split = monetarySplitText(c);
    const btn = h('button', {
      type: 'button', class: 'cell' + (bg.dark ? ' dark' : '') + (c.sleeping ? ' sleeping' : ''),
      'aria-pressed': S.cell === c.key ? 'true' : 'false',
      'aria-label': `${c.name}: ${fmtInt(c.customers)} customers, ${fmtPct(c.share)} of all, ` +
        `revenue ${fmtMoney(c.revenue)}. ${split.replace(/\n/g, '; ')}`,
      title: `${c.name} (${c.key})\n${split}`,
      dataset: {
        key: c.key, row: fi, col: ri, customers: c.customers, share: c.share, revenue: c.revenue,
      },
      onclick: () => selectCell(c.key),
      onkeydown: cellKeys,
    },
    h('span', { class: 'cell-name', text: c.name }),
    h('span', { class: 'cell-customers', text: fmtInt(c.customers) }),
    h('span', { class: 'cell-share', text: fmtPct(c.share) }),
    h('span', { class: 'cell-revenue', text: fmtCompact(c.revenue) }),
    monetaryBar(c));
    btn.style.backgroundColor = bg.colour;
    return btn;
  }

  function monetaryBar(c) {
    const bar = h('span', { class: 'mbar', 'aria-hidden': 'true' });
    const entries = Object.entries(c.monetary || {});
    entries.forEach(([, m], i) => {
      if (!c.customers || !m.customers) return;
      const seg = h('span');
      seg.style.width = `${(100 * m.customers) / c.customers}%`;
      seg.style.background = MONETARY_COLOURS[i % MONETARY_COLOURS.length];
      bar.append(seg);
    });
    return bar;
  }

  /* Arrow keys move the focus across the matrix like a spreadsheet. */
  function cellKeys(ev) {
    const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    const m = moves[ev.key];
    if (!m) return;
    const row = Number(ev.currentTarget.dataset.row) + m[0];
    const col = Number(ev.currentTarget.dataset.col) + m[1];
    const next = document.querySelector(`.cell[data-row="${row}"][data-col="${col}"]`);
    if (next) {
      ev.preventDefault();
      next.focus();
    }
  }

  function renderGauge() {
    const g = $('#active-share');
    const rep = S.report;
    if (!rep || rep.active_share === null || rep.active_share === undefined) {
      g.hidden = true;
      return;
    }
    const target = S.targets && typeof S.targets.active_share === 'number'
      ? S.targets.active_share : DEFAULT_ACTIVE_TARGET;
    const source = S.targets && typeof S.targets.active_share === 'number'
      ? 'KPI target' : 'the usual mark';
    const v = rep.active_share;
    const ok = v >= target;
    const fill = h('span', { class: 'fill' + (ok ? ' ok' : ' low') });
    fill.style.width = `${Math.min(100, v * 100)}%`;
    const mark = h('span', { class: 'mark' });
    mark.style.left = `${Math.min(100, target * 100)}%`;
    g.replaceChildren(
      h('div', { class: 'gauge-text' },
        h('span', {}, 'Active share ', h('strong', { class: 'gauge-value', text: fmtPct(v) })),
        h('span', { class: ok ? 'ok' : 'low', text: ok ? `at or above ${fmtPct(target)} (${source})`
          : `below ${fmtPct(target)} (${source})` })),
      h('div', {
        class: 'gauge-bar', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100',
        'aria-valuenow': (v * 100).toFixed(1),
        'aria-label': `Active share ${fmtPct(v)}, target ${fmtPct(target)}`,
      }, fill, mark));
    g.dataset.target = String(target);
    g.hidden = false;
  }

  /* ---- the selected cell ---- */

  function selectCell(key) {
    S.cell = key;
    S.monetary = '';
    for (const b of document.querySelectorAll('.cell')) {
      b.setAttribute('aria-pressed', b.dataset.key === key ? 'true' : 'false');
    }
    renderCellDetail();
    resetList();
    loadList(S.gen);
  }

  function currentCell() {
    return S.report && S.cell ? S.report.cells.find((c) => c.key === S.cell) : null;
  }

  function renderCellDetail() {
    const d = $('#cell-detail');
    const c = currentCell();
    const sel = $('#monetary');
    if (!c) {
      d.replaceChildren();
      sel.replaceChildren(h('option', { value: '', text: 'all' }));
      sel.disabled = true;
      return;
    }
    const rows = Object.entries(c.monetary || {}).map(([label, m]) => h('tr', {},
      h('th', { scope: 'row', text: label }),
      h('td', { class: 'num', text: fmtInt(m.customers) }),
      h('td', { class: 'num', text: c.customers ? fmtPct(m.customers / c.customers) : '—' }),
      h('td', { class: 'num', text: fmtMoney(m.revenue) }),
      h('td', {}, h('button', {
        type: 'button', class: 'link', text: 'list',
        'aria-label': `List the ${label} customers of ${c.name}`,
        onclick: () => chooseMonetary(label, true),
      }))));
    d.replaceChildren(
      h('h3', {}, c.name, ' ', h('code', { text: c.key })),
      h('dl', { class: 'facts' },
        h('div', {}, h('dt', { text: 'Customers' }), h('dd', { text: fmtInt(c.customers) })),
        h('div', {}, h('dt', { text: 'Share' }), h('dd', { text: fmtPct(c.share) })),
        h('div', {}, h('dt', { text: 'Revenue' }), h('dd', { text: fmtMoney(c.revenue) })),
        h('div', {}, h('dt', { text: 'Average order' }),
          h('dd', { text: fmtMoney(c.avg_order_value) }))),
      h('table', { class: 'split' },
        h('caption', { text: 'Monetary split' }),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'spend' }),
          h('th', { scope: 'col', class: 'num', text: 'customers' }),
          h('th', { scope: 'col', class: 'num', text: 'of cell' }),
          h('th', { scope: 'col', class: 'num', text: 'revenue' }), h('th', {}))),
        h('tbody', {}, rows)));
    sel.replaceChildren(h('option', { value: '', text: 'all' }),
      ...Object.keys(c.monetary || {}).map((l) => h('option', { value: l, text: l })));
    sel.value = S.monetary;
    sel.disabled = false;
  }

  function chooseMonetary(label, focusList) {
    S.monetary = label;
    $('#monetary').value = label;
    resetList();
    loadList(S.gen);
    if (focusList) $('#customers').scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  /* ---- a cell's customers ---- */

  function resetList() {
    S.list = { cursors: [null], index: 0, next: null };
    const c = currentCell();
    $('#customers-cell').textContent = c ? `${c.name} (${c.key})` +
      (S.monetary ? `, ${S.monetary} spend` : '') : 'choose a cell in the matrix';
    $('#csv').disabled = !c;
    $('#csv-status').textContent = '';
    $('#prev').disabled = true;
    $('#next').disabled = true;
    $('#page').textContent = '';
    if (!c) setPanel('customers', 'idle', note('empty', 'Choose a cell in the matrix to list its customers.'));
  }

  function listPath(extra) {
    const c = currentCell();
    let q = `kind=${S.kind}`;
    if (S.monetary) q += `&monetary=${encodeURIComponent(S.monetary)}`;
    return `/v1/segments/${encodeURIComponent(c.frequency)}/${encodeURIComponent(c.recency)}` +
      `/customers?${q}${extra || ''}`;
  }

  function listTotal() {
    const c = currentCell();
    if (!c) return 0;
    if (!S.monetary) return c.customers;
    return (c.monetary[S.monetary] || { customers: 0 }).customers;
  }

  async function loadList(gen) {
    const c = currentCell();
    if (!c) return;
    const tok = claim('customers');
    const cursor = S.list.cursors[S.list.index];
    setPanel('customers', 'loading');
    $('#customers-body').classList.add('stale');
    try {
      const page = await api(listPath(`&limit=${PAGE_SIZE}` +
        (cursor ? `&after=${encodeURIComponent(cursor)}` : '')));
      if (!current('customers', tok, gen) || currentCell() !== c) return;
      S.list.next = page.next;
      renderList(page.items);
    } catch (err) {
      if (current('customers', tok, gen)) panelError('customers', err, gen);
    } finally {
      if (tokens.customers === tok) $('#customers-body').classList.remove('stale');
    }
  }

  function renderList(items) {
    const first = S.list.index * PAGE_SIZE;
    const total = listTotal();
    $('#page').textContent = items.length
      ? `Page ${S.list.index + 1} · ${fmtInt(first + 1)}–${fmtInt(first + items.length)} of ${fmtInt(total)}`
      : `Page ${S.list.index + 1}`;
    $('#prev').disabled = S.list.index === 0;
    $('#next').disabled = !S.list.next;
    if (!items.length) {
      setPanel('customers', 'empty', note('empty', 'No customer in this cell' +
        (S.monetary ? ` with ${S.monetary} spend.` : '.')));
      return;
    }
    const head = ['Customer', 'Name', 'Phone', 'E-mail', 'Purchases', 'Revenue', 'Last purchase',
      'Spend'];
    const table = h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, head.map((t, i) => h('th', {
        scope: 'col', class: i === 4 || i === 5 ? 'num' : null, text: t,
      })))),
      h('tbody', {}, items.map((it) => h('tr', { dataset: { id: it.customer_id } },
        h('td', { class: 'mono' }, it.customer_id,
          it.contact_opt_out ? h('span', { class: 'tag', text: 'opted out' }) : null),
        h('td', { text: it.name || '—' }),
        h('td', { class: 'mono', text: it.phone || '—' }),
        h('td', { text: it.email || '—' }),
        h('td', { class: 'num', text: fmtInt(it.purchases) }),
        h('td', { class: 'num', text: fmtMoney(it.revenue) }),
        h('td', { text: fmtDay(it.last_purchase_at) }),
        h('td', { text: it.monetary || '—' })))));
    setPanel('customers', 'ready', h('div', { class: 'scroll' }, table));
  }

  async function downloadCsv() {
    const c = currentCell();
    if (!c) return;
    const btn = $('#csv');
    const status = $('#csv-status');
    btn.disabled = true;
    status.textContent = 'Preparing the CSV…';
    try {
      const resp = await api(listPath(''), 'text/csv');
      const blob = await resp.blob();
      const name = `${S.kind}-${c.frequency}-${c.recency}${S.monetary ? '-' + S.monetary : ''}.csv`;
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: name, class: 'hidden-link' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      status.textContent = `Saved ${name} (${fmtBytes(blob.size)}).`;
    } catch (err) {
      if (isPageError(err)) pageError(err, S.gen);
      status.textContent = `The CSV could not be made: ${err.message}`;
    } finally {
      btn.disabled = !currentCell();
    }
  }

  /* ---- KPIs ---- */

  const KPIS = [
    { name: 'revenue', label: 'Revenue', type: 'money' },
    { name: 'orders', label: 'Orders', type: 'int' },
    { name: 'customers', label: 'Buyers', type: 'int' },
    { name: 'avg_order_value', label: 'Average order', type: 'money' },
    { name: 'purchase_frequency', label: 'Orders per buyer', type: 'num' },
    { name: 'repeat_sales_share', label: 'Repeat sales share', type: 'ratio' },
    { name: 'retention_rate', label: 'Retention', type: 'ratio' },
    { name: 'churn_rate', label: 'Churn', type: 'ratio', lowerIsBetter: true },
    { name: 'active_share', label: 'Active share (now)', type: 'ratio', now: true },
  ];

  function fmtKpi(k, v) {
    if (v === null || v === undefined) return '—';
    if (k.type === 'money') return fmtMoney(v);
    if (k.type === 'int') return fmtInt(Number(v));
    if (k.type === 'num') return nf.num.format(Number(v));
    return fmtPct(Number(v));
  }

  function kpiDelta(k, cur, prev) {
    if (k.now || cur === null || cur === undefined || prev === null || prev === undefined) {
      return null;
    }
    const c = Number(cur), p = Number(prev);
    let text, diff;
    if (k.type === 'ratio') {
      diff = c - p;
      text = `${diff >= 0 ? '+' : '−'}${Math.abs(diff * 100).toFixed(1)} pp`;
    } else {
      if (p === 0) return null;
      diff = (c - p) / p;
      text = `${diff >= 0 ? '+' : '−'}${Math.abs(diff * 100).toFixed(1)} %`;
    }
    const good = k.lowerIsBetter ? diff < 0 : diff > 0;
    const cls = Math.abs(diff) < 0.0005 ? 'flat' : good ? 'up' : 'down';
    const arrow = Math.abs(diff) < 0.0005 ? '→' : diff > 0 ? '▲' : '▼';
    return h('span', { class: 'delta ' + cls, title: `previous period: ${fmtKpi(k, prev)}` },
      `${arrow} ${text}`);
  }

  async function loadKpis(gen) {
    const tok = claim('kpis');
    const p = period();
    $('#kpis-period').textContent = '';
    setPanel('kpis', 'loading', loading());
    let cur, prev = null;
    try {
      const answers = await Promise.allSettled([
        api(`/v1/kpis?${periodQuery(p)}`), api(`/v1/kpis?${periodQuery(previousPeriod(p))}`),
      ]);
      if (answers[0].status === 'rejected') throw answers[0].reason;
      cur = answers[0].value;
      if (answers[1].status === 'fulfilled') prev = answers[1].value;
    } catch (err) {
      if (!current('kpis', tok, gen)) return;
      if (err.status === 404) {
        setPanel('kpis', 'unavailable', unavailable('KPIs', '/v1/kpis'));
        loadTargets(gen);
        return;
      }
      panelError('kpis', err, gen);
      return;
    }
    if (!current('kpis', tok, gen)) return;
    S.targets = cur.targets || {};
    renderGauge();
    $('#kpis-period').textContent = `vs the previous ${Math.round((p.to - p.from) / DAY)} days`;
    const cards = KPIS.filter((k) => k.name in cur).map((k) => {
      const v = cur[k.name];
      const target = S.targets[k.name];
      let targetEl = null;
      if (typeof target === 'number' && v !== null && v !== undefined) {
        const met = k.lowerIsBetter ? Number(v) <= target : Number(v) >= target;
        targetEl = h('span', { class: 'target ' + (met ? 'ok' : 'low') },
          `${met ? '✓' : '✗'} target ${fmtKpi(k, target)}`);
      } else if (typeof target === 'number') {
        targetEl = h('span', { class: 'target', text: `target ${fmtKpi(k, target)}` });
      }
      return h('div', { class: 'kpi', dataset: { kpi: k.name } },
        h('span', { class: 'kpi-label', text: k.label }),
        h('span', { class: 'kpi-value', text: fmtKpi(k, v) }),
        h('span', { class: 'kpi-foot' }, prev ? kpiDelta(k, v, prev[k.name]) : null, targetEl));
    });
    setPanel('kpis', 'ready', h('div', { class: 'kpi-grid' }, cards));
  }

  /* Without /v1/kpis the active-share target may still come from /v1/kpi-targets (admin). */
  async function loadTargets(gen) {
    try {
      const t = await api('/v1/kpi-targets');
      if (gen !== S.gen) return;
      S.targets = t && typeof t === 'object' ? (t.targets || t) : null;
    } catch (err) {
      if (gen !== S.gen) return;
      S.targets = null; // 403 (not an admin key) or 404 (older server): the 30 % mark stays
    }
    renderGauge();
  }

  /* ---- cell colours for the charts: hue by recency (green → amber → red), lightness by
   * frequency (new = light, regular = deep) ---- */

  function cellColour(key, index, count) {
    const rep = S.report;
    if (rep) {
      const { freq, rec } = axes(rep);
      const [f, r] = key.split('/');
      const fi = freq.indexOf(f), ri = rec.indexOf(r);
      if (fi >= 0 && ri >= 0) {
        const t = rec.length > 1 ? ri / (rec.length - 1) : 0;
        const hue = t <= 0.5 ? 145 - 105 * (t / 0.5) : 40 - 38 * ((t - 0.5) / 0.5);
        const light = freq.length > 1 ? 74 - (74 - 30) * (fi / (freq.length - 1)) : 50;
        return `hsl(${hue.toFixed(0)}, ${t > 0.2 && t < 0.8 ? 80 : 58}%, ${light.toFixed(0)}%)`;
      }
    }
    return `hsl(${((360 * index) / Math.max(1, count)).toFixed(0)}, 55%, 50%)`;
  }

  function cellName(key) {
    if (key === null || key === undefined) return null;
    const c = S.report && S.report.cells.find((x) => x.key === key);
    return c ? c.name : key;
  }

  /* ---- the dynamics chart: stacked areas of cell sizes per day ---- */

  async function loadHistory(gen) {
    const tok = claim('dynamics');
    setPanel('dynamics', 'loading', loading());
    let hist;
    try {
      hist = await api(`/v1/segments/history?${periodQuery(period())}`);
    } catch (err) {
      if (!current('dynamics', tok, gen)) return;
      if (err.status === 404) {
        setPanel('dynamics', 'unavailable', unavailable('the segment history',
          '/v1/segments/history'));
      } else {
        panelError('dynamics', err, gen);
      }
      return;
    }
    if (!current('dynamics', tok, gen)) return;
    const days = Array.isArray(hist.days) ? hist.days : [];
    const cells = Array.isArray(hist.cells) && hist.cells.length ? hist.cells
      : [...new Set(days.flatMap((d) => Object.keys(d.sizes || {})))];
    if (!days.length || !cells.length) {
      S.history = null;
      setPanel('dynamics', 'empty', note('empty', 'No history for this period yet.'));
      return;
    }
    S.history = { cells, days };
    setPanel('dynamics', 'ready', stackedChart(cells, days));
  }

  /* Round gridlines: a step of 1, 2, 2.5 or 5 × 10^k giving at most 5 of them. */
  function niceScale(v) {
    if (v <= 0) return { max: 1, step: 1 };
    const raw = v / 4;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((x) => x >= raw);
    return { max: Math.ceil(v / step) * step, step };
  }

  /* Drawn at the width it is shown (one SVG unit = one CSS pixel), so labels keep their size
   * on a phone; redrawn when the window is resized. */
  function stackedChart(cells, days) {
    const body = $('#dynamics-body');
    const W = Math.max(280, Math.round(body.clientWidth || 720));
    const H = Math.round(Math.min(340, Math.max(200, W * 0.45)));
    const L = 44, R = 10, T = 12, B = 26;
    const colours = cells.map((k, i) => cellColour(k, i, cells.length));
    const totals = days.map((d) => cells.reduce((a, k) => a + (Number(d.sizes[k]) || 0), 0));
    const { max, step } = niceScale(Math.max(...totals));
    const n = days.length;
    const x = (i) => (n === 1 ? L + (W - L - R) / 2 : L + (i * (W - L - R)) / (n - 1));
    const y = (v) => T + (H - T - B) * (1 - v / max);

    const chart = s('svg', {
      viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
      'aria-label': `Cell sizes per day from ${days[0].day} to ${days[n - 1].day}, stacked; ` +
        `${fmtInt(totals[n - 1])} customers on the last day.`,
    });
    for (let v = 0; v <= max + step / 2; v += step) {
      chart.append(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid-line' }),
        s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis', text: fmtCompact(v) }));
    }
    const ticks = n === 1 ? [0] : W < 420 ? [0, n - 1] : [0, Math.floor((n - 1) / 2), n - 1];
    for (const i of ticks) {
      const anchor = n === 1 ? 'middle' : i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle';
      chart.append(s('text', { x: x(i), y: H - 10, 'text-anchor': anchor, class: 'axis',
        text: String(days[i].day).slice(0, 10) }));
    }
    const base = days.map(() => 0);
    cells.forEach((k, ci) => {
      const top = days.map((d, i) => base[i] + (Number(d.sizes[k]) || 0));
      let shape;
      if (n === 1) {
        const w = (W - L - R) / 4;
        shape = s('rect', { x: x(0) - w / 2, y: y(top[0]), width: w,
          height: Math.max(0, y(base[0]) - y(top[0])), fill: colours[ci] });
      } else {
        const upper = top.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
        const lower = base.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).reverse();
        shape = s('polygon', { points: upper.concat(lower).join(' '), fill: colours[ci] });
      }
      shape.append(s('title', { text: cellName(k) }));
      chart.append(shape);
      top.forEach((v, i) => { base[i] = v; });
    });
    const cursor = s('line', { x1: x(n - 1), x2: x(n - 1), y1: T, y2: H - B, class: 'cursor' });
    chart.append(cursor);

    const readout = h('div', { class: 'readout', 'aria-live': 'off' });
    const show = (i) => {
      cursor.setAttribute('x1', x(i));
      cursor.setAttribute('x2', x(i));
      const d = days[i];
      readout.replaceChildren(h('strong', {}, `${String(d.day).slice(0, 10)} · ${fmtInt(totals[i])}`),
        ...cells.map((k, ci) => {
          const sw = h('i');
          sw.style.background = colours[ci];
          return h('span', { class: 'item' }, sw, `${cellName(k)} `,
            h('b', { text: fmtInt(Number(d.sizes[k]) || 0) }));
        }).reverse());
    };
    chart.addEventListener('pointermove', (ev) => {
      const box = chart.getBoundingClientRect();
      const px = ((ev.clientX - box.left) / box.width) * W;
      const i = n === 1 ? 0 : Math.round(((px - L) / (W - L - R)) * (n - 1));
      show(Math.max(0, Math.min(n - 1, i)));
    });
    chart.addEventListener('pointerleave', () => show(n - 1));
    show(n - 1);
    return [h('div', { class: 'chart-wrap' }, chart), readout];
  }

  /* ---- flows ---- */

  async function loadFlows(gen) {
    const tok = claim('flows');
    setPanel('flows', 'loading', loading());
    let fl;
    try {
      fl = await api(`/v1/segments/flows?${periodQuery(period())}`);
    } catch (err) {
      if (!current('flows', tok, gen)) return;
      if (err.status === 404) {
        setPanel('flows', 'unavailable', unavailable('the flows between cells',
          '/v1/segments/flows'));
      } else {
        panelError('flows', err, gen);
      }
      return;
    }
    if (!current('flows', tok, gen)) return;
    const flows = (fl.flows || []).filter((f) => f.count > 0).sort((a, b) => b.count - a.count);
    if (!flows.length) {
      setPanel('flows', 'empty', note('empty', 'No customer changed cell in this period.'));
      return;
    }
    const max = flows[0].count;
    const shown = flows.slice(0, 12);
    const label = (k, none) => (k === null || k === undefined ? h('em', { text: none })
      : h('span', { text: cellName(k) }));
    const bars = h('ol', { class: 'flows' }, shown.map((f) => {
      const bar = h('span', { class: 'bar' });
      bar.style.width = `${Math.max(1, (100 * f.count) / max)}%`;
      bar.style.background = f.to === null || f.to === undefined ? '#9aa5b1'
        : cellColour(f.to, 0, 1);
      return h('li', {},
        h('span', { class: 'flow-label' }, label(f.from, 'first purchase'), ' → ',
          label(f.to, 'left the matrix')),
        h('span', { class: 'flow-bar' }, bar), h('span', { class: 'num', text: fmtInt(f.count) }));
    }));
    const parts = [bars];
    if (flows.length > shown.length) {
      parts.push(note('muted small', `and ${flows.length - shown.length} smaller flows.`));
    }
    const cells = (fl.cells || []).filter((c) => c.entries || c.exits);
    if (cells.length) {
      parts.push(h('table', { class: 'entries' },
        h('caption', { text: 'Entries and exits per cell' }),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'cell' }),
          h('th', { scope: 'col', class: 'num', text: 'in' }),
          h('th', { scope: 'col', class: 'num', text: 'out' }),
          h('th', { scope: 'col', class: 'num', text: 'net' }))),
        h('tbody', {}, cells.map((c) => {
          const net = (c.entries || 0) - (c.exits || 0);
          return h('tr', {}, h('th', { scope: 'row', text: cellName(c.cell) }),
            h('td', { class: 'num', text: fmtInt(c.entries || 0) }),
            h('td', { class: 'num', text: fmtInt(c.exits || 0) }),
            h('td', { class: 'num ' + (net > 0 ? 'up' : net < 0 ? 'down' : ''),
              text: (net > 0 ? '+' : '') + fmtInt(net) }));
        }))));
    }
    setPanel('flows', 'ready', parts);
  }

  /* ---- campaigns and their deliveries ---- */

  function triggerText(t) {
    if (!t) return '—';
    if (t.type === 'schedule') return `every ${t.every}`;
    if (t.type === 'date') {
      const what = t.field ? `${t.field}` : t.month_day ? `on ${t.month_day}` : 'a date';
      return `${what}, ${t.days_before || 0} days before`;
    }
    if (t.type === 'enter') return 'on entering a cell';
    return t.type;
  }

  async function loadCampaigns(gen) {
    setPanel('campaigns', 'loading', loading());
    let list;
    try {
      list = await api('/v1/campaigns');
    } catch (err) {
      if (gen !== S.gen) return;
      if (err.status === 404) {
        setPanel('campaigns', 'unavailable', unavailable('campaigns', '/v1/campaigns'));
      } else {
        panelError('campaigns', err, gen);
      }
      return;
    }
    if (gen !== S.gen) return;
    const items = list.items || [];
    if (!items.length) {
      setPanel('campaigns', 'empty', h('div', { class: 'empty' },
        h('p', { text: 'No campaign yet.' }),
        h('p', { class: 'muted' }, 'Start from the methodology’s templates (',
          h('code', { text: 'GET /v1/campaign-templates' }), ') and create one with ',
          h('code', { text: 'POST /v1/campaigns' }), '.')));
      return;
    }
    const counts = new Map();
    const rows = items.map((c) => {
      const tds = DELIVERY_STATUSES.map((st) => {
        const td = h('td', { class: 'num count', dataset: { status: st }, text: '…' });
        counts.set(`${c.id}/${st}`, td);
        return td;
      });
      const state = c.active ? h('span', { class: 'tag ok', text: 'active' })
        : h('span', { class: 'tag warn', text: c.paused_reason ? 'paused' : 'inactive' });
      return h('tr', { dataset: { id: c.id } },
        h('th', { scope: 'row' }, h('span', { class: 'cname', text: c.name }),
          c.paused_reason ? h('small', { class: 'reason', text: c.paused_reason }) : null),
        h('td', { text: String(c.kind || '').toUpperCase() }),
        h('td', {}, (c.cells || []).map((k) => h('span', { class: 'chip', text: k }))),
        h('td', { text: triggerText(c.trigger) }),
        h('td', { text: c.channel || '—' }),
        h('td', {}, state),
        ...tds);
    });
    const table = h('table', { class: 'campaigns' },
      h('thead', {}, h('tr', {},
        ['Campaign', 'Kind', 'Cells', 'Trigger', 'Channel', 'State'].map((t) =>
          h('th', { scope: 'col', text: t })),
        DELIVERY_STATUSES.map((t) => h('th', { scope: 'col', class: 'num', text: t })))),
      h('tbody', {}, rows));
    setPanel('campaigns', 'ready', h('div', { class: 'scroll' }, table));

    /* 5 small calls per campaign, 4 at a time: enough to fill the table quickly without
     * flooding the server when a workspace has many campaigns. */
    const jobs = [];
    for (const c of items) for (const st of DELIVERY_STATUSES) jobs.push([c.id, st]);
    const worker = async () => {
      while (jobs.length && gen === S.gen) {
        const [id, st] = jobs.shift();
        const td = counts.get(`${id}/${st}`);
        try {
          const r = await api(`/v1/campaigns/${encodeURIComponent(id)}/deliveries?status=${st}` +
            '&limit=500');
          const n = (r.deliveries || []).length;
          td.textContent = r.next_cursor ? `${fmtInt(n)}+` : fmtInt(n);
          td.classList.toggle('zero', n === 0);
        } catch (err) {
          td.textContent = '?';
          td.title = err.message;
          if (isPageError(err)) pageError(err, gen);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  /* ---- the controls ---- */

  function updatePeriodText() {
    const p = period();
    $('#period-text').textContent = `${iso(p.from).slice(0, 10)} → ${iso(p.to - 1).slice(0, 10)}`;
  }

  function setKind(kind) {
    if (kind === S.kind) return;
    S.kind = kind;
    sessionStorage.setItem(STORE.kind, kind);
    for (const b of document.querySelectorAll('.kind')) {
      b.setAttribute('aria-pressed', b.dataset.kind === kind ? 'true' : 'false');
    }
    clearData();
    loadAll();
  }

  function applyCustomPeriod() {
    const from = $('#from').value, to = $('#to').value;
    const f = Date.parse(from + 'T00:00:00Z'), t = Date.parse(to + 'T00:00:00Z') + DAY;
    if (!from || !to || !(f < t)) {
      $('#period-text').textContent = 'Choose a start date before the end date.';
      return;
    }
    S.custom = { from: f, to: Math.min(t, Math.floor(Date.now() / 1000) * 1000) };
    updatePeriodText();
    if (S.report) loadPeriodPanels(S.gen);
  }

  function connect(ev) {
    ev.preventDefault();
    const key = $('#key').value.trim();
    const ws = $('#workspace').value.trim();
    if (!key) {
      banner('info', 'Type an API key first.');
      $('#key').focus();
      return;
    }
    if (ws && !/^[a-z0-9_-]{1,63}$/.test(ws)) {
      banner('error', 'A workspace name is 1 to 63 characters of a–z, 0–9, _ and -.');
      $('#workspace').focus();
      return;
    }
    S.key = key;
    S.workspace = ws;
    sessionStorage.setItem(STORE.key, key);
    if (ws) sessionStorage.setItem(STORE.workspace, ws);
    else sessionStorage.removeItem(STORE.workspace);
    clearData();
    banner(null);
    loadAll();
  }

  function forget() {
    sessionStorage.removeItem(STORE.key);
    sessionStorage.removeItem(STORE.workspace);
    S.key = '';
    S.workspace = '';
    $('#key').value = '';
    $('#workspace').value = '';
    clearRetry();
    loadAll();
    banner('info', 'The key is forgotten: it is no longer kept in this tab.');
    $('#key').focus();
  }

  function init() {
    $('#connect').addEventListener('submit', connect);
    $('#forget').addEventListener('click', forget);
    $('#refresh').addEventListener('click', () => loadAll());
    for (const b of document.querySelectorAll('.kind')) {
      b.setAttribute('aria-pressed', b.dataset.kind === S.kind ? 'true' : 'false');
      b.addEventListener('click', () => setKind(b.dataset.kind));
    }
    $('#period').addEventListener('change', (ev) => {
      const v = ev.target.value;
      $('#custom-period').hidden = v !== 'custom';
      if (v === 'custom') {
        const p = period();
        $('#from').value = iso(p.from).slice(0, 10);
        $('#to').value = iso(p.to - 1).slice(0, 10);
        return;
      }
      S.custom = null;
      S.days = Number(v);
      updatePeriodText();
      if (S.report) loadPeriodPanels(S.gen);
    });
    $('#apply-period').addEventListener('click', applyCustomPeriod);
    $('#monetary').addEventListener('change', (ev) => chooseMonetary(ev.target.value, false));
    $('#csv').addEventListener('click', downloadCsv);
    $('#next').addEventListener('click', () => {
      if (!S.list.next) return;
      S.list.cursors[S.list.index + 1] = S.list.next;
      S.list.index += 1;
      loadList(S.gen);
    });
    $('#prev').addEventListener('click', () => {
      if (S.list.index === 0) return;
      S.list.index -= 1;
      loadList(S.gen);
    });
    let resizeTimer = null, lastWidth = window.innerWidth;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        if (window.innerWidth === lastWidth) return;
        lastWidth = window.innerWidth;
        if (S.history && $('#dynamics').dataset.state === 'ready') {
          setPanel('dynamics', 'ready', stackedChart(S.history.cells, S.history.days));
        }
      }, 200);
    });
    $('#key').value = S.key;
    $('#workspace').value = S.workspace;
    loadAll();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
